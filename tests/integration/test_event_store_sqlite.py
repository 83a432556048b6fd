"""The SQLite adapter of the event store: its own ``sqlite3`` connection in the event loop's
thread for the hot path, the SQLAlchemy engine for everyone else. (The abstract suite in
test_event_store.py covers the port's guarantees on this adapter too.)"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from contracts.personnel import Establishment, EstablishmentAdjusted, UnitRegistered
from services.kernel.db import create_engine
from services.kernel.eventstore import (
    CommandMetadata,
    EventStore,
    StreamWrite,
    _row_to_event,
    events_table,
)
from services.kernel.relay import relay_checkpoint_table

ESTABLISHMENT = Establishment(administrative=3, institution=2)


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[EventStore]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'events.db'}")
    event_store = EventStore(engine, service="personnel", busy_timeout=5)
    await event_store.create_schema()
    try:
        yield event_store
    finally:
        await engine.dispose()


def unit_write(unit_id: str, expected: int = 0, **extra) -> StreamWrite:
    return StreamWrite(f"unit-{unit_id}", "unit", expected, [UnitRegistered(
        unit_id=unit_id, name="县委组织部", kind="township", establishment=ESTABLISHMENT,
        **extra)])


def meta(**extra) -> CommandMetadata:
    return CommandMetadata(actor="tester", correlation_id="c", causation_id="c", **extra)


async def test_a_file_store_appends_on_its_own_sqlite3_connection(store: EventStore) -> None:
    assert store._file is not None
    await store.append([unit_write("a")], meta())
    assert isinstance(store._file._connection, sqlite3.Connection)


async def test_an_in_memory_store_falls_back_to_the_engine() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    memory = EventStore(engine, service="personnel")
    try:
        assert memory._file is None
        await memory.create_schema()
        await memory.append([unit_write("m")], meta())
        assert [e.stream_id for e in await memory.read_all()] == ["unit-m"]
    finally:
        await engine.dispose()


async def test_rows_written_inline_read_the_same_through_the_engine(store: EventStore) -> None:
    """The relay, `zugong store verify` and rebuilds read the file with SQLAlchemy: dates,
    timestamps and JSON must be stored as SQLAlchemy's SQLite dialect stores them."""
    moment = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)
    clocked = EventStore(store.engine, service="personnel", clock=lambda: moment)
    adjusted = EstablishmentAdjusted(unit_id="b", establishment=ESTABLISHMENT,
                                     previous=ESTABLISHMENT, effective_on=date(2023, 12, 31),
                                     document_number="县编〔2024〕1号")
    result = await clocked.append(
        [StreamWrite("unit-b", "unit", 0, [unit_write("b").events[0], adjusted])], meta())
    async with store.engine.connect() as conn:
        through_engine = [_row_to_event(row) for row in await conn.execute(
            sa.select(events_table).order_by(events_table.c.position))]
    assert through_engine == result.events == await store.read_all()
    assert through_engine[1].effective_on == date(2023, 12, 31)
    assert through_engine[1].data["document_number"] == "县编〔2024〕1号"
    assert through_engine[0].recorded_at == moment


async def test_envelopes_read_inline_equal_the_recorded_events_in_their_envelopes(
        store: EventStore) -> None:
    """Projectors and rebuilds read envelopes built straight from the rows (no RecordedEvent):
    the same as ``to_envelope`` of what ``read_all`` returns, field by field."""
    moment = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC)
    clocked = EventStore(store.engine, service="personnel", clock=lambda: moment)
    adjusted = EstablishmentAdjusted(unit_id="b", establishment=ESTABLISHMENT,
                                     previous=ESTABLISHMENT, effective_on=date(2023, 12, 31),
                                     document_number="县编〔2024〕1号")
    await clocked.append([StreamWrite("unit-b", "unit", 0, [unit_write("b").events[0], adjusted])],
                         meta())
    await clocked.append([unit_write("c")], meta())
    expected = [e.to_envelope("personnel") for e in await store.read_all()]
    envelopes = await store.read_envelopes()
    assert [e.model_dump() for e in envelopes] == [e.model_dump() for e in expected]
    # built without validating again (EventEnvelope.from_store): as the validated ones
    assert [e.model_dump_json() for e in envelopes] == [e.model_dump_json() for e in expected]
    assert [e.model_fields_set for e in envelopes] == [e.model_fields_set for e in expected]
    assert envelopes[1].time == moment and envelopes[1].effectiveon == "2023-12-31"
    assert envelopes[0].effectiveon is None and envelopes[2].subject == "unit/c"
    assert await store.read_envelopes(1, 1) == expected[1:2]
    assert (await store.read_envelopes(0, 1, "other"))[0].source == "/zugong/other"


