"""The demo's training year: 8 classes (2 中青班, 3 进修班, 3 主体班) with 1+1 sessions and an
invited provincial Party-school lecture, attendance with leave (the 1/7 rule withdraws a few),
a cancelled thematic class, next year's class already scheduled, the art Party lecture of 780
around 1 July and a chapter-by-chapter study campaign. Ported from the training scenario test."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from zugong.demo.client import DemoApi, each

__all__ = ["run_training"]

CLASSES = "/api/v1/training/classes"
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

    def leave_hours(self, cadre: str, upto: int) -> int:
        return sum(h for h, roll in zip(self.session_hours, self.rolls[:upto], strict=False)
                   if roll.get(cadre) == "leave")


def plan(year: int) -> list[PlannedClass]:
    y = year
    return [
        PlannedClass(f"{y}年第一期中青年干部培训班", "young_cadre", date(y, 3, 3), [6] * 8, 10),
        PlannedClass(f"{y}年第二期中青年干部培训班", "young_cadre", date(y, 9, 1), [6] * 8, 10),
        PlannedClass(f"{y}年第一期科级干部进修班", "advanced", date(y, 4, 7), [3] * 10, 10),
        PlannedClass(f"{y}年第二期科级干部进修班", "advanced", date(y, 5, 12), [3] * 10, 10),
        PlannedClass(f"{y}年第三期科级干部进修班", "advanced", date(y, 10, 13), [3] * 10, 10),
        PlannedClass(f"{y}年第一期主体班", "main_body", date(y, 6, 2), [6] * 7, 10, invited_session=1),
        PlannedClass(f"{y}年第二期主体班", "main_body", date(y, 7, 7), [6] * 7, 10),
        PlannedClass(f"{y}年第三期主体班", "main_body", date(y, 11, 3), [6] * 7, 10),
    ]


def class_body(name: str, kind: str, starts_on: date, ends_on: date, planned_hours: int,
               capacity: int = 40) -> dict:
    return {"name": name, "kind": kind, "mode": "offline", "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(), "planned_hours": planned_hours, "capacity": capacity,
            "organizer": "市委组织部", "venue": "市委党校"}


async def run_training(api: DemoApi, cadres: list[str], year: int = 2025) -> None:
    """``cadres``: ids of 36 cadres in service all year (the classes' trainees)."""
    rng = random.Random(20240701)
    classes = plan(year)

    async def post(path: str, body: dict | None = None):
        return await api.post(path, body, section="training")

    async def hold(index: int, cls: PlannedClass) -> None:
        cls.id = (await post(CLASSES, class_body(cls.name, cls.kind, cls.starts_on, cls.ends_on,
                                                 cls.planned_hours, cls.capacity))).json()["id"]
        for n, hours in enumerate(cls.session_hours, start=1):
            invited = n == cls.invited_session
            await post(f"{CLASSES}/{cls.id}/sessions", {
                "topic": f"{cls.name} 第{n}讲", "hours": hours,
                "effective_on": (cls.starts_on + timedelta(days=n - 1)).isoformat(),
                "lecturer": {"name": "李教授" if invited else f"主讲员{n}", "invited": invited,
                             "affiliation": PROVINCIAL_PARTY_SCHOOL if invited else None},
                "tutor": {"name": f"辅导员{n}"}})
        cls.trainees = [cadres[(index * 7 + k) % len(cadres)] for k in range(cls.capacity)]
        for cadre in cls.trainees:
            await post(f"{CLASSES}/{cls.id}/enrolments", {"cadre_id": cadre})
        await post(f"{CLASSES}/{cls.id}/opening")
        for n in range(1, len(cls.session_hours) + 1):
            still_in = [c for c in cls.trainees if cls.leave_hours(c, n - 1) * 7 <= cls.planned_hours]
            roll = {c: rng.choices(STATUSES, WEIGHTS)[0] for c in still_in}
            cls.rolls.append(roll)
            await post(f"{CLASSES}/{cls.id}/sessions/{n}/attendance",
                       {"entries": [{"cadre_id": c, "status": s} for c, s in roll.items()]})
        await post(f"{CLASSES}/{cls.id}/completion")

    # the rolls draw from one generator: classes go one after another (their trainees overlap)
    for index, cls in enumerate(classes):
        await hold(index, cls)

    cancelled = (await post(CLASSES, class_body(f"{year}年专题班", "thematic", date(year, 8, 4),
                                                date(year, 8, 8), 30))).json()["id"]
    await post(f"{CLASSES}/{cancelled}/cancellation", {"reason": "调整年度计划"})
    await post(CLASSES, class_body(f"{year + 1}年中青班", "young_cadre", date(year + 1, 3, 2),
                                   date(year + 1, 3, 13), 28))

    async def mass(n: int, body: dict) -> None:
        await post("/api/v1/training/mass-events", body)

    await each([
        {"title": f"庆祝建党{year - 1921}周年文艺党课", "kind": "art_party_lecture", "head_count": 780,
         "effective_on": f"{year}-06-28", "organizer": "市委组织部"},
        {"title": f"{year - 1}年文艺党课", "kind": "art_party_lecture", "head_count": 650,
         "effective_on": f"{year - 1}-06-30"}], mass)
    campaign = (await post("/api/v1/training/campaigns", {
        "title": "党纪学习教育", "subject": "《中国共产党纪律处分条例》",
        "chapters": ["总则", "对违反政治纪律行为的处分", "对违反组织纪律行为的处分", "附则"],
        "effective_on": f"{year}-04-15"})).json()["id"]
    for chapter, participants in ((1, 120), (2, 118), (3, 121)):
        await post(f"/api/v1/training/campaigns/{campaign}/chapters", {
            "chapter": chapter, "participants": participants,
            "effective_on": f"{year}-0{4 + chapter}-20"})
