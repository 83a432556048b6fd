"""The audit log's rows made straight from store rows (the rebuild's replay) hold the text that
``apply_batch`` stores for the envelopes of the same rows (the live projection)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from sqlalchemy.dialects import sqlite

from gateway.readmodels.audit import AuditProjection, audit_events
from services.kernel.db import create_engine
from services.kernel.eventstore import _SELECT_EVENTS, _sqlite_envelope

SEALED = {"kind": "national_id", "masked": "1406**********001X", "digest": "ab" * 32,
          "ciphertext": "gAAAAABrCJuP"}
PAYLOADS = [
    {"unit_id": "u1", "name": "怀仁市委组织部", "effective_on": "2024-06-01"},
    {"cadre_id": "c1", "national_id": SEALED, "phones": [SEALED, "x", {"deep": SEALED}]},
    {"township_id": "t-7", "household": {"township_id": 3}, "count": 12},
    {"township_id": 7, "note": None, "ratio": 0.1, "tiny": 1e-07, "huge": 1e22, "big": 2**70},
    {"emoji": "😀 干部", "quote": 'a "b" \\ c', "controls": "\t\n", "empty": {}, "list": []},
    {"ciphertext": "only this key: not a sealed value", "township_id": "t-1"},
    {},
]
# (stream, version, effective_on, recorded_at) as a store may hold them; the last two are
# not what this store writes, but are read as the envelope reads them
SHAPES = [
    ("unit-u1", 1, "2024-06-01", "2024-06-01 08:00:00.000001"),
    ("cadre-c1", 1, None, "2024-12-31 23:59:59.999999"),
    ("complaint-a/b", 1, "", "2025-01-01 00:00:00.000000"),
    ("x-y", 3, "20240229", "2024-02-29 12:00:00"),
]


def store_rows() -> list[tuple]:
    rows, position = [], 0
    for shape_index, (stream, version, effective_on, recorded_at) in enumerate(SHAPES):
        for n, payload in enumerate(PAYLOADS):
            position += 1
            stream_type = stream.split("-")[0] if shape_index != 2 else "complaint"
            rows.append((position, f"{stream}{n}", stream_type, version + n, f"id-{position}",
                         f"zugong.test.thing_{n}.v1", 1, effective_on, recorded_at, "actor",
                         "correlation", "causation", json.dumps(payload)))
    return rows


async def stored_by_apply_batch(path, rows: list[tuple]) -> list[tuple]:
    engine = create_engine(f"sqlite+aiosqlite:///{path}", inline_sqlite=True)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(audit_events.metadata.create_all)
            await AuditProjection().apply_batch(conn, [_sqlite_envelope(r, "personnel")
                                                       for r in rows])
    finally:
        await engine.dispose()
    return read(path)


def read(path) -> list[tuple]:
    connection = sqlite3.connect(path)
    try:
        columns = ", ".join(AuditProjection.replay_columns)
        return connection.execute(f"SELECT {columns} FROM rm_audit_events ORDER BY seq").fetchall()
    finally:
        connection.close()


async def test_rows_from_store_rows_equal_the_rows_apply_batch_stores(tmp_path) -> None:
    rows = store_rows()
    live = await stored_by_apply_batch(tmp_path / "live.db", rows)
    made = AuditProjection().sqlite_rows_from_store(rows, "personnel")
    assert made == live and len(made) == len(PAYLOADS) * len(SHAPES)
    # and through the statement the rebuild renders, the same stored text
    replayed = tmp_path / "replayed.db"
    engine = create_engine(f"sqlite+aiosqlite:///{replayed}")
    async with engine.begin() as conn:
        await conn.run_sync(audit_events.metadata.create_all)
    await engine.dispose()
    insert = str(sqlite.insert(audit_events).compile(
        dialect=sqlite.dialect(), column_keys=list(AuditProjection.replay_columns)))
    with sqlite3.connect(replayed) as connection:
        connection.executemany(insert, made)
    assert read(replayed) == live
    masked = json.loads(live[len(PAYLOADS) + 1][-1])
    assert masked["national_id"] == SEALED["masked"] and "ciphertext" not in live[1][-1]


async def test_rows_of_a_real_store_equal_what_apply_batch_stores(tmp_path) -> None:
    from benchmarks.data import fill_store
    from services.kernel.eventstore import EventStore

    store = EventStore(create_engine(f"sqlite+aiosqlite:///{tmp_path}/personnel.db"),
                       service="personnel")
    try:
        await fill_store(store, 400, cadres=40, units=5, key="k" * 40)
        rows = await store.read_rows(0, 1000)
    finally:
        await store.engine.dispose()
    assert rows is not None and len(rows) == 400
    live = await stored_by_apply_batch(tmp_path / "live.db", rows)
    assert AuditProjection().sqlite_rows_from_store(rows, "personnel") == live


def test_a_payload_that_is_not_an_object_is_refused_as_apply_refuses_it() -> None:
    row = (*store_rows()[0][:-1], "[1, 2]")
    with pytest.raises(AttributeError):
        AuditProjection().sqlite_rows_from_store([row], "personnel")
    with pytest.raises(AttributeError):
        AuditProjection().sqlite_rows_from_store([(*row[:-1], json.dumps([SEALED]))], "x")


def test_the_store_reads_the_columns_the_rows_are_made_from() -> None:
    assert _SELECT_EVENTS.startswith(
        "SELECT position, stream_id, stream_type, version, event_id, type, schema_version, "
        "effective_on, recorded_at, actor, correlation_id, causation_id, data FROM")


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the parked list payload
async def test_the_audit_replay_from_store_rows_equals_its_replay_through_the_runner(
        tmp_path) -> None:
    """Three stores, two repeating event ids of the first (the first row of an id is kept),
    the last holding an event the projection cannot apply and, in the next batch, a later
    event of its stream (parked behind it), replayed once from rows (``_replay_rows``) and
    once through the runner."""
    import sqlalchemy as sa

    from benchmarks.data import fill_store
    from services.kernel.eventstore import EventStore, events_table
    from services.kernel.metrics import Metrics
    from services.kernel.subscription import (
        SubscriptionRunner,
        dead_letters_table,
        projection_streams_table,
    )
    from zugong.ops.rebuild import SqliteShadow, StoreFeed, _replay, _replay_rows

    stores = {name: EventStore(create_engine(f"sqlite+aiosqlite:///{tmp_path}/{name}.db"),
                               service=name) for name in ("personnel", "other", "third")}
    try:
        await fill_store(stores["personnel"], 300, cadres=30, units=5, key="k" * 40)
        repeated = (await stores["personnel"].read_all(0, 300))[::7]
        for name, events in (("other", repeated), ("third", repeated[:3])):
            await stores[name].create_schema()
            async with stores[name].engine.begin() as conn:
                await conn.execute(events_table.insert(), [
                    {"stream_id": f"thing-{n}", "stream_type": "thing", "version": 1,
                     "event_id": e.event_id, "type": e.type, "schema_version": 1,
                     "effective_on": e.effective_on, "recorded_at": e.recorded_at,
                     "actor": "a", "correlation_id": "c", "causation_id": "c", "data": e.data}
                    for n, e in enumerate(events)])
        async with stores["third"].engine.begin() as conn:
            await conn.execute(events_table.insert(), [  # rows 4 and 5: batches of 4
                {"stream_id": "thing-poison", "stream_type": "thing", "version": version,
                 "event_id": f"poison-{version}", "type": "zugong.test.thing.v1",
                 "schema_version": 1, "effective_on": None, "recorded_at": repeated[0].recorded_at,
                 "actor": "a", "correlation_id": "c", "causation_id": "c", "data": data}
                for version, data in ((1, [1, 2]), (2, {"fine": True}))])
        tables = []
        for by_rows in (True, False):
            engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/live-{by_rows}.db")
            shadow = SqliteShadow(engine, AuditProjection())
            await shadow.prepare()
            runner = SubscriptionRunner(shadow.projection, shadow.engine, Metrics())
            await runner.create_schema()
            await shadow.defer_indexes()
            feed = StoreFeed(stores, batch_size=4)
            feed.tracker.watch([shadow.projection])
            until = await feed.heads()
            if by_rows:
                await _replay_rows(runner, shadow, feed, until, lambda *_: None)
            else:
                await _replay([runner], feed, ["audit"], None, until)
            async with shadow.engine.connect() as conn:
                columns = [c for c in audit_events.columns if c.name != "seq"]
                tables.append((
                    sorted((await conn.execute(sa.select(*columns))).all()),
                    sorted((await conn.execute(sa.select(projection_streams_table))).all()),
                    sorted((await conn.execute(sa.select(
                        dead_letters_table.c.event_id, dead_letters_table.c.status,
                        dead_letters_table.c.reason))).all()),
                    feed.events, feed.tracker.handled))
            await shadow.discard()
            await engine.dispose()
        assert tables[0] == tables[1]
        assert len(tables[0][0]) == 300 and tables[0][3] == 300 + len(repeated) + 3 + 2
        assert [letter[:2] for letter in tables[0][2]] == [("poison-1", "parked"),
                                                           ("poison-2", "parked")]
    finally:
        for store in stores.values():
            await store.engine.dispose()
