"""The demo's talent work (2025, studios over 2024–2025): 25 studios funded 50,000 yuan each,
103 contact experts and 40 natives working elsewhere visited, 872 internship positions, 36
think-tank experts, 2 doctoral secondments, 1 university cooperation agreement. Ported from the
talent scenario test."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from zugong.demo.client import DemoApi, each

__all__ = ["run_talent"]

T = "/api/v1/talent"
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


async def run_talent(api: DemoApi) -> None:
    """Every command of the plan through the gateway."""
    plan = make_plan(random.Random(2025))

    async def ok(_, path: str, body: dict, key: str | None = None):
        return await api.post(f"{T}{path}", body, section="talent", key=key)

    async def studio(n: int, s: dict) -> None:
        studio_id = (await ok(None, "/studios", {
            "name": f"工作室{n:02d}", "field": s["field"], "lead": {"name": f"领衔人{n}"},
            "host_unit": f"单位{n % 5}", "certified_on": s["certified_on"].isoformat()})).json()["id"]
        for yuan, on in s["grants"]:
            await ok(None, f"/studios/{studio_id}/grants",
                     {"amount_yuan": yuan, "granted_on": on.isoformat()})
        if s["review"]:
            await ok(None, f"/studios/{studio_id}/reviews",
                     {"year": 2024, "grade": "qualified", "reviewed_on": "2024-12-20"})

    async def expert(n: int, e: dict) -> None:
        body = {"name": f"专家{n:03d}", "kind": e["kind"], "registered_on": e["registered_on"].isoformat(),
                "field": "产业经济", "phone": f"139{n:08d}"}
        if e["term_ends_on"]:
            body["term_ends_on"] = e["term_ends_on"].isoformat()
        e["id"] = (await ok(None, "/experts", body)).json()["id"]
        for v in e["visits"]:
            issues = [{"description": f"问题{i}", "action": "协调", "owner": "市人社局",
                       "due_on": (v["on"] + timedelta(days=30)).isoformat()} for i in range(v["issues"])]
            visit = await ok(None, f"/experts/{e['id']}/visits", {
                "visited_on": v["on"].isoformat(), "visitors": ["市委组织部部长"], "occasion": "festival",
                "issues": issues})
            visit_id = visit.headers["location"].rsplit("/", 1)[1]
            for i in range(v["closed"]):
                await ok(None, f"/experts/{e['id']}/follow-ups/{visit_id}.{i + 1}/closure", {
                    "resolution": "已解决", "closed_on": (v["on"] + timedelta(days=10)).isoformat()})

    async def secondment(n: int, s: dict) -> None:
        arranged = await ok(None, f"/experts/{s['expert']['id']}/secondments", {
            "host_unit": "怀仁市发展和改革局", "post": "副局长（挂职）",
            "starts_on": s["starts_on"].isoformat(), "ends_on": s["ends_on"].isoformat()})
        if s["ended_on"]:
            await ok(None, f"{arranged.headers['location'].removeprefix(T)}/end",
                     {"ended_on": s["ended_on"].isoformat()})

    async def position(n: int, p: dict) -> None:
        position_id = (await ok(None, "/internships", {
            "host_unit": p["host_unit"], "post": "见习", "slots": p["slots"], "season": p["season"],
            "starts_on": p["starts_on"].isoformat(), "ends_on": p["ends_on"].isoformat(),
            "published_on": p["published_on"].isoformat()},
            key=f"demo-talent-position-{n}")).json()["id"]
        placements = []
        for i in range(p["students"]):
            placed = await ok(None, f"/internships/{position_id}/placements", {
                "student_name": f"学生{n}-{i}", "school": "山西大学",
                "placed_on": p["published_on"].isoformat()})
            placements.append(placed.headers["location"].removeprefix(T))
        for location in placements[:p["withdrawn"]]:
            await ok(None, f"{location}/withdrawal", {"withdrawn_on": p["starts_on"].isoformat()})
        if p["complete"]:
            await ok(None, f"/internships/{position_id}/completion",
                     {"completed_on": p["ends_on"].isoformat()})

    await each(plan.studios, studio)
    await each(plan.experts, expert)
    await each(plan.secondments, secondment)
    await each(plan.positions, position)
    universities = [(await ok(None, "/universities", {"name": name})).json()["id"]
                    for name in ("山西大学", "太原理工大学", "中北大学")]
    for p in plan.promotions:
        await ok(None, f"/universities/{universities[p['university']]}/promotion-events", {
            "title": "引才宣讲会", "held_on": p["held_on"].isoformat(), "attendees": p["attendees"],
            "positions_offered": p["offered"]})
    for a in plan.agreements:
        await ok(None, f"/universities/{universities[a['university']]}/agreements", {
            "title": "校地合作协议", "scope": ["internship_base", "talent_supply"],
            "signed_on": a["signed_on"].isoformat(), "term_ends_on": a["term_ends_on"].isoformat()})
