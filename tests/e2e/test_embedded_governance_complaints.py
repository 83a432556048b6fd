"""Citizen complaints (接诉即办) through the gateway: the flow, the sealed phone, SLA clocks on a
controllable clock, every refused transition, township isolation, and the KPIs against figures
computed here from the plan that drove them."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

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
T0 = datetime(2024, 10, 7, 1, 0, tzinfo=UTC)  # Monday 09:00 China time
PHONE = "13912345678"
SEGMENT = {
    "dispatch": "dispatch",
    "sign_for": "sign-for",
    "request_return": "return-requests",
    "decide_return": "return-decisions",
    "request_extension": "extension-requests",
    "decide_extension": "extension-decisions",
    "record_first_contact": "first-contact",
    "report_result": "result",
    "record_follow_up": "follow-up",
    "reopen": "reopen",
    "close": "close",
    "flag_overdue": "overdue-flags",
}
UNIT_A = {"kind": "township", "id": "A1", "name": "云中镇"}
WATER = {"kind": "department", "id": "water", "name": "县水务局"}
HOUSING = {"kind": "department", "id": "housing", "name": "县住建局"}


@pytest_asyncio.fixture
async def gov(tmp_path):
    async with governance_platform(tmp_path / "var", ManualClock(NOW)) as client:
        for code, name in (("A1", "云中镇"), ("B2", "金沙滩镇")):
            await post(client, "/townships", {"code": code, "name": name})
            for n in (1, 2):
                await post(
                    client,
                    "/communities",
                    {"code": f"{code}-C{n}", "township_id": code, "name": f"{name}{n}社区"},
                )
        yield client


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def receive(
    gov, at: datetime | None = None, community="A1-C1", category="complaint", urgency="normal", headers=None
) -> str:
    body = {
        "channel": "hotline",
        "category": category,
        "urgency": urgency,
        "community_id": community,
        "description": "小区路灯不亮",
        "contact_phone": "139 1234 5678",
    }
    if at:
        body["at"] = iso(at)
    return (await post(gov, "/complaints", body, headers=headers))["id"]


def body_for(action: str, at: datetime | None, **overrides) -> dict:
    body = {
        "dispatch": {"handling_unit": UNIT_A},
        "request_return": {"reason": "不属本镇"},
        "decide_return": {"granted": True},
        "decide_extension": {"granted": True},
        "request_extension": {"requested": {"amount": 2, "unit": "days"}, "reason": "协调"},
        "report_result": {"result": "已处理"},
        "record_follow_up": {"resolved": False, "satisfaction": "dissatisfied"},
        "reopen": {"reason": "未解决"},
        "close": {},
    }.get(action, {})
    body = {**body, **overrides}
    if at is not None and action != "flag_overdue":
        body["at"] = iso(at)
    return body


async def act(
    gov, cid: str, action: str, at: datetime | None = None, headers=None, expect: int = 201, **overrides
) -> dict:
    return await post(
        gov,
        f"/complaints/{cid}/{SEGMENT[action]}",
        body_for(action, at, **overrides),
        headers=headers,
        expect=expect,
    )


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


# --- the flow and the sealed phone --------------------------------------------------------------


async def test_a_complaint_runs_its_course_and_the_phone_never_travels_plain(gov):
    cid = await receive(gov, hours(0))
    await act(gov, cid, "dispatch", hours(1))
    await act(gov, cid, "sign_for", hours(2))
    await act(gov, cid, "record_first_contact", hours(3))
    await act(gov, cid, "report_result", hours(30))
    await act(gov, cid, "record_follow_up", hours(40), resolved=True, satisfaction="satisfied")
    closed = await act(gov, cid, "close", hours(41))
    view = await get(gov, f"/complaints/{cid}", token_=closed["consistency_token"])
    assert view["state"] == "closed" and view["outcome"] == "completed"
    assert view["handling_unit"] == UNIT_A and view["dispatches"] == 1
    assert view["deadlines"]["resolve_due"] == "2024-10-14T02:00:00Z"
    assert view["deadlines"]["response_due"] == "2024-10-08T02:00:00Z"
    assert view["contacted_on_time"] is True and view["result_on_time"] is True
    assert view["follow_up"]["satisfaction"] == "satisfied" and view["overdue"] == []
    assert view["contact_phone"] == PHONE  # admin may read contacts
    operator = token(gov.settings, "township_operator", township="A1")
    assert (await get(gov, f"/complaints/{cid}", headers=operator))["contact_phone"] == PHONE
    viewer = token(gov.settings, "viewer")
    masked = await get(gov, f"/complaints/{cid}", headers=viewer)
    assert masked["contact_phone"] == "139****5678"
    listed = await gov.get("/api/v1/governance/complaints", headers=viewer)
    assert PHONE not in listed.text and "139****5678" in listed.text

    store = gov.app.state.context.stores["governance"]
    events = await store.read_all(0, 10_000)
    assert any(e.type.startswith("zugong.governance.complaint_received") for e in events)
    for event in events:
        text = json.dumps(event.to_envelope("governance").model_dump(mode="json"), ensure_ascii=False)
        assert PHONE not in text and "139 1234 5678" not in text


async def test_bad_complaints_are_422_and_append_nothing(gov):
    admin = gov.admin
    good = {
        "channel": "hotline",
        "category": "help",
        "community_id": "A1-C1",
        "description": "x",
        "contact_phone": PHONE,
    }
    for change, code in (
        ({"contact_phone": "12345"}, None),
        ({"contact_phone": "23912345678"}, "phone"),
        ({"community_id": "nope"}, "unknown_community"),
        ({"category": "praise"}, None),
        ({"at": "2024-10-07T09:00:00"}, None),  # no time zone
        ({"at": iso(NOW + timedelta(hours=1))}, "future"),
        ({"extra": 1}, None),
    ):
        await assert_refused(gov, "/complaints", {**good, **change}, admin, 422, code)
    cid = await receive(gov, hours(0))
    await assert_refused(
        gov,
        f"/complaints/{cid}/dispatch",
        {"handling_unit": {**UNIT_A, "id": "B2"}},
        admin,
        422,
        "not_territorial",
    )
    await assert_refused(
        gov, f"/complaints/{cid}/dispatch", body_for("dispatch", hours(-1)), admin, 422, "date_order"
    )
    await assert_refused(gov, "/complaints/nope/dispatch", body_for("dispatch", hours(1)), admin, 404)
    await act(gov, cid, "dispatch", hours(1))
    await act(gov, cid, "sign_for", hours(2))
    await assert_refused(
        gov, f"/complaints/{cid}/result", body_for("report_result", hours(3)), admin, 422, "no_contact"
    )
    await assert_refused(
        gov,
        f"/complaints/{cid}/extension-decisions",
        body_for("decide_extension", hours(3)),
        admin,
        422,
        "no_pending_extension",
    )


# --- SLA clocks on the controllable clock -------------------------------------------------------


async def test_sla_clocks_run_on_the_service_clock_and_overdue_orders_are_flagged(gov):
    clock = gov.clock
    clock.set(T0)
    cid = await receive(gov)  # no `at`: the clock's now
    dispatched = await act(gov, cid, "dispatch")
    flag = f"/complaints/{cid}/overdue-flags"
    clock.advance(hours=3, minutes=59)
    await assert_refused(gov, flag, None, gov.admin, 422, "not_overdue")
    got = await get(gov, f"/complaints/{cid}", token_=dispatched["consistency_token"])
    assert got["overdue"] == [] and got["deadlines"]["sign_for_due"] == "2024-10-07T05:00:00Z"
    clock.advance(minutes=2)
    flagged = await post(gov, flag)
    view = await get(gov, f"/complaints/{cid}", token_=flagged["consistency_token"])
    assert view["overdue"] == ["sign_for"] and view["overdue_flags"] == 1
    await assert_refused(gov, flag, None, gov.admin, 422, "not_overdue")  # flagged once per deadline
    overdue = await get(gov, "/complaints", overdue="true")
    assert [c["id"] for c in overdue["items"]] == [cid]
    assert (await get(gov, "/complaints", overdue="false"))["items"] == []
    earlier = await get(gov, f"/complaints/{cid}", as_of=iso(T0 + timedelta(hours=3)))
    assert earlier["overdue"] == []

    await act(gov, cid, "sign_for")  # late
    await act(gov, cid, "request_return")
    clock.advance(hours=30)  # in return review: the clock runs until the return is granted
    decided = await act(gov, cid, "decide_return")
    clock.advance(days=30)  # waiting for re-dispatch: paused, never overdue
    paused = await get(gov, f"/complaints/{cid}", token_=decided["consistency_token"])
    assert paused["deadlines"]["paused"] is True and paused["overdue"] == []
    assert paused["state"] == "received"
    await assert_refused(gov, flag, None, gov.admin, 409, "invalid_transition")
    await act(gov, cid, "dispatch", handling_unit=WATER)
    view = await get(gov, f"/complaints/{cid}", token_=(await act(gov, cid, "sign_for"))["consistency_token"])
    shift = timedelta(days=30, hours=30)  # from the return request to the re-dispatch
    assert view["deadlines"]["resolve_due"] == iso(T0 + timedelta(days=7) + shift).replace("+00:00", "Z")
    assert view["handling_unit"] == WATER and view["dispatches"] == 2
    clock.advance(days=7, minutes=1)
    flagged = await post(gov, flag)  # response and resolve both ran out
    view = await get(gov, f"/complaints/{cid}", token_=flagged["consistency_token"])
    assert view["overdue"] == ["response", "resolve"] and view["overdue_flags"] == 3


async def test_sla_policy_is_configurable_and_applies_to_later_dispatches(gov):
    policy = await get(gov, "/sla-policy")
    assert len(policy["complaint_rules"]) == 6
    new = {
        **policy,
        "complaint_rules": [
            {**r, "resolve": {"amount": 2, "unit": "days"}}
            if r["urgency"] == "normal" and r["category"] is None
            else r
            for r in policy["complaint_rules"]
        ],
    }
    await assert_refused(
        gov,
        "/sla-policy",
        {**policy, "alert_rules": policy["alert_rules"][:1]},
        gov.admin,
        422,
        "incomplete_policy",
    )
    operator = token(gov.settings, "township_operator", township="A1")
    await assert_refused(gov, "/sla-policy", new, operator, 403)
    before = await receive(gov, hours(0))
    await act(gov, before, "dispatch", hours(1))
    await post(gov, "/sla-policy", new)
    after = await receive(gov, hours(2))
    await act(gov, after, "dispatch", hours(3))
    await settle(gov)
    assert (await get(gov, f"/complaints/{before}"))["deadlines"]["resolve_due"] == "2024-10-14T02:00:00Z"
    assert (await get(gov, f"/complaints/{after}"))["deadlines"]["resolve_due"] == "2024-10-09T04:00:00Z"
    assert (await get(gov, "/sla-policy"))["complaint_rules"] == new["complaint_rules"]


# --- every refused transition through HTTP ------------------------------------------------------


async def complaint_in(gov, state: str) -> str:
    cid = await receive(gov, hours(0))
    if state == "received":
        return cid
    await act(gov, cid, "dispatch", hours(1))
    if state == "dispatched":
        return cid
    if state == "return_requested":
        await act(gov, cid, "request_return", hours(2))
        return cid
    await act(gov, cid, "sign_for", hours(2))
    if state == "signed":
        return cid
    await act(gov, cid, "record_first_contact", hours(3))
    await act(gov, cid, "report_result", hours(30))
    if state == "result_reported":
        return cid
    await act(gov, cid, "record_follow_up", hours(40))
    if state == "followed_up":
        return cid
    await act(gov, cid, "close", hours(41))
    return cid


ALLOWED = {
    "received": {"dispatch", "close"},
    "dispatched": {"sign_for", "request_return", "flag_overdue"},
    "signed": {
        "request_return",
        "request_extension",
        "decide_extension",
        "record_first_contact",
        "report_result",
        "flag_overdue",
    },
    "return_requested": {"decide_return", "flag_overdue"},
    "result_reported": {"record_follow_up", "close"},
    "followed_up": {"reopen", "close"},
    "closed": {"reopen"},
}


async def test_every_refused_transition_is_409_and_appends_nothing(gov):
    for state, allowed in ALLOWED.items():
        cid = await complaint_in(gov, state)
        for action in SEGMENT:
            if action in allowed:
                continue
            problem = await assert_refused(
                gov,
                f"/complaints/{cid}/{SEGMENT[action]}",
                body_for(action, hours(45)),
                gov.admin,
                409,
                "invalid_transition",
            )
            assert state in problem["detail"]


# --- township isolation -------------------------------------------------------------------------


async def test_operator_cannot_read_or_change_another_townships_complaints(gov):
    b = await receive(gov, hours(0), community="B2-C1")
    await act(gov, b, "dispatch", hours(1), handling_unit={"kind": "township", "id": "B2", "name": "x"})
    a = await receive(gov, hours(0))
    await act(gov, a, "dispatch", hours(1), handling_unit=WATER)
    a_own = await receive(gov, hours(0))
    await act(gov, a_own, "dispatch", hours(1))
    await settle(gov)
    op = token(gov.settings, "township_operator", township="A1")
    await get(gov, f"/complaints/{b}", headers=op, expect=404)
    for path in ("/complaints", "/complaints/kpis"):
        await get(gov, path, headers=op, expect=403, township_id="B2")
        await get(gov, path, headers=op, expect=404, community_id="B2-C1")
    listed = await get(gov, "/complaints", headers=op)
    assert {c["id"] for c in listed["items"]} == {a, a_own}
    kpis = await get(gov, "/complaints/kpis", headers=op, group_by="township")
    assert [r["group"] for r in kpis["rows"]] == ["A1"] and kpis["total"]["received"] == 2
    for action in (
        "sign_for",
        "request_return",
        "request_extension",
        "record_first_contact",
        "report_result",
    ):
        await assert_refused(gov, f"/complaints/{b}/{SEGMENT[action]}", body_for(action, hours(2)), op, 404)
        # an order of its territory handled by a county department is not the operator's to act on
        await assert_refused(gov, f"/complaints/{a}/{SEGMENT[action]}", body_for(action, hours(2)), op, 403)
    for action in (
        "dispatch",
        "decide_return",
        "decide_extension",
        "record_follow_up",
        "reopen",
        "close",
        "flag_overdue",
    ):
        await assert_refused(
            gov, f"/complaints/{a_own}/{SEGMENT[action]}", body_for(action, hours(2)), op, 403
        )
    await assert_refused(
        gov,
        "/complaints",
        {
            "channel": "web",
            "category": "help",
            "community_id": "A1-C1",
            "description": "x",
            "contact_phone": PHONE,
        },
        op,
        403,
    )
    await act(gov, a_own, "sign_for", hours(2), headers=op)
    await act(gov, a_own, "record_first_contact", hours(3), headers=op)


# --- KPIs against figures computed from the plan ------------------------------------------------


def make_plans(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    plans = []
    for i in range(n):
        community = rng.choice(["A1-C1", "A1-C2", "B2-C1"])
        township = community[:2]
        plan = {
            "i": i,
            "community": community,
            "township": township,
            "category": rng.choice(["complaint", "report", "suggestion"]),
            "received": T0 + timedelta(hours=i * 31),
            "fate": rng.choices(["not_accepted", "left_dispatched", "left_signed", "full"], [1, 1, 1, 7])[0],
            "unit": ({"kind": "township", "id": township, "name": township} if rng.random() < 0.7 else WATER),
            "return": rng.choices([None, "granted", "refused"], [7, 2, 1])[0],
            "sign_late": rng.random() < 0.25,
            "contact_late": rng.random() < 0.25,
            "result_late": rng.random() < 0.25,
            "resolved": rng.random() < 0.7,
            "satisfaction": rng.choice(["satisfied", "basically_satisfied", "dissatisfied"]),
            "reopen": rng.random() < 0.5,
            "close": rng.random() < 0.9,
        }
        plans.append(plan)
    return plans


async def drive(gov, plan: dict) -> None:
    """Drive one order through HTTP per its plan; margins keep on-time flags unambiguous."""
    t = plan["received"]
    cid = await receive(gov, t, community=plan["community"], category=plan["category"])
    plan["id"] = cid
    if plan["fate"] == "not_accepted":
        await act(gov, cid, "close", t + timedelta(hours=1), outcome="not_accepted")
        return
    first = t + timedelta(hours=1)
    await act(gov, cid, "dispatch", first, handling_unit=plan["unit"])
    plan["dispatches"] = [
        {"unit": plan["unit"]["id"], "signed_on_time": False, "returned": False, "granted": False}
    ]
    last, shift = first, timedelta(0)
    if plan["return"]:
        await act(gov, cid, "request_return", first + timedelta(hours=1))
        plan["dispatches"][0]["returned"] = True
        if plan["return"] == "granted":
            plan["dispatches"][0]["granted"] = True
            await act(gov, cid, "decide_return", first + timedelta(hours=2))
            last = first + timedelta(hours=3)
            shift = last - (first + timedelta(hours=1))
            await act(gov, cid, "dispatch", last, handling_unit=HOUSING)
            plan["dispatches"].append(
                {"unit": "housing", "signed_on_time": False, "returned": False, "granted": False}
            )
            plan["unit"] = HOUSING
        else:
            await act(gov, cid, "decide_return", first + timedelta(hours=1, minutes=30), granted=False)
    if plan["fate"] == "left_dispatched":
        return
    signed = last + timedelta(hours=6 if plan["sign_late"] else 2)
    await act(gov, cid, "sign_for", signed)
    plan["dispatches"][-1]["signed_on_time"] = not plan["sign_late"]
    if plan["fate"] == "left_signed":
        return
    contact = last + timedelta(hours=40) if plan["contact_late"] else signed + timedelta(hours=1)
    await act(gov, cid, "record_first_contact", contact)
    result = first + shift + (timedelta(days=8) if plan["result_late"] else timedelta(days=2))
    await act(gov, cid, "report_result", result)
    rating = {"resolved": plan["resolved"], "satisfaction": plan["satisfaction"]}
    await act(gov, cid, "record_follow_up", result + timedelta(hours=5), **rating)
    plan["rating"] = rating
    plan["last_result_on_time"] = not plan["result_late"]
    unhappy = not plan["resolved"] or plan["satisfaction"] == "dissatisfied"
    plan["reopened"] = plan["reopen"] and unhappy
    if plan["reopened"]:
        again = result + timedelta(hours=6)
        await act(gov, cid, "reopen", again)
        await act(gov, cid, "report_result", again + timedelta(days=1))
        plan["rating"] = {"resolved": True, "satisfaction": "satisfied"}
        await act(gov, cid, "record_follow_up", again + timedelta(days=1, hours=2), **plan["rating"])
        plan["last_result_on_time"] = True
        last_step = again + timedelta(days=1, hours=3)
    else:
        last_step = result + timedelta(hours=6)
    plan["completed"] = plan["close"]
    if plan["close"]:
        await act(gov, cid, "close", last_step)


def expected_kpis(
    plans: list[dict], key, satisfied=("satisfied", "basically_satisfied"), returns="requested"
) -> dict[str, dict]:
    out: dict[str, dict] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for p in plans:
        dispatched = "dispatches" in p
        order_group = key(p, p["unit"]["id"]) if dispatched else key(p, None)
        if order_group is not None:
            g = out[order_group]
            g["received"][0] += 1
        if not dispatched:
            continue
        g["dispatched"][0] += 1
        g["response_rate"][1] += 1
        contacted = p["fate"] == "full"
        g["response_rate"][0] += contacted and not p["contact_late"]
        if "rating" in p:
            g["resolution_rate"][1] += 1
            g["satisfaction_rate"][1] += 1
            g["resolution_rate"][0] += p["rating"]["resolved"]
            g["satisfaction_rate"][0] += p["rating"]["satisfaction"] in satisfied
        g["completion_rate"][1] += 1
        if p.get("completed"):
            g["completion_rate"][0] += 1
            g["on_time_completion_rate"][1] += 1
            g["on_time_completion_rate"][0] += p["last_result_on_time"]
            g["reopen_rate"][1] += 1
            g["reopen_rate"][0] += p["reopened"]
        for d in p["dispatches"]:
            dg = out[key(p, d["unit"])]
            dg["timely_sign_for_rate"][1] += 1
            dg["timely_sign_for_rate"][0] += d["signed_on_time"]
            dg["return_rate"][1] += 1
            dg["return_rate"][0] += d["granted"] if returns == "granted" else d["returned"]
    return out


def compare(report: dict, expected: dict[str, dict]) -> None:
    got = {r["group"]: r for r in report["rows"]}
    assert set(got) == set(expected), (sorted(got), sorted(expected))
    for group, figures in expected.items():
        row = got[group]
        assert row["received"] == figures["received"][0], group
        assert row["dispatched"] == figures["dispatched"][0], group
        for kpi in (
            "response_rate",
            "resolution_rate",
            "satisfaction_rate",
            "completion_rate",
            "on_time_completion_rate",
            "timely_sign_for_rate",
            "return_rate",
            "reopen_rate",
        ):
            num, den = figures[kpi]
            assert (row[kpi]["numerator"], row[kpi]["denominator"]) == (num, den), (group, kpi)
            assert row[kpi]["rate"] == (round(num / den, 4) if den else None)


async def test_kpis_equal_figures_computed_from_the_plan(gov):
    plans = make_plans(seed=20241, n=48)
    for plan in plans:
        await drive(gov, plan)
    await settle(gov)
    month = lambda p, unit: (p["received"] + timedelta(hours=8)).strftime("%Y-%m")  # noqa: E731
    cases = [
        ("handling_unit", lambda p, unit: unit, {}),
        ("community", lambda p, unit: p["community"], {}),
        ("category", lambda p, unit: p["category"], {}),
        ("township", lambda p, unit: p["township"], {}),
        ("month", month, {}),
    ]
    for group_by, key, _ in cases:
        report = await get(gov, "/complaints/kpis", group_by=group_by)
        compare(report, expected_kpis(plans, key))
    strict = await get(
        gov, "/complaints/kpis", group_by="category", satisfied_ratings="satisfied", return_counts="granted"
    )
    compare(
        strict,
        expected_kpis(plans, lambda p, unit: p["category"], satisfied=("satisfied",), returns="granted"),
    )
    assert "satisfied ÷" in strict["formulas"]["satisfaction_rate"]
    total = (await get(gov, "/complaints/kpis", group_by="all"))["total"]
    everything = expected_kpis(plans, lambda p, unit: "all")["all"]
    assert total["response_rate"]["numerator"] == everything["response_rate"][0]
    # a period picks orders by their received date
    first_month = [p for p in plans if month(p, None) == "2024-10"]
    october = await get(
        gov, "/complaints/kpis", group_by="category", **{"from": "2024-10-01", "to": "2024-10-31"}
    )
    compare(october, expected_kpis(first_month, lambda p, unit: p["category"]))
    # a list filter agrees with the rows
    housing = await get(gov, "/complaints", handling_unit_id="housing", limit=500)
    assert len(housing["items"]) == sum(p["unit"]["id"] == "housing" for p in plans)
    assert await assert_rebuild_equals_live(gov, gov.settings.var_dir) > len(plans)
