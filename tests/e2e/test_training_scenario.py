"""A year of cadre training (2024) driven through the gateway's HTTP API, the article's figures
recomputed by the queries and checked against figures the test computes itself from what it
sent; then every training read model rebuilt from the events must equal the live one.

The article: 8 classes of three kinds (中青班, 进修班, 主体班), an invited provincial
Party-school lecture, 780 people at the art Party lecture around 1 July.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from gateway.readmodels.training import TrainingProjection
from gateway.readmodels.training import metadata as training_metadata
from services.kernel.db import create_engine
from services.kernel.metrics import Metrics
from services.kernel.sources import StoreTailSource
from services.kernel.subscription import SubscriptionRunner, projection_positions_table
from services.training.cadre_view import CadreReferenceView, known_cadres
from tests.e2e.training_helpers import (
    CLASSES,
    class_body,
    enrol,
    post,
    recruit,
    register_unit,
    session_body,
)

pytestmark = pytest.mark.e2e

YEAR = 2024
CADRES = 36
STATUSES = ("present", "late", "left_early", "absent", "leave")
WEIGHTS = (70, 6, 4, 4, 16)
PROVINCIAL_PARTY_SCHOOL = "中共山西省委党校"


@dataclass
class PlannedClass:
    name: str
    kind: str
    starts_on: date
    session_hours: list[int]
    capacity: int
    invited_session: int | None = None
    id: str = ""
    trainees: list[str] = field(default_factory=list)
    rolls: list[dict[str, str]] = field(default_factory=list)

    @property
    def planned_hours(self) -> int:
        return sum(self.session_hours)

    @property
    def ends_on(self) -> date:
        return self.starts_on + timedelta(days=len(self.session_hours) - 1)


def plan() -> list[PlannedClass]:
    return [
        PlannedClass("2024年第一期中青年干部培训班", "young_cadre", date(2024, 3, 4), [6] * 8, 10),
        PlannedClass("2024年第二期中青年干部培训班", "young_cadre", date(2024, 9, 2), [6] * 8, 10),
        PlannedClass("2024年第一期科级干部进修班", "advanced", date(2024, 4, 8), [3] * 10, 10),
        PlannedClass("2024年第二期科级干部进修班", "advanced", date(2024, 5, 13), [3] * 10, 10),
        PlannedClass("2024年第三期科级干部进修班", "advanced", date(2024, 10, 14), [3] * 10, 10),
        PlannedClass("2024年第一期主体班", "main_body", date(2024, 6, 3), [6, 6, 6, 6, 6, 6, 6], 10,
                     invited_session=1),
        PlannedClass("2024年第二期主体班", "main_body", date(2024, 7, 8), [6] * 7, 10),
        PlannedClass("2024年第三期主体班", "main_body", date(2024, 11, 4), [6] * 7, 10),
    ]


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


class Model:
    """What the figures must be, computed from what the test sent (not from the platform)."""

    def __init__(self, classes: list[PlannedClass]) -> None:
        self.classes = classes

    def leave_hours(self, cls: PlannedClass, cadre: str, upto: int | None = None) -> int:
        rolls = cls.rolls[:upto] if upto is not None else cls.rolls
        return sum(h for h, roll in zip(cls.session_hours, rolls, strict=False)
                   if roll.get(cadre) == "leave")

    def withdrawn(self, cls: PlannedClass) -> set[str]:
        # the regulation: cumulative leave above one seventh of the class hours
        return {c for c in cls.trainees if self.leave_hours(cls, c) / cls.planned_hours > 1 / 7}

    def completed(self, cls: PlannedClass) -> list[str]:
        return [c for c in cls.trainees if c not in self.withdrawn(cls)]

    def counts(self, cls: PlannedClass) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for roll in cls.rolls:
            for status in roll.values():
                counts[status] += 1
        return {**counts, "recorded": sum(counts.values())}

    def hours(self, cadre: str) -> int:
        return sum(c.planned_hours for c in self.classes if cadre in self.completed(c))


async def wait_caught_up(client) -> None:
    """The live training projection has applied everything in the training store."""
    ctx = client.app.state.context
    head = await ctx.stores["training"].head_position()
    for _ in range(500):
        async with ctx.read_engine.connect() as conn:
            done = await conn.scalar(sa.select(projection_positions_table.c.position).where(
                projection_positions_table.c.projection == "training",
                projection_positions_table.c.source == "store:training"))
        if (done or 0) >= head:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the training projection did not catch up")


async def table_rows(engine, table: sa.Table) -> list[tuple]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(table))).all()
    return sorted(tuple(r) for r in rows)


async def test_a_year_of_training_through_http(platform, tmp_path):
    rng = random.Random(20240701)
    units = [await register_unit(platform, administrative=20, name="怀仁市委组织部"),
             await register_unit(platform, administrative=20, name="云中镇")]
    cadres = [await recruit(platform, units[n % 2], sequence=n, name=f"干部{n:02d}",
                            birth=date(1980 + n % 15, 1 + n % 12, 1 + n % 27),
                            gender=("male", "female")[n % 2]) for n in range(CADRES)]
    classes = plan()
    model = Model(classes)

    for index, cls in enumerate(classes):
        cls.id = (await post(platform, CLASSES, class_body(
            name=cls.name, kind=cls.kind, starts_on=cls.starts_on.isoformat(),
            ends_on=cls.ends_on.isoformat(), planned_hours=cls.planned_hours,
            capacity=cls.capacity, organizer="市委组织部", venue="市委党校"))).json()["id"]
        for n, hours in enumerate(cls.session_hours, start=1):
            invited = n == cls.invited_session
            await post(platform, f"{CLASSES}/{cls.id}/sessions", session_body(
                topic=f"{cls.name} 第{n}讲", hours=hours,
                effective_on=(cls.starts_on + timedelta(days=n - 1)).isoformat(),
                lecturer="李教授" if invited else f"主讲员{n}", tutor=f"辅导员{n}",
                invited=invited, affiliation=PROVINCIAL_PARTY_SCHOOL if invited else None))
        cls.trainees = [cadres[(index * 7 + k) % CADRES] for k in range(cls.capacity)]
        for cadre in cls.trainees:
            await enrol(platform, cls.id, cadre)
        await post(platform, f"{CLASSES}/{cls.id}/opening", {})
        for n in range(1, len(cls.session_hours) + 1):
            still_in = [c for c in cls.trainees
                        if model.leave_hours(cls, c, upto=n - 1) * 7 <= cls.planned_hours]
            roll = {c: rng.choices(STATUSES, WEIGHTS)[0] for c in still_in}
            cls.rolls.append(roll)
            await post(platform, f"{CLASSES}/{cls.id}/sessions/{n}/attendance",
                       {"entries": [{"cadre_id": c, "status": s} for c, s in roll.items()]})
        await post(platform, f"{CLASSES}/{cls.id}/completion", {})

    # not held in 2024: a cancelled thematic class and one scheduled for next year
    cancelled = (await post(platform, CLASSES, class_body(
        name="2024年专题班", kind="thematic", starts_on="2024-08-05", ends_on="2024-08-09",
        planned_hours=30))).json()["id"]
    await post(platform, f"{CLASSES}/{cancelled}/cancellation", {"reason": "调整年度计划"})
    await post(platform, CLASSES, class_body(name="2025年中青班", starts_on="2025-03-03",
                                             ends_on="2025-03-14"))
    await post(platform, "/api/v1/training/mass-events", {
        "title": "庆祝建党103周年文艺党课", "kind": "art_party_lecture", "head_count": 780,
        "effective_on": "2024-06-28", "organizer": "市委组织部"})
    await post(platform, "/api/v1/training/mass-events", {
        "title": "2023年文艺党课", "kind": "art_party_lecture", "head_count": 650,
        "effective_on": "2023-06-30"})
    campaign = (await post(platform, "/api/v1/training/campaigns", {
        "title": "党纪学习教育", "subject": "《中国共产党纪律处分条例》",
        "chapters": ["总则", "对违反政治纪律行为的处分", "对违反组织纪律行为的处分", "附则"],
        "effective_on": "2024-04-15"})).json()["id"]
    for chapter, participants in ((1, 120), (2, 118), (3, 121)):
        await post(platform, f"/api/v1/training/campaigns/{campaign}/chapters", {
            "chapter": chapter, "participants": participants,
            "effective_on": f"2024-0{4 + chapter}-20"})
    await wait_caught_up(platform)

    withdrawals = sum(len(model.withdrawn(c)) for c in classes)
    assert withdrawals >= 2, "the scenario should exercise the 1/7 leave rule"

    async def query(path: str, **params) -> dict:
        response = await platform.get(path, params=params, headers=platform.admin)
        assert response.status_code == 200, response.text
        return response.json()

    # classes held in the year, by kind, with the invited lecture
    held = await query("/api/v1/training/reports/classes-held", **{"from": "2024-01-01",
                                                                    "to": "2024-12-31"})
    assert held["total"] == 8
    assert held["by_kind"] == {"young_cadre": 2, "advanced": 3, "main_body": 3}
    assert [(i["lecturer"]["affiliation"], i["lecturer"]["invited"]) for i in
            held["invited_lectures"]] == [(PROVINCIAL_PARTY_SCHOOL, True)]
    assert held["trainees_completed"] == sum(len(model.completed(c)) for c in classes)
    assert held["credit_hours_awarded"] == sum(
        c.planned_hours * len(model.completed(c)) for c in classes)
    first_half = await query("/api/v1/training/reports/classes-held",
                             **{"from": "2024-01-01", "to": "2024-06-30"})
    assert first_half["total"] == sum(c.starts_on <= date(2024, 6, 30) for c in classes)

    # attendance and completion per class
    for cls in classes:
        view = await query(f"{CLASSES}/{cls.id}")
        counts = model.counts(cls)
        attended = counts["present"] + counts["late"] + counts["left_early"]
        stats = view["stats"]
        assert stats["attendance"] == counts, cls.name
        assert stats["attendance_rate"] == rate(attended, counts["recorded"])
        assert stats["leave_rate"] == rate(counts["leave"], counts["recorded"])
        assert (stats["enrolled"], stats["withdrawn"], stats["completed"]) == (
            len(cls.trainees), len(model.withdrawn(cls)), len(model.completed(cls)))
        assert stats["completion_rate"] == rate(len(model.completed(cls)), len(cls.trainees))

    # each cadre's hours vs the 90-hour section-level requirement
    met = 0
    for cadre in cadres:
        hours = await query(f"/api/v1/training/cadres/{cadre}/credit-hours", year=YEAR)
        assert hours["hours_in_year"] == model.hours(cadre), cadre
        assert hours["met"] is (model.hours(cadre) >= 90)
        met += model.hours(cadre) >= 90
    assert 0 < met < CADRES
    report = await query("/api/v1/training/reports/credit-hours", year=YEAR, limit=10)
    assert (report["cadres"], report["met"], report["met_rate"]) == (CADRES, met,
                                                                    rate(met, CADRES))
    in_one_unit = await query("/api/v1/training/reports/credit-hours", year=YEAR,
                              unit_id=units[1], limit=500)
    assert {i["cadre_id"] for i in in_one_unit["items"]} == set(cadres[1::2])

    # mass events and the study campaign
    mass = await query("/api/v1/training/mass-events", **{"from": "2024-01-01",
                                                           "to": "2024-12-31"})
    assert (mass["count"], mass["total_head_count"]) == (1, 780)
    assert mass["by_kind"] == {"art_party_lecture": 780}
    progress = await query(f"/api/v1/training/campaigns/{campaign}")
    assert (progress["chapters_done"], progress["progress"], progress["participants"]) == (
        3, 0.75, 359)

    # rebuild: every rm_training_ table from the events equals the live one
    ctx = platform.app.state.context
    fresh = create_engine(f"sqlite+aiosqlite:///{tmp_path}/rebuilt.db")
    try:
        runner = SubscriptionRunner(TrainingProjection(), fresh, Metrics())
        await runner.create_schema()
        for service in ("personnel", "training"):
            await StoreTailSource(service, ctx.stores[service]).catch_up(runner)
        for table in training_metadata.sorted_tables:
            assert table.name.startswith("rm_training_")
            live = await table_rows(ctx.read_engine, table)
            assert live, table.name
            assert await table_rows(fresh, table) == live, table.name

        # and training's own view of cadres, rebuilt from the personnel store
        view_runner = SubscriptionRunner(CadreReferenceView(), fresh, Metrics())
        await view_runner.create_schema()
        await StoreTailSource("personnel", ctx.stores["personnel"]).catch_up(view_runner)
        live_view = await table_rows(ctx.stores["training"].engine, known_cadres)
        assert len(live_view) == CADRES
        assert await table_rows(fresh, known_cadres) == live_view
    finally:
        await fresh.dispose()
