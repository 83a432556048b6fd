"""The city dashboard over a small county that is not the demo (2023, other numbers): every
figure checked against a value the test computes from what it sent; events outside the period
are sent too and must not count. Then who may read it."""

from __future__ import annotations

from datetime import date

import pytest

from tests.e2e.dashboard_helpers import dashboard, settle_all
from tests.e2e.personnel_helpers import go_live, person, unit
from tests.support.embedded import bearer
from tests.support.governance import token

pytestmark = pytest.mark.e2e
P = ("2023-01-01", "2023-12-31")


def inside(day: str) -> bool:
    return P[0] <= day <= P[1]


async def ok(client, path: str, body: dict | None = None) -> dict:
    response = await client.post(path, json=body or {}, headers=client.admin)
    assert response.status_code == 201, (path, response.text)
    return response.json()


async def personnel(client) -> dict:
    """Recruitments, promotions, conversions, reserve entries and exchanges, some in 2022."""
    C = "/api/v1/personnel"
    org = await unit(client, "市委组织部", administrative=12, institution=4,
                     posts={"section_chief": 2, "deputy_section_chief": 3})
    fin = await unit(client, "市财政局", administrative=14, institution=4,
                     posts={"section_chief": 2, "deputy_section_chief": 6})
    seq = iter(range(1, 999))

    def who(name: str, birth: date, gender: str = "male") -> dict:
        return person(name, birth, gender, next(seq))

    recruits = [("exam_recruitment", "civil_servant", fin, "2023-08-01"),
                ("exam_recruitment", "civil_servant", fin, "2023-08-01"),
                ("exam_recruitment", "civil_servant", org, "2022-08-01"),
                ("institution_hiring", "institution_staff", org, "2023-09-01"),
                ("institution_hiring", "institution_staff", fin, "2023-09-01"),
                ("institution_hiring", "institution_staff", fin, "2022-09-01"),
                ("transfer_in", "civil_servant", org, "2023-03-01"),
                ("transfer_in", "civil_servant", fin, "2023-04-01")]
    for n, (channel, category, unit_id, day) in enumerate(recruits):
        body = {**who(f"新人{n}", date(1998, 1 + n, 3)), "category": category, "unit_id": unit_id,
                "channel": channel, "effective_on": day}
        await ok(client, f"{C}/cadres", body)
    # leaders: two converted in 2023 (one holding two posts), one in 2022
    chiefs = [await go_live(client, fin, who(f"科长{n}", date(1968, 3, 1 + n)), rank="principal_staff_4",
                            rank_since="2018-01-01",
                            posts=[{"level": "deputy_section_chief", "title": t, "since": "2015-01-01"}
                                   for t in (["副局长", "党组成员"] if n == 0 else ["副局长"])])
              for n in range(3)]
    conversions = [(chiefs[0], "2023-02-01"), (chiefs[1], "2023-05-01"), (chiefs[2], "2022-12-01")]
    for cadre, day in conversions:
        await ok(client, f"{C}/cadres/{cadre}/post-to-rank-conversions",
                 {"target_rank": "principal_staff_4", "reason": "age", "effective_on": day})
    # promotions to 四级主任科员: 2 on years of service in 2023, 1 in 2022; 1 on a master's degree
    clerks = [await go_live(client, fin, who(f"科员{n}", date(1985, 5, 1 + n))) for n in range(4)]
    for cadre, day in ((clerks[0], "2023-06-01"), (clerks[1], "2023-06-01"), (clerks[2], "2022-06-01")):
        await ok(client, f"{C}/cadres/{cadre}/rank-promotions", {
            "target_rank": "principal_staff_4", "basis": "years_of_service", "effective_on": day})
    await ok(client, f"{C}/cadres/{clerks[3]}/education", {
        "kind": "full_time", "level": "postgraduate", "degree": "master", "school": "山西大学",
        "completed_on": "2012-06-30"})
    await ok(client, f"{C}/cadres/{clerks[3]}/rank-promotions", {
        "target_rank": "principal_staff_4", "basis": "graduate_degree", "effective_on": "2023-09-01"})
    # the reserve: 2 副科 and 1 正科 in 2023, 1 副科 in 2022
    young = [await go_live(client, org, who(f"青年{n}", date(1993, 2, 1 + n), "female"),
                           since="2016-08-01", joined="2016-08-01", rank_since="2017-08-01")
             for n in range(4)]
    entries = [(young[0], "deputy_section_chief", "2023-04-01"),
               (young[1], "deputy_section_chief", "2023-05-01"),
               (young[2], "section_chief", "2023-06-01"),
               (young[3], "deputy_section_chief", "2022-06-01")]
    for cadre, level, day in entries:
        await ok(client, f"{C}/reserve-entries", {"cadre_id": cadre, "level": level, "effective_on": day,
                                                  "source": "democratic_recommendation"})
    # one deputy exchanged from the finance bureau into the organisation department
    deputy = await go_live(
        client, fin, who("交流干部", date(1980, 7, 7)), rank="principal_staff_4", rank_since="2019-01-01",
        posts=[{"level": "deputy_section_chief", "title": "副局长", "since": "2015-01-01"}])
    await ok(client, f"{C}/cadres/{deputy}/exchanges", {
        "to_unit_id": org, "kind": "grassroots_training", "effective_on": "2023-10-01",
        "post": {"level": "deputy_section_chief", "title": "副部长"}})

    def count(channel: str, unit_id: str | None = None) -> int:
        return sum(1 for ch, _, u, day in recruits
                   if ch == channel and inside(day) and (unit_id is None or u == unit_id))

    return {
        "personnel.recruited.exam": count("exam_recruitment"),
        "personnel.recruited.institution": count("institution_hiring"),
        "personnel.recruited.transfer_in": count("transfer_in"),
        "org_department.transferred_in": count("transfer_in", org),
        "org_department.institution_recruited": count("institution_hiring", org),
        "personnel.conversions": sum(inside(day) for _, day in conversions),
        "personnel.conversions.posts_freed": sum((2 if c == chiefs[0] else 1)
                                                 for c, day in conversions if inside(day)),
        "personnel.promoted.principal_staff_4.years_of_service": 2,
        "personnel.promoted.principal_staff_4.graduate_degree": 1,
        "personnel.reserve.total": sum(inside(day) for *_, day in entries),
        "personnel.reserve.section_chief": sum(inside(d) and lv == "section_chief" for _, lv, d in entries),
        "personnel.reserve.deputy_section_chief": sum(
            inside(d) and lv == "deputy_section_chief" for _, lv, d in entries),
        "personnel.exchanges": 1,
    }, young


