"""Operating the embedded platform while it serves: projections status and rebuild (swapped in
under load, queries never failing), dead letters (parked, held, replayed once after a fix,
discarded), store verification — through the functions and through the `zugong` command."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import date
from unittest import mock

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from gateway.readmodels.personnel import PersonnelProjection
from services.kernel.eventstore import events_table
from services.kernel.subscription import dead_letters_table, is_replay
from tests.e2e.helpers import cadre_body, unit_body
from zugong.ops import dlq
from zugong.ops.common import OperationError, open_read_engine, projections
from zugong.ops.rebuild import StoreFeed, rebuild, rebuild_projection
from zugong.ops.status import projection_status
from zugong.ops.verify import verify_stores
from zugong.runtime import PROJECTIONS

pytestmark = pytest.mark.e2e


async def register(platform, name="怀仁市委组织部", administrative=50, institution=50) -> str:
    response = await platform.post("/api/v1/personnel/units", json=unit_body(
        name=name, administrative=administrative, institution=institution), headers=platform.admin)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def recruit(platform, unit_id: str, n: int, name: str | None = None) -> dict:
    body = cadre_body(unit_id, name=name or f"干部{n}", sequence=n,
                      birth=date(1980 + n % 20, 1 + n % 12, 1 + n % 28))
    response = await platform.post("/api/v1/personnel/cadres", json=body, headers=platform.admin)
    assert response.status_code == 201, response.text
    return response.json()


async def caught_up(platform, seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        statuses = await projection_status(platform.settings)
        if all(s.lag == 0 for s in statuses):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"projections did not catch up: {statuses}")


async def assert_equals_fresh_rebuild(settings) -> None:
    reports = await rebuild(settings, swap=False)
    for report in reports:
        assert not report.problems, report.problems
        assert report.differences == {}, (report.projection, report.differences)


async def cadre_count(platform, unit_id: str) -> int:
    response = await platform.get(f"/api/v1/units/{unit_id}", headers=platform.admin)
    assert response.status_code == 200, response.text
    return response.json()["occupied"]["administrative"]


def cli(settings, *args: str) -> tuple[int, str]:
    from zugong.runtime import SERVICES

    env = {"ZUGONG_VAR_DIR": str(settings.var_dir),
           "ZUGONG_DATABASE__READMODEL_URL": settings.database.readmodel_url,
           "ZUGONG_LOG_JSON": "false", "COLUMNS": "200"}
    env.update({f"ZUGONG_DATABASE__{name.upper()}_URL": settings.database.store_url(name)
                for name in SERVICES})
    from zugong.cli import app

    # the command configures logging for its own process; here that would bind the test
    # process's loggers to the runner's captured (then closed) stderr
    with mock.patch("services.kernel.logging.configure_logging"):
        result = CliRunner().invoke(app, list(args), env={**os.environ, **env})
    return result.exit_code, result.stdout


# --- status ------------------------------------------------------------------------------------


async def test_status_shows_positions_heads_lag_and_dead_letters(platform):
    unit_id = await register(platform)
    for n in range(3):
        await recruit(platform, unit_id, n)
    await caught_up(platform)
    head = await platform.app.state.context.stores["personnel"].head_position()

    [status] = [s for s in await projection_status(platform.settings) if s.name == "personnel"]
    [source] = [s for s in status.sources if s.source == "store:personnel"]
    assert (source.position, source.head, source.lag) == (head, head, 0)
    assert source.updated_at is not None and status.parked == 0

    code, output = await asyncio.to_thread(cli, platform.settings, "projections", "status", "--json")
    assert code == 0, output
    listed = {p["name"]: p for p in json.loads(output)}
    assert set(listed) == {p.name for p in PROJECTIONS}
    assert listed["personnel"]["lag"] == 0
    [source] = [s for s in listed["personnel"]["sources"] if s["source"] == "store:personnel"]
    assert source["head"] == head and source["lag"] == 0

    code, output = await asyncio.to_thread(cli, platform.settings, "projections", "status")
    assert code == 0 and "store:personnel" in output and "personnel" in output


# --- rebuild -----------------------------------------------------------------------------------


async def test_rebuild_swaps_in_under_load_without_failing_a_query(platform, monkeypatch):
    original = PersonnelProjection.apply
    live_may_go = asyncio.Event()
    live_may_go.set()

    async def held_when_live(self, conn, event):
        if not is_replay():
            await live_may_go.wait()
        await original(self, conn, event)

    monkeypatch.setattr(PersonnelProjection, "apply", held_when_live)
    units = [await register(platform, name=f"单位{i}") for i in range(4)]
    recruited = {u: 0 for u in units}
    for n in range(40):
        await recruit(platform, units[n % 4], n)
        recruited[units[n % 4]] += 1
    await caught_up(platform)

    stop = asyncio.Event()
    failures: list[str] = []
    queries = 0

    async def write() -> None:
        n = 1000
        # paced: the 4 units have 160 free administrative slots between them, and commands are
        # fast enough to fill them before the rebuild is done
        while not stop.is_set() and n < 1150:
            await recruit(platform, units[n % 4], n)
            recruited[units[n % 4]] += 1
            n += 1
            await asyncio.sleep(0.02)

    async def read() -> None:
        nonlocal queries
        while not stop.is_set():
            for path in (f"/api/v1/units/{units[0]}", "/api/v1/cadres?limit=5"):
                response = await platform.get(path, headers=platform.admin)
                queries += 1
                if response.status_code != 200:
                    failures.append(f"{path}: {response.status_code} {response.text[:200]}")
            await asyncio.sleep(0)

    progress: list[tuple[int, int | None]] = []
    live_may_go.clear()  # the live projector falls behind, in the middle of a batch
    load = [asyncio.create_task(write()), asyncio.create_task(read())]
    try:
        await asyncio.sleep(0.2)
        [report] = await rebuild(platform.settings, ["personnel"],
                                 progress=lambda _name, done, total: progress.append((done, total)),
                                 batch_size=25)
        await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.gather(*load)
        if not locals().get("report"):
            live_may_go.set()
    assert report.swapped, report.problems
    assert not report.problems and report.dead_letters == 0
    assert any("streams at the source's head versions" in c for c in report.checks)
    assert report.events >= 44 and report.rows["rm_units"] == 4
    assert progress[0][0] == 0 and progress[-1][0] == report.events
    assert failures == [] and queries > 10
    [status] = [s for s in await projection_status(platform.settings) if s.name == "personnel"]
    assert status.lag > 0  # the live projector is behind the rebuilt copy: swap mid-stream
    live_may_go.set()

    await caught_up(platform)
    for unit_id, count in recruited.items():
        assert await cadre_count(platform, unit_id) == count
    listed = await platform.get("/api/v1/cadres?limit=500", headers=platform.admin)
    assert len(listed.json()["items"]) == sum(recruited.values())
    assert not (platform.settings.var_dir / "readmodel.db.rebuild-personnel").exists()
    await assert_equals_fresh_rebuild(platform.settings)
    await assert_indexes_named_as_declared(platform.settings, PersonnelProjection().metadata)


async def assert_indexes_named_as_declared(settings, metadata: sa.MetaData) -> None:
    """The swap recreates every index under its declared name (not once more under another)."""
    declared = {str(sa.schema.CreateIndex(index).compile(dialect=sa.dialects.sqlite.dialect()))
                .split()[2] for table in metadata.sorted_tables for index in table.indexes}
    tables = [table.name for table in metadata.sorted_tables]
    async with open_read_engine(settings) as engine, engine.connect() as conn:
        live = {name for (name,) in await conn.execute(sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({', '.join(repr(t) for t in tables)})"))}
    assert live == declared


async def test_a_live_projector_ahead_of_the_rebuild_makes_it_catch_up_before_the_swap(
        platform):
    units = [await register(platform, name=f"单位{i}") for i in range(2)]
    for n in range(6):
        await recruit(platform, units[n % 2], n)
    await caught_up(platform)
    async with open_read_engine(platform.settings) as live:
        feed = StoreFeed(platform.app.state.context.stores)
        original = feed.catch_up
        calls = 0

        async def more_events_meanwhile(runner, advance):
            nonlocal calls
            calls += 1
            total = await original(runner, advance)
            if calls == 1:
                for n in range(10, 14):
                    await recruit(platform, units[0], n)
                await caught_up(platform)
            return total

        feed.catch_up = more_events_meanwhile
        [projection] = projections(["personnel"])
        report = await rebuild_projection(platform.settings, projection, live, feed)
    assert report.swapped and report.caught_up_under_lock and calls == 2
    await caught_up(platform)
    assert await cadre_count(platform, units[0]) == 7
    await assert_equals_fresh_rebuild(platform.settings)


async def test_rebuild_that_parks_events_swaps_nothing_unless_allowed(platform, monkeypatch):
    unit_id = await register(platform)
    for n in range(3):
        await recruit(platform, unit_id, n)
    await caught_up(platform)
    original = PersonnelProjection.apply

    async def rejects_cadre_1(self, conn, event):
        if event.data.get("name") == "干部1":
            raise ValueError("a bug in the new projection code")
        await original(self, conn, event)

    monkeypatch.setattr(PersonnelProjection, "apply", rejects_cadre_1)
    [report] = await rebuild(platform.settings, ["personnel"])
    assert not report.swapped and report.dead_letters == 1
    assert "pass --allow-dead-letters" in report.problems[-1]
    listed = await platform.get("/api/v1/cadres", headers=platform.admin)
    assert len(listed.json()["items"]) == 3  # the live read model is untouched
    assert await dlq.list_dead_letters(platform.settings) == []

    [report] = await rebuild(platform.settings, ["personnel"], allow_dead_letters=True)
    assert report.swapped
    listed = await platform.get("/api/v1/cadres", headers=platform.admin)
    assert len(listed.json()["items"]) == 2
    [letter] = await dlq.list_dead_letters(platform.settings)
    assert letter.type.endswith("cadre_recruited.v1")

    monkeypatch.setattr(PersonnelProjection, "apply", original)  # the fix
    assert (await dlq.replay(platform.settings, letter.id)).replayed == [letter.id]
    listed = await platform.get("/api/v1/cadres", headers=platform.admin)
    assert len(listed.json()["items"]) == 3
    await assert_equals_fresh_rebuild(platform.settings)


async def test_replay_fires_no_side_effects_and_verifies_against_the_store(platform):
    unit_id = await register(platform)
    for n in range(5):
        await recruit(platform, unit_id, n)
    await caught_up(platform)

    class Notifying(PersonnelProjection):
        def __init__(self) -> None:
            self.sent: list[str] = []

        async def apply(self, conn, event):
            await super().apply(conn, event)
            if not is_replay():
                self.sent.append(event.id)

    projection = Notifying()
    async with open_read_engine(platform.settings) as live:
        stores = platform.app.state.context.stores
        report = await rebuild_projection(platform.settings, projection, live, StoreFeed(stores),
                                          swap=False)
        assert projection.sent == []
        assert report.events == await stores["personnel"].head_position()
        assert report.differences == {} and not report.problems

        # a stream whose version went missing in the rebuilt copy fails verification
        class Forgetful(PersonnelProjection):
            pass

        feed = StoreFeed(stores)
        original = feed.catch_up

        async def lose_a_version(runner, advance):
            total = await original(runner, advance)
            async with runner.engine.begin() as conn:
                await conn.execute(sa.text(
                    "UPDATE projection_streams SET version = version - 1 WHERE rowid = 1"))
            return total

        feed.catch_up = lose_a_version
        report = await rebuild_projection(platform.settings, Forgetful(), live, feed)
        assert not report.swapped
        assert any("1 streams differ from the source" in p for p in report.problems)


async def test_rebuild_command_prints_progress_and_the_verdict(platform):
    unit_id = await register(platform)
    await recruit(platform, unit_id, 1)
    await caught_up(platform)
    code, output = await asyncio.to_thread(cli, platform.settings, "projections", "rebuild",
                                           "--dry-run")
    assert code == 0, output
    assert "identical to the live read model" in output
    code, output = await asyncio.to_thread(cli, platform.settings, "projections", "rebuild",
                                           "personnel")
    assert code == 0, output
    assert "swapped in" in output
    code, output = await asyncio.to_thread(cli, platform.settings, "projections", "rebuild",
                                           "nosuch")
    assert code == 1


# --- dead letters ------------------------------------------------------------------------------


async def test_poison_is_parked_with_its_stream_held_and_replayed_once_after_a_fix(
        platform, monkeypatch):
    units = [await register(platform, name=f"单位{i}") for i in range(2)]
    original = PersonnelProjection.apply

    async def rejects_unit_0(self, conn, event):
        if event.data.get("unit_id") == units[0] and event.type.endswith("slot_occupied.v1"):
            raise ValueError("slot category unknown to this projection")
        await original(self, conn, event)

    monkeypatch.setattr(PersonnelProjection, "apply", rejects_unit_0)
    for n in range(6):
        await recruit(platform, units[n % 2], n)
    await caught_up(platform)

    parked = await dlq.list_dead_letters(platform.settings)
    assert [p.stream_id for p in parked] == [f"unit-{units[0]}"] * 3
    assert parked[0].reason.startswith("ValueError: slot category unknown")
    assert all(p.reason.startswith("held: an earlier event") for p in parked[1:])
    assert await cadre_count(platform, units[1]) == 3  # the partition keeps flowing
    assert await cadre_count(platform, units[0]) == 0
    [status] = [s for s in await projection_status(platform.settings) if s.name == "personnel"]
    assert status.parked == 3 and status.lag == 0

    with pytest.raises(OperationError, match="replay it first"):
        await dlq.replay(platform.settings, parked[1].id)
    with pytest.raises(OperationError, match="still rejected"):
        await dlq.replay(platform.settings, parked[0].id)
    assert await cadre_count(platform, units[0]) == 0  # nothing half-applied
    still = await dlq.show(platform.settings, parked[0].id)
    assert still.status == "parked" and "replay failed at" in still.reason

    monkeypatch.setattr(PersonnelProjection, "apply", original)  # the fix is deployed
    code, output = await asyncio.to_thread(cli, platform.settings, "dlq", "replay",
                                           str(parked[0].id))
    assert code == 0, output
    assert await cadre_count(platform, units[0]) == 3
    with pytest.raises(OperationError, match="is replayed, not parked"):
        await dlq.replay(platform.settings, parked[0].id)
    assert await cadre_count(platform, units[0]) == 3  # applied once
    assert await dlq.list_dead_letters(platform.settings) == []
    assert len(await dlq.list_dead_letters(platform.settings, status="replayed")) == 3

    # the stream is not held any more
    await recruit(platform, units[0], 100)
    await caught_up(platform)
    assert await cadre_count(platform, units[0]) == 4
    await assert_equals_fresh_rebuild(platform.settings)


async def test_discard_and_the_list_command(platform, monkeypatch):
    unit_id = await register(platform)
    original = PersonnelProjection.apply

    async def rejects_cadres(self, conn, event):
        if event.type.endswith("cadre_recruited.v1"):
            raise ValueError("no")
        await original(self, conn, event)

    monkeypatch.setattr(PersonnelProjection, "apply", rejects_cadres)
    accepted = await recruit(platform, unit_id, 1)
    await caught_up(platform)
    code, output = await asyncio.to_thread(cli, platform.settings, "dlq", "list", "--json")
    assert code == 0, output
    [letter] = json.loads(output)
    assert letter["stream_id"] == f"cadre-{accepted['id']}" and letter["status"] == "parked"
    code, output = await asyncio.to_thread(cli, platform.settings, "dlq", "list")
    assert code == 0 and "cadre_recruited" in output

    code, output = await asyncio.to_thread(cli, platform.settings, "dlq", "discard",
                                           str(letter["id"]))
    assert code == 0, output
    assert (await dlq.show(platform.settings, letter["id"])).status == "discarded"
    code, output = await asyncio.to_thread(cli, platform.settings, "dlq", "replay",
                                           str(letter["id"]))
    assert code == 1
    with pytest.raises(OperationError, match="no dead letter"):
        await dlq.discard(platform.settings, 999)


# --- store verify ------------------------------------------------------------------------------


async def test_store_verify_passes_then_catches_a_hole(platform):
    unit_id = await register(platform)
    for n in range(4):
        await recruit(platform, unit_id, n)
    [report] = await verify_stores(platform.settings, "personnel")
    assert report.ok, report.checks
    assert {c.name: c.status for c in report.checks} == {
        "positions": "ok", "streams": "ok", "topics": "skip"}
    code, output = await asyncio.to_thread(cli, platform.settings, "store", "verify")
    assert code == 0, output

    store = platform.app.state.context.stores["personnel"]
    async with store.engine.begin() as conn:  # lose an event in the middle of a stream
        await conn.execute(events_table.delete().where(events_table.c.position == 3))
    [report] = [r for r in await verify_stores(platform.settings) if r.service == "personnel"]
    checks = {c.name: c for c in report.checks}
    assert not report.ok
    assert checks["positions"].status == "fail" and "3..3" in checks["positions"].detail
    assert checks["streams"].status == "fail"
    code, output = await asyncio.to_thread(cli, platform.settings, "store", "verify", "--json")
    assert code == 1 and json.loads(output)[0]["ok"] is False
    with pytest.raises(OperationError, match="unknown service"):
        await verify_stores(platform.settings, "nosuch")


async def test_every_projection_and_its_dead_letters_are_covered():
    assert [p.name for p in projections()] == [p.name for p in PROJECTIONS]
    assert dead_letters_table.c.status.type.length >= len("superseded")
    with pytest.raises(OperationError, match="unknown projection"):
        projections(["nosuch"])


# --- request context -----------------------------------------------------------------------------


async def test_requests_carry_a_correlation_id_and_are_timed_by_route_and_status(platform):
    given = await platform.get("/api/v1/units/nosuch", headers={
        **platform.admin, "X-Correlation-Id": "corr-123"})
    assert given.status_code == 404 and given.headers["x-correlation-id"] == "corr-123"
    fresh = await platform.get("/healthz")
    assert len(fresh.headers["x-correlation-id"]) == 36
    unit_id = await register(platform)  # forwarded in-process: the service is timed too

    metrics = platform.app.state.metrics.registry
    count = "zugong_http_request_duration_seconds_count"
    assert metrics.get_sample_value(count, {"app": "gateway", "method": "GET", "status": "404",
                                            "route": "/api/v1/units/{unit_id}"}) == 1
    assert metrics.get_sample_value(count, {"app": "personnel", "method": "POST", "status": "201",
                                            "route": "/api/v1/personnel/units"}) == 1
    assert unit_id


async def test_a_rebuild_can_create_the_read_model_from_nothing(platform, tmp_path):
    unit_id = await register(platform)
    await recruit(platform, unit_id, 1)
    fresh = platform.settings.model_copy(update={"database": platform.settings.database.model_copy(
        update={"readmodel_url": f"sqlite+aiosqlite:///{tmp_path}/never-ran.db"})})
    [report] = await rebuild(fresh, ["personnel"])
    assert report.swapped, report.problems
    assert report.rows["rm_cadres"] == 1 and report.rows["rm_units"] == 1
    [status] = [s for s in await projection_status(fresh) if s.name == "personnel"]
    assert status.lag == 0


async def test_projections_replayed_by_two_processes_equal_one_replay_and_swap_in(platform):
    unit_id = await register(platform)
    for n in range(4):
        await recruit(platform, unit_id, n)
    await caught_up(platform)
    for processes in (1, 2):
        reports = await rebuild(platform.settings, swap=False, processes=processes)
        for report in reports:
            assert not report.problems, (processes, report.projection, report.problems)
            assert report.differences == {}, (processes, report.projection, report.differences)
            assert report.events == await platform.app.state.context.stores[
                "personnel"].head_position()
    seen: list[tuple[str, int]] = []
    reports = await rebuild(platform.settings, ["personnel", "audit"], processes=2,
                            progress=lambda name, done, total: seen.append((name, done)))
    assert all(r.swapped for r in reports), [r.problems for r in reports]
    assert {name for name, _ in seen} == {"personnel", "audit"}  # the worker's progress too
    assert ("audit", reports[1].events) in seen
    listed = await platform.get("/api/v1/cadres", headers=platform.admin)
    assert len(listed.json()["items"]) == 4
    await assert_equals_fresh_rebuild(platform.settings)


@pytest.mark.parametrize("method", ["apply_batch", "sqlite_rows_from_store"])
async def test_a_replay_process_that_dies_fails_the_rebuild_and_swaps_nothing(platform,
                                                                             monkeypatch, method):
    from gateway.readmodels.audit import AuditProjection

    unit_id = await register(platform)
    await recruit(platform, unit_id, 1)
    await caught_up(platform)

    def dies(self, *args):
        os._exit(3)  # in the forked process that replays the audit log

    # apply_batch replaced: the audit log is replayed through its runner; otherwise from the
    # store's rows (sqlite_rows_from_store)
    monkeypatch.setattr(AuditProjection, method, dies)
    with pytest.raises(OperationError, match=r"audit ended \(exit code 3\) without a result"):
        await rebuild(platform.settings, ["personnel", "audit"], processes=2)
    assert not list(platform.settings.var_dir.glob("*.rebuild-*"))  # shadows discarded
    listed = await platform.get("/api/v1/cadres", headers=platform.admin)
    assert len(listed.json()["items"]) == 1


async def test_audit_rows_the_replay_cannot_make_from_store_rows_go_through_its_runner(
        platform, monkeypatch, tmp_path):
    from gateway.readmodels.audit import AuditProjection

    unit_id = await register(platform)
    for n in range(3):
        await recruit(platform, unit_id, n)
    await caught_up(platform)
    made = AuditProjection.sqlite_rows_from_store
    calls = tmp_path / "calls"  # written by the forked process that replays the audit log

    def fails_once(self, rows, service):
        with calls.open("a") as file:
            file.write(f"{len(rows)}\n")
        if len(calls.read_text().split()) == 2:
            raise ValueError("a payload it cannot read")
        return made(self, rows, service)

    monkeypatch.setattr(AuditProjection, "sqlite_rows_from_store", fails_once)
    events = await platform.app.state.context.stores["personnel"].head_position()
    reports = await rebuild(platform.settings, ["personnel", "audit"], swap=False, processes=2,
                            batch_size=2)
    for report in reports:
        assert not report.problems and report.differences == {}, report
    assert calls.read_text().split() == ["2"] * (events // 2) + ["1"] * (events % 2)
    assert reports[1].rows["rm_audit_events"] == events and reports[1].dead_letters == 0
