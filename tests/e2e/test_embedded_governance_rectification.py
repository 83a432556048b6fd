"""Rectification of weak village Party organisations through the gateway: plans, measures,
reviews, sign-off; the summary against figures computed here; refusals; isolation."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio

from tests.support.governance import (
    ManualClock,
    assert_rebuild_equals_live,
    assert_refused,
    get,
    governance_platform,
    post,
    settle,
    token,
)

pytestmark = pytest.mark.e2e
NOW = datetime(2024, 12, 30, 2, 0, tzinfo=UTC)
CATEGORIES = ["weak_organisation", "poor_service", "low_capability", "lax_management"]


@pytest_asyncio.fixture
async def gov(tmp_path):
    async with governance_platform(tmp_path / "var", ManualClock(NOW)) as client:
        for code in ("A1", "B2"):
            await post(client, "/townships", {"code": code, "name": f"{code}镇"})
            for n in range(1, 5):
                await post(client, "/villages", {"code": f"{code}-V{n}", "township_id": code,
                                                 "name": f"{code}{n}村"})
        yield client


def plan_for(rng: random.Random, village: str) -> dict:
    categories = sorted(rng.sample(CATEGORIES, rng.randint(1, 3)))
    problems = []
    for _ in range(rng.randint(1, 4)):
        measures = [{"action": "整改", "owner": "镇党委",
                     "due_on": (date(2024, 4, 1) + timedelta(days=rng.randint(0, 200))).isoformat(),
                     "complete": rng.random() < 0.75} for _ in range(rng.randint(1, 3))]
        problems.append({"category": rng.choice(categories), "description": "问题",
                         "measures": measures})
    return {"village": village, "township": village[:2], "categories": categories,
            "problems": problems, "fate": rng.choice(["rectifying", "accepted", "signed_off"])}


async def drive(gov, plan: dict) -> None:
    case = await post(gov, "/rectification-cases", {
        "village_id": plan["village"], "year": 2024, "categories": plan["categories"],
        "effective_on": "2024-03-01"})
    cid = plan["id"] = case["id"]
    await post(gov, f"/rectification-cases/{cid}/plan", {"effective_on": "2024-03-10", "problems": [
        {**p, "measures": [{k: v for k, v in m.items() if k != "complete"} for m in p["measures"]]}
        for p in plan["problems"]]})
    measure = 0
    all_solved = plan["fate"] != "rectifying"
    for i, problem in enumerate(plan["problems"], start=1):
        for m in problem["measures"]:
            measure += 1
            if m["complete"] or all_solved:
                m["complete"] = True
                await post(gov, f"/rectification-cases/{cid}/measures/M{measure}/completion",
                           {"effective_on": "2024-09-01"})
        problem["solved"] = all(m["complete"] for m in problem["measures"])
        if problem["solved"]:
            await post(gov, f"/rectification-cases/{cid}/problems/P{i}/resolution",
                       {"effective_on": "2024-09-02"})
    if plan["fate"] == "rectifying":
        return
    await post(gov, f"/rectification-cases/{cid}/reviews", {"passed": False, "score": 60,
                                                            "effective_on": "2024-10-01"})
    await post(gov, f"/rectification-cases/{cid}/reviews", {
        "passed": True, "score": 82, "effective_on": "2024-11-01",
        "votes": {"satisfied": 10, "basically_satisfied": 3, "dissatisfied": 2}})
    if plan["fate"] == "signed_off":
        await post(gov, f"/rectification-cases/{cid}/sign-off", {"effective_on": "2024-11-20"})


def expected(plans: list[dict], key, on: date) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for p in plans:
        for group in key(p, None):
            out[group]["cases"] += 1
            out[group]["signed_off"] += p["fate"] == "signed_off"
        for problem in p["problems"]:
            for group in key(p, problem["category"]):
                g = out[group]
                g["problems_found"] += 1
                g["problems_solved"] += problem["solved"]
                for m in problem["measures"]:
                    g["measures_adopted"] += 1
                    g["measures_completed"] += m["complete"]
                    g["overdue_measures"] += not m["complete"] and date.fromisoformat(m["due_on"]) < on
    return out


async def test_summary_equals_figures_computed_from_the_plans(gov):
    rng = random.Random(26)
    plans = [plan_for(rng, f"{t}-V{n}") for t in ("A1", "B2") for n in range(1, 5)]
    for plan in plans:
        await drive(gov, plan)
    await settle(gov)
    on = date(2024, 8, 1)
    for group_by, key in (("category", lambda p, c: p["categories"] if c is None else [c]),
                          ("township", lambda p, c: [p["township"]])):
        report = await get(gov, "/rectification/summary", group_by=group_by, year=2024,
                           as_of=on.isoformat())
        figures = expected(plans, key, on)
        rows = {r["group"]: r for r in report["rows"]}
        assert set(rows) == set(figures)
        for group, f in figures.items():
            r = rows[group]
            for name in ("cases", "signed_off", "problems_found", "problems_solved",
                         "measures_adopted", "measures_completed", "overdue_measures"):
                assert r[name] == f[name], (group_by, group, name)
            assert r["sign_off_rate"]["rate"] == round(f["signed_off"] / f["cases"], 4)
        total = expected(plans, lambda p, c: ["all"], on)["all"]
        assert report["total"]["measures_adopted"] == total["measures_adopted"]
        assert report["total"]["cases"] == len(plans)
    overdue = await get(gov, "/rectification/overdue-measures", as_of=on.isoformat(), limit=500)
    assert len(overdue["items"]) == expected(plans, lambda p, c: ["all"], on)["all"]["overdue_measures"]
    assert all(m["overdue"] and m["completed_on"] is None for m in overdue["items"])
    signed = await get(gov, "/rectification-cases", state="signed_off")
    assert {c["id"] for c in signed["items"]} == {p["id"] for p in plans if p["fate"] == "signed_off"}
    one = plans[0]
    view = await get(gov, f"/rectification-cases/{one['id']}", as_of=on.isoformat())
    assert [p["id"] for p in view["problems"]] == [f"P{i}" for i in range(1, len(one["problems"]) + 1)]
    assert sum(len(p["measures"]) for p in view["problems"]) == sum(
        len(p["measures"]) for p in one["problems"])
    by_category = await get(gov, "/rectification-cases", category=one["categories"][0])
    assert one["id"] in {c["id"] for c in by_category["items"]}
    await assert_rebuild_equals_live(gov, gov.settings.var_dir)


async def test_refusals_are_problems_and_append_nothing(gov):
    admin = gov.admin
    body = {"village_id": "A1-V1", "year": 2024, "categories": ["weak_organisation"],
            "effective_on": "2024-03-01"}
    case = await post(gov, "/rectification-cases", body)
    base = f"/rectification-cases/{case['id']}"
    await assert_refused(gov, "/rectification-cases", body, admin, 409)
    await assert_refused(gov, "/rectification-cases", {**body, "village_id": "nope"}, admin, 422,
                  "unknown_village")
    await assert_refused(gov, "/rectification-cases", {**body, "categories": ["bad"]}, admin, 422)
    await assert_refused(gov, f"{base}/problems", {"category": "poor_service", "description": "x"}, admin,
                  422, "category_not_on_case")
    problem = await assert_refused(gov, f"{base}/plan", {"problems": [
        {"category": "weak_organisation", "description": "x",
         "measures": [{"action": "a", "owner": "o", "due_on": "2024-01-01"}]}],
        "effective_on": "2024-03-05"}, admin, 422, "date_order")
    assert problem["errors"][0]["pointer"] == "#/problems/0/measures/0/due_on"
    await post(gov, f"{base}/problems", {"category": "weak_organisation", "description": "班子不全",
                                         "effective_on": "2024-03-02"})
    await assert_refused(gov, f"{base}/reviews", {"passed": True, "score": 90}, admin, 422, "problems_open")
    await assert_refused(gov, f"{base}/problems/P1/resolution", {}, admin, 422, "no_measures")
    await post(gov, f"{base}/measures", {"problem_id": "P1", "action": "补选", "owner": "镇党委",
                                         "due_on": "2024-05-01", "effective_on": "2024-03-03"})
    await assert_refused(gov, f"{base}/problems/P1/resolution", {}, admin, 422, "measures_open")
    await post(gov, f"{base}/measures/M1/completion", {"effective_on": "2024-04-01"})
    await assert_refused(gov, f"{base}/measures/M1/completion", {}, admin, 422, "already_completed")
    await post(gov, f"{base}/problems/P1/resolution", {"effective_on": "2024-04-02"})
    await assert_refused(gov, f"{base}/reviews", {"passed": True, "score": 65}, admin, 422, "below_pass_mark")
    await assert_refused(gov, f"{base}/sign-off", {}, admin, 409, "invalid_transition")
    await assert_refused(gov, f"{base}/reopen", {"reason": "x"}, admin, 409, "invalid_transition")
    await post(gov, f"{base}/reviews", {"passed": True, "score": 88, "effective_on": "2024-06-01"})
    for path, b in ((f"{base}/problems", {"category": "weak_organisation", "description": "x"}),
                    (f"{base}/measures", {"problem_id": "P1", "action": "a", "owner": "o",
                                          "due_on": "2024-12-01"}),
                    (f"{base}/measures/M1/completion", {}), (f"{base}/problems/P1/resolution", {}),
                    (f"{base}/reviews", {"passed": True, "score": 90}),
                    (f"{base}/plan", {"problems": [{"category": "weak_organisation",
                                                    "description": "x"}]})):
        await assert_refused(gov, path, b, admin, 409, "invalid_transition")
    await post(gov, f"{base}/sign-off", {"effective_on": "2024-06-02"})
    await assert_refused(gov, f"{base}/sign-off", {}, admin, 409, "invalid_transition")
    reopened = await post(gov, f"{base}/reopen", {"reason": "问题反弹", "effective_on": "2024-09-01"})
    view = await get(gov, base, token_=reopened["consistency_token"])
    assert view["state"] == "rectifying" and view["reopen_count"] == 1
    summary = await get(gov, "/rectification/summary", group_by="all")
    assert summary["repeat_listed_villages"] == 1


async def test_operator_isolation_on_rectification(gov):
    b = await post(gov, "/rectification-cases", {"village_id": "B2-V1", "year": 2024,
                                                  "categories": ["poor_service"]})
    a = await post(gov, "/rectification-cases", {"village_id": "A1-V1", "year": 2024,
                                                  "categories": ["poor_service"]})
    await settle(gov)
    op = token(gov.settings, "township_operator", township="A1")
    await get(gov, f"/rectification-cases/{b['id']}", headers=op, expect=404)
    for path in ("/rectification-cases", "/rectification/summary", "/rectification/overdue-measures"):
        await get(gov, path, headers=op, expect=403, township_id="B2")
    await get(gov, "/rectification-cases", headers=op, expect=404, village_id="B2-V1")
    assert [c["id"] for c in (await get(gov, "/rectification-cases", headers=op))["items"]] == [a["id"]]
    assert (await get(gov, "/rectification/summary", headers=op, group_by="township"))["total"]["cases"] == 1
    await assert_refused(gov, "/rectification-cases", {"village_id": "B2-V2", "year": 2024,
                                                "categories": ["poor_service"]}, op, 403)
    for path, body in (("/problems", {"category": "poor_service", "description": "x"}),
                       ("/plan", {"problems": [{"category": "poor_service", "description": "x"}]}),
                       ("/measures", {"problem_id": "P1", "action": "a", "owner": "o",
                                      "due_on": "2024-12-01"}),
                       ("/measures/M1/completion", {}), ("/problems/P1/resolution", {})):
        await assert_refused(gov, f"/rectification-cases/{b['id']}{path}", body, op, 404)
    for path, body in (("/reviews", {"passed": False, "score": 10}), ("/sign-off", {}),
                       ("/reopen", {"reason": "x"})):
        await assert_refused(gov, f"/rectification-cases/{a['id']}{path}", body, op, 403)
    await post(gov, f"/rectification-cases/{a['id']}/problems",
               {"category": "poor_service", "description": "服务弱"}, headers=op)
