"""Compounds through the gateway: rosters, service stations and monitoring over time, property
alerts with SLA clocks on a controllable clock, metrics against figures computed here, isolation."""

from __future__ import annotations

import random
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
T0 = datetime(2024, 11, 4, 1, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def gov(tmp_path):
    async with governance_platform(tmp_path / "var", ManualClock(NOW)) as client:
        for code, name in (("A1", "云中镇"), ("B2", "金沙滩镇")):
            await post(client, "/townships", {"code": code, "name": name})
            await post(
                client, "/communities", {"code": f"{code}-C1", "township_id": code, "name": f"{name}社区"}
            )
        yield client


def roster(community: str, n: int, stations: int, connected: int) -> list[dict]:
    return [
        {
            "community_id": community,
            "name": f"{community}-小区{i:03}",
            "households": 100 + i,
            "effective_on": "2015-01-01",
            **({"service_station_opened_on": "2024-03-01"} if i < stations else {}),
            **({"monitoring_connected_on": "2024-06-01", "devices": 10} if i < connected else {}),
        }
        for i in range(n)
    ]


async def test_roster_coverage_and_monitoring_over_time(gov):
    await post(gov, "/compounds/batch", {"compounds": roster("A1-C1", 10, 7, 6)})
    last = await post(gov, "/compounds/batch", {"compounds": roster("B2-C1", 5, 2, 5)})
    m = await get(gov, "/compounds/metrics", token_=last["consistency_token"])
    assert (m["compounds"], m["with_service_station"], m["monitoring_connected"]) == (15, 9, 11)
    assert m["coverage_rate"] == {"numerator": 9, "denominator": 15, "rate": 0.6}
    assert m["meets_target"] is False
    by = {t["township_id"]: t for t in m["by_township"]}
    assert by["A1"]["coverage_rate"]["rate"] == 0.7 and by["B2"]["monitoring_connected"] == 5
    a1 = await get(gov, "/compounds/metrics", township_id="A1")
    assert a1["meets_target"] is True and a1["compounds"] == 10
    spring = await get(gov, "/compounds/metrics", as_of="2024-04-01T00:00:00Z")
    assert (spring["with_service_station"], spring["monitoring_connected"]) == (9, 0)
    winter = await get(gov, "/compounds/metrics", as_of="2023-12-31T00:00:00Z")
    assert winter["with_service_station"] == 0 and winter["compounds"] == 15

    compounds = (await get(gov, "/compounds", township_id="B2"))["items"]
    no_station = next(c for c in compounds if not c["service_station_open"])
    with_station = next(c for c in compounds if c["service_station_open"])
    base = f"/compounds/{no_station['id']}"
    await post(gov, f"{base}/service-station/opening", {"effective_on": "2024-10-01", "address": "门岗"})
    await post(
        gov,
        f"/compounds/{with_station['id']}/service-station/closing",
        {"reason": "场地收回", "effective_on": "2024-11-01"},
    )
    done = await post(
        gov, f"{base}/monitoring/disconnection", {"reason": "换设备", "effective_on": "2024-12-01"}
    )
    m = await get(gov, "/compounds/metrics", token_=done["consistency_token"], township_id="B2")
    assert (m["with_service_station"], m["monitoring_connected"]) == (2, 4)
    october = await get(gov, "/compounds/metrics", township_id="B2", as_of="2024-10-15T04:00:00Z")
    assert (october["with_service_station"], october["monitoring_connected"]) == (3, 5)
    view = await get(gov, base)
    assert view["service_station_open"] is True and view["monitoring_connected"] is False

    # refused switches: 409 and nothing appended; a bad roster entry fails the whole roster
    await assert_refused(gov, f"{base}/service-station/opening", {}, gov.admin, 409, "invalid_transition")
    await assert_refused(
        gov, f"{base}/monitoring/disconnection", {"reason": "x"}, gov.admin, 409, "invalid_transition"
    )
    await assert_refused(
        gov,
        f"/compounds/{with_station['id']}/service-station/closing",
        {"reason": "x"},
        gov.admin,
        409,
        "invalid_transition",
    )
    await assert_refused(
        gov,
        f"{base}/service-station/closing",
        {"reason": "x", "effective_on": "2024-09-30"},
        gov.admin,
        422,
        "date_order",
    )
    bad = roster("A1-C1", 3, 0, 0)
    bad[2]["community_id"] = "nope"
    problem = await assert_refused(gov, "/compounds/batch", {"compounds": bad}, gov.admin, 422)
    assert problem["errors"][0]["pointer"] == "#/compounds/2/community_id"
    await assert_refused(gov, "/compounds/batch", {"compounds": []}, gov.admin, 422)


def alert_plan(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    plans = []
    for i in range(n):
        level = rng.choice(["critical", "major", "minor"])
        ack_limit = {"critical": 5, "major": 15, "minor": 60}[level]
        resolve_limit = {"critical": 60, "major": 240, "minor": 1440}[level]
        fate = rng.choice(["open", "acknowledged", "resolved", "resolved", "false_alarm"])
        ack = rng.choice([ack_limit - 2, ack_limit + 3])
        resolve = rng.choice([resolve_limit - 10, resolve_limit + 10])
        plans.append(
            {
                "level": level,
                "type": rng.choice(["smoke", "elevator", "fire_lane"]),
                "raised": T0 + timedelta(hours=5 * i),
                "fate": fate,
                "ack": ack,
                "resolve": resolve,
                "ack_limit": ack_limit,
                "resolve_limit": resolve_limit,
            }
        )
    return plans


async def test_alerts_sla_and_metrics_match_the_plan(gov):
    last = await post(gov, "/compounds/batch", {"compounds": roster("A1-C1", 3, 0, 3)})
    compound_id = last["id"]
    plans = alert_plan(7, 24)
    for p in plans:
        t = p["raised"]
        alert = await post(
            gov,
            "/alerts",
            {"compound_id": compound_id, "type": p["type"], "level": p["level"], "at": t.isoformat()},
        )
        p["id"] = alert["id"]
        if p["fate"] == "open":
            continue
        base = f"/alerts/{alert['id']}"
        await post(gov, f"{base}/acknowledgement", {"at": (t + timedelta(minutes=p["ack"])).isoformat()})
        if p["fate"] == "acknowledged":
            continue
        if p["fate"] == "false_alarm":
            await post(gov, f"{base}/false-alarm", {"at": (t + timedelta(minutes=p["ack"] + 1)).isoformat()})
            continue
        await post(
            gov,
            f"{base}/dispatch",
            {
                "assignee_kind": "property_company",
                "assignee": "仁和物业",
                "at": (t + timedelta(minutes=p["ack"] + 1)).isoformat(),
            },
        )
        await post(gov, f"{base}/resolution", {"at": (t + timedelta(minutes=p["resolve"])).isoformat()})
    await settle(gov)
    as_of = NOW
    m = (await get(gov, "/compounds/metrics", as_of=as_of.isoformat()))["alerts"]
    acked = [p for p in plans if p["fate"] != "open"]
    resolved = [p for p in plans if p["fate"] == "resolved"]
    ack_breach = [p for p in plans if p["fate"] == "open" or p["ack"] > p["ack_limit"]]
    resolve_breach = [
        p
        for p in plans
        if p["fate"] in ("open", "acknowledged")
        or (p["fate"] == "resolved" and p["resolve"] > p["resolve_limit"])
    ]
    assert m["raised"] == 24 and m["resolved"] == len(resolved)
    assert m["open"] == sum(p["fate"] in ("open", "acknowledged") for p in plans)
    assert m["false_alarms"] == sum(p["fate"] == "false_alarm" for p in plans)
    assert m["by_level"] == {
        lv: sum(p["level"] == lv for p in plans) for lv in sorted({p["level"] for p in plans})
    }
    assert m["by_type"] == {t: sum(p["type"] == t for p in plans) for t in sorted({p["type"] for p in plans})}
    assert m["mean_time_to_acknowledge_seconds"] == round(sum(p["ack"] * 60 for p in acked) / len(acked), 1)
    assert m["mean_time_to_resolve_seconds"] == round(
        sum(p["resolve"] * 60 for p in resolved) / len(resolved), 1
    )
    assert m["acknowledge_breaches"] == len(ack_breach)
    assert m["resolve_breaches"] == len(resolve_breach)
    assert m["alerts_with_breach"] == len({id(p) for p in ack_breach + resolve_breach})
    # an open alert breaches only once its clock has run out
    open_one = next(p for p in plans if p["fate"] == "open")
    before = await get(
        gov, f"/alerts/{open_one['id']}", as_of=(open_one["raised"] + timedelta(minutes=1)).isoformat()
    )
    assert before["breaches"] == [] and before["state"] == "raised"
    later = await get(gov, f"/alerts/{open_one['id']}")
    assert later["breaches"] == ["acknowledge", "resolve"]
    period = (await get(gov, "/compounds/metrics", **{"from": "2024-11-05", "to": "2024-11-05"}))["alerts"]
    assert period["raised"] == sum(
        (p["raised"] + timedelta(hours=8)).date() == date(2024, 11, 5) for p in plans
    )
    listed = await get(gov, "/alerts", state="false_alarm", limit=500)
    assert len(listed["items"]) == m["false_alarms"]
    await assert_rebuild_equals_live(gov, gov.settings.var_dir)


async def test_alert_clock_runs_on_the_service_clock_and_refusals_append_nothing(gov):
    clock = gov.clock
    clock.set(T0)
    last = await post(gov, "/compounds/batch", {"compounds": roster("A1-C1", 2, 0, 1)})
    compounds = (await get(gov, "/compounds", token_=last["consistency_token"]))["items"]
    connected = next(c for c in compounds if c["monitoring_connected"])
    idle = next(c for c in compounds if not c["monitoring_connected"])
    await assert_refused(
        gov,
        "/alerts",
        {"compound_id": idle["id"], "type": "smoke", "level": "critical"},
        gov.admin,
        422,
        "not_connected",
    )
    alert = await post(gov, "/alerts", {"compound_id": connected["id"], "type": "smoke", "level": "critical"})
    clock.advance(minutes=6)
    base = f"/alerts/{alert['id']}"
    await assert_refused(gov, f"{base}/resolution", {}, gov.admin, 409, "invalid_transition")
    await assert_refused(
        gov,
        f"{base}/dispatch",
        {"assignee_kind": "grid_worker", "assignee": "x"},
        gov.admin,
        409,
        "invalid_transition",
    )
    await assert_refused(gov, f"{base}/false-alarm", {}, gov.admin, 409, "invalid_transition")
    acked = await post(gov, f"{base}/acknowledgement", {})
    view = await get(gov, base, token_=acked["consistency_token"])
    assert view["acknowledged_on_time"] is False and view["breaches"] == ["acknowledge"]
    assert view["acknowledge_due"] == "2024-11-04T01:05:00Z"
    await assert_refused(gov, f"{base}/acknowledgement", {}, gov.admin, 409, "invalid_transition")
    await assert_refused(gov, f"{base}/resolution", {}, gov.admin, 409, "invalid_transition")
    await post(gov, f"{base}/false-alarm", {"note": "炊烟"})
    for path, body in (
        (f"{base}/acknowledgement", {}),
        (f"{base}/resolution", {}),
        (f"{base}/false-alarm", {}),
        (f"{base}/dispatch", {"assignee_kind": "grid_worker", "assignee": "x"}),
    ):
        await assert_refused(gov, path, body, gov.admin, 409, "invalid_transition")


async def test_operator_isolation_on_compounds_and_alerts(gov):
    await post(gov, "/compounds/batch", {"compounds": roster("A1-C1", 2, 1, 2)})
    last = await post(gov, "/compounds/batch", {"compounds": roster("B2-C1", 2, 1, 2)})
    b_compound = last["id"]
    b_alert = await post(gov, "/alerts", {"compound_id": b_compound, "type": "smoke", "level": "minor"})
    await settle(gov)
    op = token(gov.settings, "township_operator", township="A1")
    await get(gov, f"/compounds/{b_compound}", headers=op, expect=404)
    await get(gov, f"/alerts/{b_alert['id']}", headers=op, expect=404)
    await get(gov, "/alerts", headers=op, expect=403, township_id="B2")
    await get(gov, "/alerts", headers=op, expect=404, compound_id=b_compound)
    await get(gov, "/compounds/metrics", headers=op, expect=403, township_id="B2")
    await get(gov, "/compounds/metrics", headers=op, expect=404, community_id="B2-C1")
    mine = await get(gov, "/compounds/metrics", headers=op)
    assert mine["compounds"] == 2 and [t["township_id"] for t in mine["by_township"]] == ["A1"]
    assert (await get(gov, "/alerts", headers=op))["items"] == []
    for path, body in (
        ("/service-station/opening", {}),
        ("/service-station/closing", {"reason": "x"}),
        ("/monitoring/connection", {"devices": 1}),
        ("/monitoring/disconnection", {"reason": "x"}),
    ):
        await assert_refused(gov, f"/compounds/{b_compound}{path}", body, op, 404)
    await assert_refused(
        gov, "/alerts", {"compound_id": b_compound, "type": "smoke", "level": "minor"}, op, 403
    )
    await assert_refused(gov, "/compounds/batch", {"compounds": roster("B2-C1", 1, 0, 0)}, op, 403)
    for path, body in (
        ("/acknowledgement", {}),
        ("/dispatch", {"assignee_kind": "grid_worker", "assignee": "x"}),
        ("/resolution", {}),
        ("/false-alarm", {}),
    ):
        await assert_refused(gov, f"/alerts/{b_alert['id']}{path}", body, op, 404)
    await post(gov, "/compounds/batch", {"compounds": roster("A1-C1", 1, 0, 1)}, headers=op)
