"""The village-leader reserve pipeline through the gateway: rosters, stages, the funnel and the
villages without a qualified reserve against figures computed here; refusals; isolation."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

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
SOURCES = ["wealth_creator", "returning_graduate", "veteran", "migrant_returnee",
           "party_member_backbone"]


@pytest_asyncio.fixture
async def gov(tmp_path):
    async with governance_platform(tmp_path / "var", ManualClock(NOW)) as client:
        for code in ("A1", "B2"):
            await post(client, "/townships", {"code": code, "name": f"{code}镇"})
            await post(client, "/villages/batch", {"villages": [
                {"code": f"{code}-V{n}", "township_id": code, "name": f"{code}{n}村"}
                for n in range(1, 6)]})
        yield client


async def test_funnel_equals_figures_computed_from_the_plan(gov):
    rng = random.Random(1352)
    people = []
    for township in ("A1", "B2"):
        roster = []
        for i in range(60):
            village = f"{township}-V{rng.randint(1, 4)}"  # V5 of each township gets nobody
            person = {"village_id": village, "name": f"{township}候选{i}", "source": rng.choice(SOURCES),
                      "leader_candidate": rng.random() < 0.3, "party_member": rng.random() < 0.6,
                      "effective_on": "2024-03-01"}
            if rng.random() < 0.8:
                person |= {"surveyed_on": "2024-04-01", "survey_items": ["谈思想", "看品行"]}
            roster.append(person)
        last = await post(gov, "/reserve-candidates/batch", {"candidates": roster})
        people += roster
    listed = []
    cursor = None
    while True:
        page = await get(gov, "/reserve-candidates", token_=last["consistency_token"], limit=50,
                         **({"cursor": cursor} if cursor else {}))
        listed += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(listed) == len(people) == 120
    by_name = {c["name"]: c for c in listed}
    # push surveyed candidates on: talk, trial, evaluation, qualification, or exit
    fate = {}
    for p in people:
        cid = by_name[p["name"]]["id"]
        if "surveyed_on" not in p:
            fate[p["name"]] = "identified"
            continue
        roll = rng.random()
        if roll < 0.3:
            fate[p["name"]] = "surveyed"
            continue
        await post(gov, f"/reserve-candidates/{cid}/talk", {"willing": roll < 0.9,
                                                            "effective_on": "2024-05-01"})
        if roll >= 0.9:
            await post(gov, f"/reserve-candidates/{cid}/exit", {"reason": "不愿意",
                                                                "effective_on": "2024-05-02"})
            fate[p["name"]] = "exited_after_talk"
            continue
        if roll < 0.5:
            fate[p["name"]] = "talked"
            continue
        await post(gov, f"/reserve-candidates/{cid}/trial", {
            "post": "deputy_secretary", "planned_end_on": "2024-10-31", "effective_on": "2024-06-01"})
        if roll < 0.6:
            fate[p["name"]] = "on_trial"
            continue
        await post(gov, f"/reserve-candidates/{cid}/trial-evaluation", {
            "evaluation": "competent", "effective_on": "2024-10-31"})
        await post(gov, f"/reserve-candidates/{cid}/qualification", {"effective_on": "2024-11-05"})
        fate[p["name"]] = "qualified"
    await settle(gov)

    reached_order = ["identified", "surveyed", "talked", "on_trial", "qualified"]

    def reached(name: str, stage: str) -> bool:
        f = fate[name]
        if f == "exited_after_talk":
            return stage in ("surveyed", "talked")
        return reached_order.index(f) >= reached_order.index(stage)

    funnel = await get(gov, "/reserve/funnel", group_by="township")
    rows = {r["group"]: r for r in funnel["rows"]}
    for township in ("A1", "B2"):
        mine = [p for p in people if p["village_id"].startswith(township)]
        row = rows[township]
        assert row["candidates"] == len(mine)
        assert row["leader_candidates"] == sum(p["leader_candidate"] for p in mine)
        for stage in ("surveyed", "talked", "on_trial", "qualified"):
            assert row["reached"][stage] == sum(reached(p["name"], stage) for p in mine), (township, stage)
        assert row["reached"]["trial_completed"] == row["reached"]["qualified"]
        now = Counter(fate[p["name"]] for p in mine)
        assert row["exited"] == now["exited_after_talk"]
        assert row["qualified_now"] == now["qualified"]
        assert row["current"]["identified"] == now["identified"]
    assert funnel["total"]["candidates"] == 120
    leaders = await get(gov, "/reserve/funnel", group_by="all", leader_candidate="true")
    assert leaders["total"]["candidates"] == sum(p["leader_candidate"] for p in people)
    village_funnel = await get(gov, "/reserve/funnel", group_by="village", township_id="A1")
    assert sum(r["candidates"] for r in village_funnel["rows"]) == rows["A1"]["candidates"]
    assert all(r["group"].startswith("A1") for r in village_funnel["rows"])

    qualified_by_village = Counter(p["village_id"] for p in people if fate[p["name"]] == "qualified")
    expected_empty = sorted(f"{t}-V{n}" for t in ("A1", "B2") for n in range(1, 6)
                            if qualified_by_village[f"{t}-V{n}"] == 0)
    empty = await get(gov, "/reserve/villages-without-qualified")
    assert sorted(v["village_id"] for v in empty) == expected_empty
    assert "A1-V5" in expected_empty
    two = await get(gov, "/reserve/villages-without-qualified", minimum=2)
    assert sorted(v["village_id"] for v in two) == sorted(
        f"{t}-V{n}" for t in ("A1", "B2") for n in range(1, 6) if qualified_by_village[f"{t}-V{n}"] < 2)
    await assert_rebuild_equals_live(gov, gov.settings.var_dir)


async def test_refusals_are_problems_and_append_nothing(gov):
    admin = gov.admin
    body = {"village_id": "A1-V1", "name": "王五", "source": "veteran", "leader_candidate": True,
            "effective_on": "2024-03-01"}
    await assert_refused(gov, "/reserve-candidates", {**body, "negative_list_hit": True}, admin, 422,
                  "negative_list")
    await assert_refused(gov, "/reserve-candidates", {**body, "village_id": "nope"}, admin, 422,
                  "unknown_village")
    await assert_refused(gov, "/reserve-candidates", {**body, "source": "lottery"}, admin, 422)
    problem = await assert_refused(gov, "/reserve-candidates/batch", {"candidates": [
        body, {**body, "name": "赵六", "negative_list_hit": True}]}, admin, 422, "negative_list")
    assert problem["errors"][0]["pointer"] == "#/candidates/1/negative_list_hit"
    cid = (await post(gov, "/reserve-candidates", body))["id"]
    base = f"/reserve-candidates/{cid}"
    steps = {"talk": {"willing": True}, "trial": {"post": "deputy_secretary",
                                                  "planned_end_on": "2024-12-31"},
             "trial-evaluation": {"evaluation": "competent"}, "qualification": {}}
    for step, b in steps.items():
        await assert_refused(gov, f"{base}/{step}", b, admin, 409, "invalid_transition")
    await post(gov, f"{base}/survey", {"items": ["谈思想"], "effective_on": "2024-04-01"})
    await assert_refused(gov, f"{base}/survey", {}, admin, 409, "invalid_transition")
    await post(gov, f"{base}/talk", {"willing": False, "effective_on": "2024-05-01"})
    await assert_refused(gov, f"{base}/trial", steps["trial"], admin, 422, "not_willing")
    await post(gov, f"{base}/exit", {"reason": "不愿意"})
    for step, b in [*steps.items(), ("survey", {}), ("exit", {"reason": "again"})]:
        await assert_refused(gov, f"{base}/{step}", b, admin, 409, "invalid_transition")


async def test_operator_isolation_on_the_reserve(gov):
    body = {"name": "王五", "source": "veteran", "leader_candidate": True}
    b = await post(gov, "/reserve-candidates", {**body, "village_id": "B2-V1"})
    a = await post(gov, "/reserve-candidates", {**body, "village_id": "A1-V1"})
    await settle(gov)
    op = token(gov.settings, "township_operator", township="A1")
    await get(gov, f"/reserve-candidates/{b['id']}", headers=op, expect=404)
    for path in ("/reserve-candidates", "/reserve/funnel", "/reserve/villages-without-qualified"):
        await get(gov, path, headers=op, expect=403, township_id="B2")
    for path in ("/reserve-candidates", "/reserve/funnel"):
        await get(gov, path, headers=op, expect=404, village_id="B2-V1")
    assert [c["id"] for c in (await get(gov, "/reserve-candidates", headers=op))["items"]] == [a["id"]]
    assert (await get(gov, "/reserve/funnel", headers=op, group_by="all"))["total"]["candidates"] == 1
    assert {v["township_id"] for v in await get(gov, "/reserve/villages-without-qualified",
                                                headers=op)} == {"A1"}
    await assert_refused(gov, "/reserve-candidates", {**body, "village_id": "B2-V2"}, op, 403)
    await assert_refused(gov, "/reserve-candidates/batch", {"candidates": [{**body, "village_id": "B2-V2"}]},
                  op, 403)
    await assert_refused(gov, "/villages/batch", {"villages": [{"code": "B2-V9", "township_id": "B2",
                                                        "name": "x"}]}, op, 403)
    for step, b2 in (("survey", {}), ("talk", {"willing": True}),
                     ("trial", {"post": "deputy_secretary", "planned_end_on": "2025-01-31"}),
                     ("trial-evaluation", {"evaluation": "competent"}), ("qualification", {}),
                     ("exit", {"reason": "x"})):
        await assert_refused(gov, f"/reserve-candidates/{b['id']}/{step}", b2, op, 404)
    await post(gov, f"/reserve-candidates/{a['id']}/survey", {}, headers=op)