async def training(client, trainees: list[str]) -> dict:
    T = "/api/v1/training"
    classes = [("young_cadre", "2023-03-06", True), ("advanced", "2023-05-08", False),
               ("thematic", "2023-06-05", False), ("main_body", "2022-11-07", False)]
    for n, (kind, starts, invited) in enumerate(classes):
        cid = (await ok(client, f"{T}/classes", {
            "name": f"班次{n}", "kind": kind, "mode": "offline", "starts_on": starts,
            "ends_on": starts[:-2] + f"{int(starts[-2:]) + 2:02d}", "planned_hours": 12,
            "capacity": 10}))["id"]
        await ok(client, f"{T}/classes/{cid}/sessions", {
            "topic": "专题讲座", "effective_on": starts, "hours": 4,
            "lecturer": {"name": "张教授" if invited else "主讲员", "invited": invited,
                         "affiliation": "中共山西省委党校" if invited else None},
            "tutor": {"name": "辅导员"}})
        await ok(client, f"{T}/classes/{cid}/enrolments", {"cadre_id": trainees[n % len(trainees)]})
        await ok(client, f"{T}/classes/{cid}/opening")
    cancelled = (await ok(client, f"{T}/classes", {
        "name": "取消的班", "kind": "advanced", "mode": "offline", "starts_on": "2023-09-04",
        "ends_on": "2023-09-06", "planned_hours": 12, "capacity": 10}))["id"]
    await ok(client, f"{T}/classes/{cancelled}/cancellation", {"reason": "调整"})
    lectures = [(321, "2023-06-29"), (99, "2023-12-01"), (500, "2022-06-30")]
    for head_count, day in lectures:
        await ok(client, f"{T}/mass-events", {"title": "文艺党课", "kind": "art_party_lecture",
                                              "head_count": head_count, "effective_on": day})
    return {
        "training.classes_held": sum(inside(s) and k != "thematic" for k, s, _ in classes),
        "training.classes_held_all_kinds": sum(inside(s) for _, s, _ in classes),
        "training.invited_lectures": sum(inside(s) and i for _, s, i in classes),
        "training.art_party_lecture_attendees": sum(h for h, d in lectures if inside(d)),
    }