async def test_events_written_through_the_engine_are_read_inline(store: EventStore) -> None:
    [first] = (await store.append([unit_write("c")], meta())).events
    row = {c.name: getattr(first, c.name) for c in events_table.columns if c.name != "position"}
    row.update(event_id=str(uuid.uuid4()), version=2)
    async with store.engine.begin() as conn:
        await conn.execute(events_table.insert().values(**row))
    assert [e.version for e in await store.read_stream("unit-c")] == [1, 2]
    assert await store.stream_version("unit-c") == 2


async def test_an_append_waits_without_blocking_the_loop_for_another_writer(
        store: EventStore) -> None:
    """Another writer of the file in this process (an aiosqlite transaction, e.g. a consumer
    runner or a relay checkpoint) holds the write lock and needs the loop to commit: the append
    must wait asynchronously, not block the loop inside SQLite (a deadlock)."""
    await store.append([unit_write("d0")], meta())
    async with store.engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(relay_checkpoint_table.insert().values(
            relay="test", position=1, updated_at=datetime.now(UTC)))  # holds the write lock
        append = asyncio.create_task(store.append([unit_write("d1")], meta()))
        ticks = 0
        for _ in range(20):
            await asyncio.sleep(0.005)
            ticks += 1
        assert not append.done() and ticks == 20  # the loop kept turning meanwhile
        await transaction.commit()
    result = await asyncio.wait_for(append, 5)
    assert [e.stream_id for e in result.events] == ["unit-d1"]
    assert [e.stream_id for e in await store.read_all()] == ["unit-d0", "unit-d1"]


async def test_an_append_gives_up_after_the_busy_timeout_and_appends_nothing(tmp_path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}")
    store = EventStore(engine, service="personnel", busy_timeout=0.2)
    await store.create_schema()
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            await conn.execute(relay_checkpoint_table.insert().values(
                relay="test", position=1, updated_at=datetime.now(UTC)))
            started = time.monotonic()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await store.append([unit_write("e")], meta())
            assert time.monotonic() - started >= 0.2
            await transaction.rollback()
        assert await store.head_position() == 0
        await store.append([unit_write("e")], meta())  # and works once the lock is free
        assert await store.head_position() == 1
    finally:
        await engine.dispose()


async def test_disposing_the_engine_closes_the_connection_and_a_later_call_reopens_it(
        store: EventStore) -> None:
    await store.append([unit_write("f")], meta())
    await store.engine.dispose()
    assert store._file._connection is None
    assert await store.stream_version("unit-f") == 1


async def test_a_failed_append_leaves_no_transaction_open(store: EventStore) -> None:
    from services.kernel.errors import ConcurrencyConflict, IdempotencyKeyReused

    await store.append([unit_write("g")], meta(idempotency_key="k", fingerprint="f"),
                       response={"id": "g"})
    with pytest.raises(ConcurrencyConflict):
        await store.append([unit_write("g")], meta())
    with pytest.raises(IdempotencyKeyReused):
        await store.append([unit_write("h")], meta(idempotency_key="k", fingerprint="f"))
    assert not store._file._connection.in_transaction
    assert [e.stream_id for e in await store.read_all()] == ["unit-g"]
    async with store.engine.begin() as conn:  # the file's write lock is free for others
        await conn.execute(relay_checkpoint_table.insert().values(
            relay="test", position=1, updated_at=datetime.now(UTC)))
