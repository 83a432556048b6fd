"""A year of talent work (2025, studios over 2024–2025) driven through the gateway's HTTP API.

The plan is built first as plain data; the expected figures are computed from the plan with
simple loops, never from the read models, and then compared with what the queries answer.
The article's figures are the targets: 25 studios funded 50,000 yuan each, 100+ contact
experts and 40 natives visited, 870+ internship positions, 36 think-tank experts, 2 doctoral
secondments, 1 university cooperation agreement.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest

from tests.e2e.talent_helpers import T, compare_rebuilt_with_live, ok, talent_head

pytestmark = pytest.mark.e2e

YEAR_START, YEAR_END = date(2025, 1, 1), date(2025, 12, 31)
FIELDS = ("teacher", "doctor", "expert", "craftsman")
KINDS = ("contact_expert", "native_elsewhere", "think_tank_expert", "doctoral_service_group")


def day(year: int, ordinal: int) -> date:
    return date(year, 1, 1) + timedelta(days=ordinal)


@dataclass
class Plan:
    studios: list[dict] = field(default_factory=list)  # field, certified_on, grants [(yuan, on)]
    experts: list[dict] = field(default_factory=list)  # kind, registered_on, term_ends_on, visits
    secondments: list[dict] = field(default_factory=list)  # expert, starts_on, ends_on, ended_on
    positions: list[dict] = field(default_factory=list)  # slots, season, dates, students, withdrawn
    promotions: list[dict] = field(default_factory=list)
    agreements: list[dict] = field(default_factory=list)


def make_plan(rng: random.Random) -> Plan:
    plan = Plan()
    # 25 studios over two years, 50,000 yuan each: in one grant or in two tranches
    for n in range(25):
        year = 2024 if n < 12 else 2025
        certified = day(year, rng.randrange(60, 200))
        if n % 3 == 0:
            grants = [(30_000, certified + timedelta(days=20)), (20_000, certified + timedelta(days=150))]
        else:
            grants = [(50_000, certified + timedelta(days=rng.randrange(5, 60)))]
        plan.studios.append({"field": FIELDS[n % 4], "certified_on": certified, "grants": grants,
                             "review": year == 2024})

    def expert(kind: str, registered: date, term_ends: date | None = None) -> dict:
        plan.experts.append({"kind": kind, "registered_on": registered, "term_ends_on": term_ends,
                             "visits": []})
        return plan.experts[-1]

    def visit(target: dict, on: date, issues: int = 0, closed: int = 0) -> None:
        target["visits"].append({"on": on, "issues": issues, "closed": closed})

    contacts = [expert("contact_expert", day(2024, rng.randrange(0, 300))) for _ in range(106)]
    for n, target in enumerate(contacts[:103]):          # 103 contact experts visited in 2025
        visit(target, day(2025, rng.randrange(0, 300)), issues=n % 4 == 0, closed=n % 8 == 0)
        if n % 10 == 0:                                   # some twice
            visit(target, day(2025, 330), issues=1)
    for target in contacts[103:]:                         # visited only in 2024: not counted
        visit(target, date(2024, 12, 20))
    natives = [expert("native_elsewhere", day(2024, rng.randrange(0, 300))) for _ in range(44)]
    for n, target in enumerate(natives[:40]):             # 40 natives working elsewhere visited
        visit(target, day(2025, 25 + n % 5), issues=2 if n % 5 == 0 else 0, closed=1 if n % 10 == 0 else 0)
    for n in range(38):                                   # 36 think-tank experts on the roster
        if n < 36:
            expert("think_tank_expert", day(2025, rng.randrange(0, 120)), date(2027, 12, 31))
        else:
            expert("think_tank_expert", date(2022, 3, 1), date(2024, 12, 31))
    doctors = [expert("doctoral_service_group", date(2023, 6, 1)) for _ in range(3)]
    plan.secondments = [
        {"expert": doctors[0], "starts_on": date(2025, 7, 1), "ends_on": date(2026, 6, 30), "ended_on": None},
        {"expert": doctors[1], "starts_on": date(2025, 7, 1), "ends_on": date(2026, 6, 30), "ended_on": None},
        {"expert": doctors[2], "starts_on": date(2023, 7, 1), "ends_on": date(2024, 6, 30),
         "ended_on": date(2024, 6, 30)},
    ]
    # internship positions published in 2025: 872 slots in total; a winter round in 2024 too
    slots = [30] * 28 + [32]
    assert sum(slots) == 872
    for n, count in enumerate(slots):
        season = "winter" if n < 9 else "summer"
        starts = date(2025, 1, 27) if season == "winter" else date(2025, 7, 7)
        students = rng.randrange(0, 4) if n % 3 else 0
        plan.positions.append({"host_unit": f"单位{n % 7}", "slots": count, "season": season,
                               "starts_on": starts, "ends_on": starts + timedelta(days=40),
                               "published_on": starts - timedelta(days=20), "students": students,
                               "withdrawn": 1 if students >= 2 and n % 2 else 0,
                               "complete": season == "winter"})
    plan.positions.append({"host_unit": "单位0", "slots": 25, "season": "winter",
                           "starts_on": date(2024, 1, 15), "ends_on": date(2024, 2, 20),
                           "published_on": date(2024, 1, 2), "students": 2, "withdrawn": 0,
                           "complete": True})
    plan.promotions = [{"university": 0, "held_on": date(2025, 4, 18), "attendees": 320, "offered": 150},
                       {"university": 1, "held_on": date(2025, 5, 9), "attendees": 210, "offered": 90},
                       {"university": 0, "held_on": date(2024, 10, 12), "attendees": 150, "offered": 60}]
    plan.agreements = [{"university": 0, "signed_on": date(2025, 9, 10), "term_ends_on": date(2028, 9, 9)}]
    return plan


def expected_figures(plan: Plan) -> dict:
    """The figures, computed from the plan alone."""
    in_year = lambda d: YEAR_START <= d <= YEAR_END  # noqa: E731
    figures: dict = {"studios_by_field": Counter(s["field"] for s in plan.studios),
                     "funding_two_years": sum(y for s in plan.studios for y, _ in s["grants"]),
                     "funding_2025": sum(y for s in plan.studios for y, on in s["grants"] if in_year(on)),
                     "certified_2025": sum(in_year(s["certified_on"]) for s in plan.studios)}
    figures["funding_2025_by_field"] = Counter()
    for s in plan.studios:
        for yuan, on in s["grants"]:
            if in_year(on):
                figures["funding_2025_by_field"][s["field"]] += yuan
    visited, visits, issues, closed = defaultdict(set), Counter(), Counter(), Counter()
    open_follow_ups = 0
    for n, e in enumerate(plan.experts):
        for v in e["visits"]:
            open_follow_ups += v["issues"] - v["closed"]
            if in_year(v["on"]):
                visited[e["kind"]].add(n)
                visits[e["kind"]] += 1
                issues[e["kind"]] += v["issues"]
                closed[e["kind"]] += v["closed"]
    figures.update(
        experts_visited={k: len(visited[k]) for k in KINDS}, visits=dict(visits), issues=dict(issues),
        closed=dict(closed), open_follow_ups=open_follow_ups,
        think_tank_on_roster=sum(1 for e in plan.experts if e["kind"] == "think_tank_expert"
                                 and e["registered_on"] <= YEAR_END
                                 and (e["term_ends_on"] is None or e["term_ends_on"] >= YEAR_END)),
        doctoral_secondments_2025=sum(1 for s in plan.secondments
                                      if s["expert"]["kind"] == "doctoral_service_group"
                                      and s["starts_on"] <= YEAR_END
                                      and (s["ended_on"] or s["ends_on"]) >= YEAR_START))
    positions_2025 = [p for p in plan.positions if in_year(p["published_on"])]
    placed = sum(p["students"] - p["withdrawn"] for p in positions_2025)
    slots = sum(p["slots"] for p in positions_2025)
    figures.update(internship_positions=len(positions_2025), internship_slots=slots,
                   internship_placed=placed, fill_rate=round(placed / slots, 4),
                   summer_slots=sum(p["slots"] for p in positions_2025 if p["season"] == "summer"),
                   completed_positions=sum(p["complete"] for p in positions_2025))
    promotions_2025 = [p for p in plan.promotions if in_year(p["held_on"])]
    figures.update(promotions=len(promotions_2025),
                   attendees=sum(p["attendees"] for p in promotions_2025),
                   agreements_2025=sum(in_year(a["signed_on"]) for a in plan.agreements))
    return figures


async def each(items, act, concurrency: int = 8) -> None:
    """Run ``act`` on every item, a few at a time: records are independent streams, and
    overlapping their commands lets the projector apply several events per transaction."""
    gate = asyncio.Semaphore(concurrency)

    async def one(n, item):
        async with gate:
            await act(n, item)

    await asyncio.gather(*(one(n, item) for n, item in enumerate(items)))


async def drive(client, plan: Plan) -> None:
    """Every command of the plan through the gateway."""
    async def studio(n: int, s: dict) -> None:
        studio_id = (await ok(client, "/studios", {
            "name": f"工作室{n:02d}", "field": s["field"], "lead": {"name": f"领衔人{n}"},
            "host_unit": f"单位{n % 5}", "certified_on": s["certified_on"].isoformat()})).json()["id"]
        for yuan, on in s["grants"]:
            await ok(client, f"/studios/{studio_id}/grants",
                     {"amount_yuan": yuan, "granted_on": on.isoformat()})
        if s["review"]:
            await ok(client, f"/studios/{studio_id}/reviews",
                     {"year": 2024, "grade": "qualified", "reviewed_on": "2024-12-20"})

    async def expert(n: int, e: dict) -> None:
        body = {"name": f"专家{n:03d}", "kind": e["kind"], "registered_on": e["registered_on"].isoformat(),
                "field": "产业经济", "phone": f"139{n:08d}"}
        if e["term_ends_on"]:
            body["term_ends_on"] = e["term_ends_on"].isoformat()
        e["id"] = (await ok(client, "/experts", body)).json()["id"]
        for v in e["visits"]:
            issues = [{"description": f"问题{i}", "action": "协调", "owner": "市人社局",
                       "due_on": (v["on"] + timedelta(days=30)).isoformat()} for i in range(v["issues"])]
            visit = await ok(client, f"/experts/{e['id']}/visits", {
                "visited_on": v["on"].isoformat(), "visitors": ["市委组织部部长"], "occasion": "festival",
                "issues": issues})
            visit_id = visit.headers["location"].rsplit("/", 1)[1]
            for i in range(v["closed"]):
                await ok(client, f"/experts/{e['id']}/follow-ups/{visit_id}.{i + 1}/closure", {
                    "resolution": "已解决", "closed_on": (v["on"] + timedelta(days=10)).isoformat()})

    async def secondment(n: int, s: dict) -> None:
        arranged = await ok(client, f"/experts/{s['expert']['id']}/secondments", {
            "host_unit": "怀仁市发展和改革局", "post": "副局长（挂职）",
            "starts_on": s["starts_on"].isoformat(), "ends_on": s["ends_on"].isoformat()})
        if s["ended_on"]:
            await ok(client, f"{arranged.headers['location'].removeprefix(T)}/end",
                     {"ended_on": s["ended_on"].isoformat()})

    async def position(n: int, p: dict) -> None:
        position_id = (await ok(client, "/internships", {
            "host_unit": p["host_unit"], "post": "见习", "slots": p["slots"], "season": p["season"],
            "starts_on": p["starts_on"].isoformat(), "ends_on": p["ends_on"].isoformat(),
            "published_on": p["published_on"].isoformat()})).json()["id"]
        placements = []
        for i in range(p["students"]):
            placed = await ok(client, f"/internships/{position_id}/placements", {
                "student_name": f"学生{n}-{i}", "school": "山西大学",
                "placed_on": p["published_on"].isoformat()})
            placements.append(placed.headers["location"].removeprefix(T))
        for location in placements[:p["withdrawn"]]:
            await ok(client, f"{location}/withdrawal", {"withdrawn_on": p["starts_on"].isoformat()})
        if p["complete"]:
            await ok(client, f"/internships/{position_id}/completion",
                     {"completed_on": p["ends_on"].isoformat()})

    await each(plan.studios, studio)
    await each(plan.experts, expert)
    await each(plan.secondments, secondment)
    await each(plan.positions, position)
    universities = [(await ok(client, "/universities", {"name": name})).json()["id"]
                    for name in ("山西大学", "太原理工大学", "中北大学")]
    for p in plan.promotions:
        await ok(client, f"/universities/{universities[p['university']]}/promotion-events", {
            "title": "引才宣讲会", "held_on": p["held_on"].isoformat(), "attendees": p["attendees"],
            "positions_offered": p["offered"]})
    for a in plan.agreements:
        last = await ok(client, f"/universities/{universities[a['university']]}/agreements", {
            "title": "校地合作协议", "scope": ["internship_base", "talent_supply"],
            "signed_on": a["signed_on"].isoformat(), "term_ends_on": a["term_ends_on"].isoformat()})
    client.last_command = last


async def get(client, path: str, **params) -> dict:
    response = await client.get(f"{T}{path}", params=params, headers=client.admin)
    assert response.status_code == 200, response.text
    return response.json()


async def all_pages(client, path: str, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        page = await get(client, path, limit=100, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


async def test_a_year_of_talent_work_gives_the_articles_figures(platform, tmp_path):
    plan = make_plan(random.Random(2025))
    expected = expected_figures(plan)
    # the plan itself reaches the article's figures
    assert len(plan.studios) == 25 and expected["funding_two_years"] == 25 * 50_000
    assert expected["experts_visited"]["contact_expert"] >= 100
    assert expected["experts_visited"]["native_elsewhere"] == 40
    assert expected["internship_slots"] >= 870 and expected["think_tank_on_roster"] == 36
    assert expected["doctoral_secondments_2025"] == 2 and expected["agreements_2025"] == 1

    await drive(platform, plan)
    last = platform.last_command
    await client_fresh(platform, last)

    # studios: by field and funding over the two years, then for 2025 alone
    two_years = await get(platform, "/reports/studios", **{"from": "2024-01-01", "to": "2025-12-31"})
    assert {f["field"]: f["certified"] for f in two_years["by_field"]} == {
        f: expected["studios_by_field"][f] for f in FIELDS}
    assert two_years["total"]["certified"] == 25 and two_years["total"]["funded_studios"] == 25
    assert two_years["total"]["funding_yuan"] == expected["funding_two_years"] == 1_250_000
    year = await get(platform, "/reports/studios", **{"from": "2025-01-01", "to": "2025-12-31"})
    assert year["total"]["certified"] == expected["certified_2025"]
    assert year["total"]["funding_yuan"] == expected["funding_2025"]
    assert {f["field"]: f["funding_yuan"] for f in year["by_field"]} == {
        f: expected["funding_2025_by_field"][f] for f in FIELDS}
    studios = await all_pages(platform, "/studios")
    assert len(studios) == 25 and {s["funding_total_yuan"] for s in studios} == {50_000}

    # visits by expert kind in 2025; open follow-ups
    visits = await get(platform, "/reports/visits", **{"from": "2025-01-01", "to": "2025-12-31"})
    by_kind = {k["kind"]: k for k in visits["by_kind"]}
    for kind in KINDS:
        assert by_kind[kind]["experts_visited"] == expected["experts_visited"][kind], kind
        assert by_kind[kind]["visits"] == expected["visits"].get(kind, 0), kind
        assert by_kind[kind]["issues_raised"] == expected["issues"].get(kind, 0), kind
        assert by_kind[kind]["follow_ups_closed"] == expected["closed"].get(kind, 0), kind
    assert by_kind["contact_expert"]["experts_visited"] >= 100
    assert by_kind["native_elsewhere"]["experts_visited"] == 40
    open_follow_ups = await all_pages(platform, "/follow-ups", status="open")
    assert len(open_follow_ups) == expected["open_follow_ups"]
    assert {f["status"] for f in open_follow_ups} == {"open"}

    # internships: slots, placements, fill rate
    internships = await get(platform, "/reports/internships", **{"from": "2025-01-01", "to": "2025-12-31"})
    assert internships["total"] == {
        "positions": expected["internship_positions"], "slots": expected["internship_slots"],
        "placed": expected["internship_placed"], "fill_rate": expected["fill_rate"],
        "completed_positions": expected["completed_positions"]}
    assert internships["total"]["slots"] >= 870
    summer = await get(platform, "/reports/internships", season="summer",
                       **{"from": "2025-01-01", "to": "2025-12-31"})
    assert summer["total"]["slots"] == expected["summer_slots"]

    # think-tank roster, secondments, universities
    roster = await get(platform, "/think-tank", as_of="2025-12-31", limit=10)
    assert roster["total"] == 36 == expected["think_tank_on_roster"]
    assert len(await all_pages(platform, "/think-tank", as_of="2025-12-31")) == 36
    assert not any("*" in e["phone"] for e in roster["items"])  # admin reads phones in full
    seconded = await get(platform, "/secondments", expert_kind="doctoral_service_group",
                         **{"from": "2025-01-01", "to": "2025-12-31"})
    assert seconded["total"] == 2 == expected["doctoral_secondments_2025"]
    universities = await get(platform, "/reports/universities", **{"from": "2025-01-01", "to": "2025-12-31"})
    assert universities["agreements_signed"] == 1 == expected["agreements_2025"]
    assert (universities["promotion_events"], universities["attendees"]) == (
        expected["promotions"], expected["attendees"])

    # and the read models rebuilt from the store equal the live ones
    counts = await compare_rebuilt_with_live(platform.app.state.context, tmp_path)
    assert counts["rm_talent_experts"] == len(plan.experts)
    assert await talent_head(platform) > 500


async def client_fresh(client, accepted) -> None:
    """Wait for the last command; earlier events of every stream are applied before it."""
    response = await client.get(f"{T}/universities", headers={
        **client.admin, "X-Consistency-Token": accepted.json()["consistency_token"]})
    assert response.headers["x-consistency"] == "fresh"