async def talent(client) -> dict:
    T = "/api/v1/talent"
    studios = [("2022-05-01", [40_000]), ("2023-04-01", [20_000, 20_000]), ("2023-07-01", [40_000])]
    for n, (day, grants) in enumerate(studios):
        sid = (await ok(client, f"{T}/studios", {"name": f"工作室{n}", "field": "teacher",
                                                 "lead": {"name": f"领衔人{n}"}, "host_unit": "一中",
                                                 "certified_on": day}))["id"]
        for k, yuan in enumerate(grants):
            await ok(client, f"{T}/studios/{sid}/grants",
                     {"amount_yuan": yuan, "granted_on": f"{day[:4]}-1{k}-01"})
    experts = [("contact_expert", ["2023-02-01", "2023-09-01"]), ("contact_expert", ["2023-03-01"]),
               ("contact_expert", ["2022-03-01"]), ("native_elsewhere", ["2023-01-20"]),
               ("think_tank_expert", []), ("think_tank_expert", []), ("doctoral_service_group", [])]
    ids = []
    for n, (kind, visits) in enumerate(experts):
        body = {"name": f"专家{n}", "kind": kind, "registered_on": "2021-01-01", "field": "经济"}
        if kind == "think_tank_expert" and n == 5:
            body["term_ends_on"] = "2023-06-30"  # off the roster by the end of 2023
        ids.append((await ok(client, f"{T}/experts", body))["id"])
        for day in visits:
            await ok(client, f"{T}/experts/{ids[-1]}/visits", {
                "visited_on": day, "visitors": ["部长"], "occasion": "festival", "issues": []})
    await ok(client, f"{T}/experts/{ids[6]}/secondments", {
        "host_unit": "发改局", "post": "副局长（挂职）", "starts_on": "2023-07-01", "ends_on": "2024-06-30"})
    slots = [(7, "2023-06-01"), (5, "2023-06-15"), (9, "2022-06-01")]
    for n, (count, day) in enumerate(slots):
        await ok(client, f"{T}/internships", {
            "host_unit": f"单位{n}", "post": "见习", "slots": count, "season": "summer",
            "starts_on": day[:5] + "07-10", "ends_on": day[:5] + "08-20", "published_on": day})
    uni = (await ok(client, f"{T}/universities", {"name": "山西大学"}))["id"]
    for day, ends in (("2023-09-10", "2026-09-09"), ("2022-09-10", "2023-06-30")):
        await ok(client, f"{T}/universities/{uni}/agreements", {
            "title": "校地合作协议", "scope": ["internship_base"], "signed_on": day,
            "term_ends_on": ends})
    two_years = [(d, g) for d, g in studios if "2022-01-01" <= d <= P[1]]
    return {
        "talent.studios.certified_two_years": len(two_years),
        "talent.studios.funding_each": sum(sum(g) for _, g in two_years) // len(two_years),
        "talent.studios.certified": sum(inside(d) for d, _ in studios),
        "talent.visits.contact_experts": sum(1 for k, v in experts if k == "contact_expert"
                                             and any(inside(d) for d in v)),
        "talent.visits.natives_elsewhere": 1,
        "talent.internships.positions": sum(c for c, d in slots if inside(d)),
        "talent.think_tank_experts": 1,
        "talent.doctoral_secondments": 1,
        "talent.university_agreements": 1,
    }


