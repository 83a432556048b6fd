"""The audit log (who did what, when, on which record; filters; cursor pages; auditors only) and
the live stream (scoped per role and township, masked, resumable with Last-Event-ID)."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta

import sqlalchemy as sa

from services.kernel.subscription import projection_positions_table as positions
from tests.e2e.personnel_helpers import person
from tests.support.governance import token

G = "/api/v1/governance"


async def settle_all(client, projection: str = "audit") -> None:
    ctx = client.app.state.context
    for _ in range(4000):
        behind = False
        async with ctx.read_engine.connect() as conn:
            for service, store in ctx.stores.items():
                done = await conn.scalar(sa.select(positions.c.position).where(
                    positions.c.projection == projection,
                    positions.c.source == f"store:{service}")) or 0
                behind |= done < await store.head_position()
        if not behind:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{projection} projection stuck")


async def _seed(platform) -> dict:
    """Personnel changes by alice, governance changes by bob in townships T1 and T2."""
    s = platform.settings
    alice = token(s, "personnel_officer", subject="alice")
    bob = token(s, "governance_officer", subject="bob")

    async def ok(path, body, headers, **extra):
        response = await platform.post(path, json=body, headers={**headers, **extra})
        assert response.status_code == 201, response.text
        return response.json()

    unit = await ok("/api/v1/personnel/units", {
        "name": "怀仁市委组织部", "kind": "party_government_organ",
        "establishment": {"administrative": 5, "institution": 1}}, alice,
        **{"X-Correlation-Id": "corr-unit"})
    who = person("张伟", date(1984, 2, 3), "male", 21)
    cadre = await ok("/api/v1/personnel/cadres", {
        **who, "category": "civil_servant", "unit_id": unit["id"], "channel": "go_live",
        "effective_on": "2016-05-01", "joined_work_on": "2008-07-01", "rank": "clerk_1",
        "rank_since": "2020-01-01", "posts": []}, alice)
    for code in ("T1", "T2"):
        await ok(f"{G}/townships", {"code": code, "name": f"镇{code}"}, bob)
        for n in (1, 2):
            last = await ok(f"{G}/villages", {"code": f"{code}-V{n}", "township_id": code,
                                              "name": f"村{code}{n}"}, bob)
    return {"unit": unit, "cadre": cadre, "plain_id": who["national_id"], "last": last}


async def test_audit_log_filters_pages_and_is_for_auditors(platform):
    seeded = await _seed(platform)
    auditor = token(platform.settings, "auditor", subject="carol")
    first = await platform.get("/api/v1/audit", headers={
        **auditor, "X-Consistency-Token": seeded["last"]["consistency_token"]})
    assert first.status_code == 200, first.text
    await settle_all(platform)
    everything = (await platform.get("/api/v1/audit", params={"limit": 500},
                                     headers=auditor)).json()["items"]
    assert len(everything) == sum([await s.head_position()
                                   for s in platform.app.state.context.stores.values()])
    assert [e["id"] for e in everything] == sorted((e["id"] for e in everything), reverse=True)
    assert {e["actor"] for e in everything} == {"alice", "bob"}
    assert seeded["plain_id"] not in json.dumps(everything)

    async def audit(**params):
        response = await platform.get("/api/v1/audit", params=params, headers=auditor)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    by_alice = await audit(actor="alice")
    assert by_alice and {e["service"] for e in by_alice} == {"personnel"}
    assert {e["actor"] for e in await audit(service="governance")} == {"bob"}
    unit_stream = next(e["record"]["stream_id"] for e in everything
                       if e["type"].endswith("unit_registered.v1"))
    unit_changes = await audit(record=seeded["unit"]["id"])
    assert unit_changes == await audit(record=unit_stream)
    assert {e["record"]["kind"] for e in unit_changes} == {"unit"}
    assert {e["record"]["id"] for e in unit_changes} == {seeded["unit"]["id"]}
    assert [e["type"] for e in await audit(correlation_id="corr-unit")] == [
        "zugong.personnel.unit_registered.v1"]
    villages = await audit(type="zugong.governance.village_registered.v1", order="asc")
    assert [e["township_id"] for e in villages] == ["T1", "T1", "T2", "T2"]
    today = date.today()
    assert len(await audit(**{"from": today.isoformat(), "to": today.isoformat(),
                              "limit": 500})) == len(everything)
    assert await audit(**{"from": (today + timedelta(days=1)).isoformat()}) == []
    recruited = await audit(period="effective", **{"from": "2016-05-01", "to": "2016-05-01"})
    assert {e["type"] for e in recruited} == {"zugong.personnel.cadre_registered.v1",
                                              "zugong.personnel.establishment_slot_occupied.v1"}

    pages, cursor = [], None
    while True:
        page = (await platform.get("/api/v1/audit", params={"limit": 3, **(
            {"cursor": cursor} if cursor else {})}, headers=auditor)).json()
        pages += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == everything
    bad = await platform.get("/api/v1/audit", params={"cursor": "nonsense"}, headers=auditor)
    assert bad.status_code == 400

    for role in ("viewer", "personnel_officer", "governance_officer"):
        response = await platform.get("/api/v1/audit", headers=token(platform.settings, role))
        assert response.status_code == 403, role
    assert (await platform.get("/api/v1/cadres", headers=auditor)).status_code == 403


def _events(text: str) -> list[dict]:
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines()
                      if ": " in line and not line.startswith(":"))
        if "id" in fields:
            out.append({"id": int(fields["id"]), "event": fields["event"],
                        **json.loads(fields["data"])})
    return out


async def _stream(platform, headers, **params) -> list[dict]:
    response = await asyncio.wait_for(platform.get("/api/v1/stream", params=params,
                                                   headers=headers), 10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return _events(response.text)


async def test_stream_resumes_with_last_event_id(platform):
    await _seed(platform)
    await settle_all(platform)
    admin = platform.admin
    total = len(await _stream(platform, admin, after=0,
                              limit=sum([await s.head_position() for s in
                                         platform.app.state.context.stores.values()])))
    head = await _stream(platform, admin, after=0, limit=3)
    assert [e["id"] for e in head] == sorted(e["id"] for e in head)
    rest = await _stream(platform, {**admin, "Last-Event-ID": str(head[-1]["id"])},
                         limit=total - 3)
    assert len(rest) == total - 3
    assert min(e["id"] for e in rest) > head[-1]["id"]
    assert not {e["event_id"] for e in head} & {e["event_id"] for e in rest}
    # a change made now arrives on a stream opened after the last id seen
    pending = asyncio.create_task(_stream(platform, {**admin, "Last-Event-ID": str(
        rest[-1]["id"])}, limit=1))
    await platform.post(f"{G}/villages", json={"code": "T2-V9", "township_id": "T2",
                                               "name": "新村"}, headers=admin)
    (new,) = await pending
    assert new["type"] == "zugong.governance.village_registered.v1" and new["township_id"] == "T2"
    bad = await platform.get("/api/v1/stream", headers={**admin, "Last-Event-ID": "x"})
    assert bad.status_code == 400


async def test_stream_is_scoped_and_masked(platform):
    seeded = await _seed(platform)
    response = await platform.post(f"{G}/villages", json={
        "code": "T1-V3", "township_id": "T1", "name": "后村"}, headers=platform.admin)
    assert response.status_code == 201
    await settle_all(platform)
    s = platform.settings
    t1 = await _stream(platform, token(s, "township_operator", township="T1"), after=0, limit=4)
    # T1's township and its three villages (the last after all of T2's); nothing of T2, nor of
    # personnel
    assert [e["township_id"] for e in t1] == ["T1"] * 4
    assert t1[-1]["data"]["village_id"] == "T1-V3"
    assert {e["service"] for e in t1} == {"governance"}
    personnel = await _stream(platform, token(s, "personnel_officer"), after=0, limit=3)
    assert {e["service"] for e in personnel} == {"personnel"}
    total = sum([await store.head_position()
                 for store in platform.app.state.context.stores.values()])
    viewer = await _stream(platform, token(s, "viewer"), after=0, limit=total)
    recruited = next(e for e in viewer if e["type"] == "zugong.personnel.cadre_registered.v1")
    assert "*" in recruited["data"]["national_id"]
    assert seeded["plain_id"] not in json.dumps(viewer + personnel)
    assert "ciphertext" not in json.dumps(viewer + personnel)


async def test_audit_log_rebuilt_from_the_stores_equals_the_live_one(platform, tmp_path):
    from gateway.readmodels.audit import AuditProjection, audit_events
    from services.kernel.db import create_engine
    from services.kernel.metrics import Metrics
    from services.kernel.sources import StoreTailSource
    from services.kernel.subscription import SubscriptionRunner

    await _seed(platform)
    await settle_all(platform)
    ctx = platform.app.state.context
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/rebuilt.db")
    runner = SubscriptionRunner(AuditProjection(), engine, Metrics())
    await runner.create_schema()
    for service, store in ctx.stores.items():
        await StoreTailSource(service, store).catch_up(runner)
        await StoreTailSource(service, store).catch_up(runner)  # a replay changes nothing
    # seq is this database's numbering; everything else must match row by row
    columns = [c for c in audit_events.c if c.name != "seq"]
    query = sa.select(*columns).order_by(audit_events.c.event_id)
    try:
        async with ctx.read_engine.connect() as live, engine.connect() as rebuilt:
            live_rows = [tuple(r) for r in await live.execute(query)]
            rebuilt_rows = [tuple(r) for r in await rebuilt.execute(query)]
    finally:
        await engine.dispose()
    assert live_rows == rebuilt_rows and len(live_rows) >= 9