async def governance(client) -> dict:
    G = "/api/v1/governance"
    towns = [("140624201", "甲镇", "2023-03-15"), ("140624202", "乙乡", "2024-02-01")]
    for code, name, office in towns:
        await ok(client, f"{G}/townships", {"code": code, "name": name, "effective_on": "1984-01-01"})
        await ok(client, f"{G}/townships/{code}/party-building-office",
                 {"effective_on": office, "staff_count": 2})
        await ok(client, f"{G}/villages/batch", {"villages": [
            {"code": f"{code}{k:03}", "township_id": code, "name": f"{name}{k}村"} for k in (1, 2)]})
        await ok(client, f"{G}/communities", {"code": f"{code}C1", "township_id": code,
                                              "name": f"{name}社区"})
    hires = [("institution_staff", 5, "2023-08-01"), ("community_assistant", 2, "2023-09-01"),
             ("grid_worker", 3, "2023-06-01"), ("grid_worker", 4, "2022-06-01")]
    for kind, count, day in hires:
        await ok(client, f"{G}/townships/{towns[0][0]}/hires",
                 {"kind": kind, "count": count, "effective_on": day})
    rules = ["2023-02-01", "2023-07-01", "2022-05-01"]
    for n, day in enumerate(rules):
        await ok(client, f"{G}/institutional-rules", {"title": f"制度{n}", "effective_on": day})
    compounds = [(True, True), (True, False), (True, True), (False, False), (False, False)]
    await ok(client, f"{G}/compounds/batch", {"compounds": [
        {"community_id": f"{towns[n % 2][0]}C1", "name": f"小区{n}", "households": 100,
         "effective_on": "2010-01-01",
         **({"service_station_opened_on": "2023-03-01"} if station else {}),
         **({"monitoring_connected_on": "2023-03-10", "devices": 4} if linked else {})}
        for n, (station, linked) in enumerate(compounds)]})
    village = f"{towns[0][0]}001"
    case = (await ok(client, f"{G}/rectification-cases", {
        "village_id": village, "year": 2023, "effective_on": "2023-03-01",
        "categories": ["weak_organisation"]}))["id"]
    measures_per_problem = [2, 1]
    await ok(client, f"{G}/rectification-cases/{case}/plan", {"effective_on": "2023-03-20", "problems": [
        {"category": "weak_organisation", "description": f"问题{p}",
         "measures": [{"action": f"措施{m}", "owner": "书记", "due_on": "2023-09-30"} for m in range(n)]}
        for p, n in enumerate(measures_per_problem)]})
    await ok(client, f"{G}/rectification-cases/{case}/measures/M3/completion", {"effective_on": "2023-08-15"})
    await ok(client, f"{G}/rectification-cases/{case}/problems/P2/resolution", {"effective_on": "2023-08-20"})
    candidates = [(True, "2023-04-01"), (False, "2023-04-01"), (True, "2023-04-01"), (False, "2023-05-01"),
                  (True, "2022-04-01")]
    for leader, day in candidates:
        await ok(client, f"{G}/reserve-candidates/batch", {"candidates": [{
            "village_id": village, "name": "候选人", "source": "veteran", "leader_candidate": leader,
            "party_member": True, "effective_on": day}]})
    return {
        "governance.townships.total": 2,
        "governance.townships.with_party_building_office": sum(o <= P[1] for *_, o in towns),
        "governance.hires.institution_staff": 5, "governance.hires.community_assistant": 2,
        "governance.hires.grid_worker": sum(c for k, c, d in hires if k == "grid_worker" and inside(d)),
        "governance.institutional_rules": sum(inside(d) for d in rules),
        "governance.compounds.total": len(compounds),
        "governance.compounds.with_service_station": sum(s for s, _ in compounds),
        "governance.compounds.service_station_share": round(sum(s for s, _ in compounds) / len(compounds), 4),
        "governance.compounds.monitoring_connected": sum(linked for _, linked in compounds),
        "governance.rectification.measures_adopted": sum(measures_per_problem),
        "governance.rectification.problems_solved": 1,
        "governance.village_reserve.candidates": sum(inside(d) for _, d in candidates),
        "governance.village_reserve.leader_candidates": sum(inside(d) and lead for lead, d in candidates),
    }


async def test_every_dashboard_figure_from_a_small_county(platform):
    expected, trainees = await personnel(platform)
    await settle_all(platform)
    expected |= await training(platform, trainees)
    expected |= await talent(platform)
    expected |= await governance(platform)
    await settle_all(platform)
    got = await dashboard(platform, platform.admin, *P)
    assert set(got) == set(expected), set(got) ^ set(expected)
    assert got == expected


async def test_who_may_read_the_dashboard(platform):
    settings = platform.settings
    params = {"from": P[0], "to": P[1]}
    assert (await platform.get("/api/v1/dashboard", params=params)).status_code == 401
    for headers, status in ((bearer(settings, "viewer"), 200), (platform.admin, 200),
                            (bearer(settings, "personnel_officer"), 403),
                            # city-wide figures would show other townships: refused, not filtered
                            (token(settings, "township_operator", township="140624201"), 403)):
        response = await platform.get("/api/v1/dashboard", params=params, headers=headers)
        assert response.status_code == status, (headers, response.text)
    reversed_period = await platform.get("/api/v1/dashboard", params={"from": P[1], "to": P[0]},
                                         headers=platform.admin)
    assert reversed_period.status_code == 422
