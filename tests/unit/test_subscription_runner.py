"""SubscriptionRunner: exactly-once in effect, poison events parked, transient errors retried.

The read model is a SQLite file; the projection counts events per stream in its own table.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import EventEnvelope
from contracts.personnel import Establishment, EstablishmentAdjusted, UnitRegistered
from services.kernel.db import create_engine
from services.kernel.eventstore import CommandMetadata, EventStore, StreamWrite
from services.kernel.metrics import Metrics
from services.kernel.sources import StoreTailSource
from services.kernel.subscription import (
    Delivery,
    SubscriptionRunner,
    dead_letters_table,
    projection_positions_table,
    projection_streams_table,
)

SOURCE = "kafka:zugong.personnel.unit:0"
REGISTERED = "zugong.personnel.unit_registered.v1"
ADJUSTED = "zugong.personnel.establishment_adjusted.v1"
POISON = "zugong.personnel.poison.v1"
IGNORED = "zugong.personnel.not_for_me.v1"


@dataclass
class CountingProjection:
    """Counts applied events per stream; raises on ``poison_type``; can simulate an outage.

    ``outage`` holds the numbers (1-based) of the ``apply`` calls that fail with a transient
    database error, as when the read-model database goes away mid-batch.
    """

    name: str = "counting"
    poison_type: str | None = POISON
    outage: set[int] = field(default_factory=set)
    attempts: int = 0
    metadata: sa.MetaData = field(default_factory=sa.MetaData)

    def __post_init__(self) -> None:
        self.table = sa.Table(
            "event_counts", self.metadata,
            sa.Column("stream_id", sa.String(200), primary_key=True),
            sa.Column("count", sa.Integer, nullable=False),
        )

    def handles(self, event_type: str) -> bool:
        return event_type != IGNORED

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        self.attempts += 1
        # write first, so that a failure below must be rolled back to leave no trace
        insert = sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
        statement = insert(self.table).values(stream_id=event.streamid, count=1)
        await conn.execute(statement.on_conflict_do_update(
            index_elements=["stream_id"], set_={"count": self.table.c.count + 1}))
        if self.attempts in self.outage:
            raise OperationalError("UPDATE event_counts", {}, ConnectionError("database is down"))
        if event.type == self.poison_type:
            raise ValueError(f"cannot apply {event.type} at version {event.streamversion}")


@dataclass
class BatchCountingProjection(CountingProjection):
    """The same, with ``apply_batch``: the runner hands it every applicable event at once."""

    batches: list[list[int]] = field(default_factory=list)

    async def apply_batch(self, conn: AsyncConnection, events: list[EventEnvelope]) -> None:
        self.batches.append([e.position for e in events])
        for event in events:
            await self.apply(conn, event)


def envelope(stream: str, version: int, position: int, type_: str = ADJUSTED) -> EventEnvelope:
    return EventEnvelope(
        id=str(uuid.uuid4()), source="/zugong/personnel", type=type_,
        time=datetime.now(UTC), subject=f"unit/{stream}", streamid=f"unit-{stream}",
        streamversion=version, position=position, schemaversion=1,
        correlationid="corr", causationid="cause", actor="tester", data={"n": version})


def delivery(stream: str, version: int, position: int, type_: str = ADJUSTED,
             source: str = SOURCE) -> Delivery:
    return Delivery(source, position, envelope(stream, version, position, type_))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def read_engine(request, tmp_path) -> AsyncIterator[AsyncEngine]:
    """The runner on each read-model database: it reads and writes a batch's bookkeeping
    differently on PostgreSQL (one statement each)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'read.db'}" if request.param == "sqlite" \
        else request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(params=["event_by_event", "apply_batch"])
def projection(request) -> CountingProjection:
    """Every runner test runs against a projection with ``apply`` only and one with
    ``apply_batch`` (whose failures the runner retries event by event)."""
    return CountingProjection() if request.param == "event_by_event" \
        else BatchCountingProjection()


@pytest.fixture
async def runner(read_engine: AsyncEngine, projection: CountingProjection) -> SubscriptionRunner:
    subscription = SubscriptionRunner(projection, read_engine, Metrics())
    await subscription.create_schema()
    return subscription


async def counts(runner: SubscriptionRunner) -> dict[str, int]:
    table = runner.projection.table
    async with runner.engine.connect() as conn:
        return {r.stream_id: r.count for r in await conn.execute(sa.select(table))}


async def rows(runner: SubscriptionRunner, table: sa.Table) -> list:
    async with runner.engine.connect() as conn:
        return list(await conn.execute(sa.select(table)))


async def stream_versions(runner: SubscriptionRunner) -> dict[str, int]:
    return {r.stream_id: r.version for r in await rows(runner, projection_streams_table)}


def metric(runner: SubscriptionRunner, name: str) -> float:
    value = runner.metrics.registry.get_sample_value(name, {"projection": runner.projection.name})
    return value or 0.0


FIRST_BATCH = [
    delivery("a", 1, 10, REGISTERED),
    delivery("a", 2, 11),
    delivery("b", 1, 12, REGISTERED),
]


async def test_a_batch_is_applied_with_its_checkpoints(runner: SubscriptionRunner) -> None:
    assert await runner.position(SOURCE) == -1
    assert await runner.handle(FIRST_BATCH) == 3
    if isinstance(runner.projection, BatchCountingProjection):
        assert runner.projection.batches == [[10, 11, 12]]
    assert await counts(runner) == {"unit-a": 2, "unit-b": 1}
    assert await runner.position(SOURCE) == 12
    assert await runner.positions() == {SOURCE: 12}
    assert await stream_versions(runner) == {"unit-a": 2, "unit-b": 1}
    assert await runner.stream_version("unit-a") == 2
    assert await runner.stream_version("unit-unknown") == 0
    assert await runner.handle([]) == 0


async def test_redelivering_the_same_batch_changes_nothing(runner: SubscriptionRunner) -> None:
    await runner.handle(FIRST_BATCH)
    before = (await counts(runner), await rows(runner, projection_positions_table),
              await stream_versions(runner))

    assert await runner.handle(FIRST_BATCH) == 0
    assert await runner.handle(FIRST_BATCH[1:2]) == 0

    after = (await counts(runner), await rows(runner, projection_positions_table),
             await stream_versions(runner))
    assert after == before
    assert metric(runner, "zugong_projection_duplicates_total") == 4


async def test_a_relay_duplicate_at_a_new_position_is_skipped(runner: SubscriptionRunner
                                                               ) -> None:
    """The relay may publish an event twice after a crash: same stream version, new offset."""
    await runner.handle(FIRST_BATCH)
    applied = await runner.handle([
        delivery("a", 2, 13),                # duplicate of (a, 2)
        delivery("b", 1, 14, REGISTERED),    # duplicate of (b, 1)
        delivery("a", 3, 15),                # new
    ])
    assert applied == 1
    assert await counts(runner) == {"unit-a": 3, "unit-b": 1}
    assert await stream_versions(runner) == {"unit-a": 3, "unit-b": 1}
    assert await runner.position(SOURCE) == 15  # the source still moves past the duplicates


async def test_stream_versions_dedupe_across_sources(runner: SubscriptionRunner) -> None:
    """After a rebuild from another source (e.g. the store instead of Kafka) nothing doubles."""
    await runner.handle(FIRST_BATCH)
    other = "store:personnel"
    assert await runner.handle([delivery("a", 1, 1, REGISTERED, source=other),
                                delivery("a", 2, 2, source=other),
                                delivery("b", 2, 3, source=other)]) == 1
    assert await counts(runner) == {"unit-a": 2, "unit-b": 2}
    assert await runner.positions() == {SOURCE: 12, other: 3}


async def test_a_poison_event_is_parked_and_the_batch_flows_on(
    runner: SubscriptionRunner, projection: CountingProjection,
) -> None:
    batch = [
        delivery("a", 1, 20, REGISTERED),
        delivery("b", 1, 21, POISON),
        delivery("a", 2, 22),
        delivery("c", 1, 23, REGISTERED),
    ]
    assert await runner.handle(batch) == 3

    # the poison's own write was rolled back with its savepoint; the rest are applied
    assert await counts(runner) == {"unit-a": 2, "unit-c": 1}
    if isinstance(projection, BatchCountingProjection):
        # tried as one batch, which failed and was rolled back, then event by event
        assert projection.batches == [[20, 21, 22, 23]]
        assert projection.attempts == 2 + 4
    assert await runner.position(SOURCE) == 23
    assert await stream_versions(runner) == {"unit-a": 2, "unit-b": 1, "unit-c": 1}

    [parked] = await rows(runner, dead_letters_table)
    assert parked.projection == "counting"
    assert (parked.source, parked.position) == (SOURCE, 21)
    assert (parked.stream_id, parked.stream_version, parked.type) == ("unit-b", 1, POISON)
    assert parked.event_id == batch[1].envelope.id
    assert parked.reason == f"ValueError: cannot apply {POISON} at version 1"
    assert parked.status == "parked"
    assert EventEnvelope.model_validate_json(parked.payload) == batch[1].envelope
    assert metric(runner, "zugong_projection_dead_letters_total") == 1

    # redelivered: not parked twice, nothing counted twice
    assert await runner.handle(batch) == 0
    assert len(await rows(runner, dead_letters_table)) == 1
    assert await counts(runner) == {"unit-a": 2, "unit-c": 1}

    # later events of the poisoned stream are held behind it (per-stream order), others flow
    assert await runner.handle([delivery("b", 2, 24), delivery("c", 2, 25)]) == 1
    assert await counts(runner) == {"unit-a": 2, "unit-c": 2}
    if isinstance(projection, BatchCountingProjection):
        assert projection.batches[-1] == [25]  # the held event is not handed over
    held = [r for r in await rows(runner, dead_letters_table) if r.position == 24]
    assert held[0].reason.startswith("held: an earlier event of stream unit-b is parked")
    assert await stream_versions(runner) == {"unit-a": 2, "unit-b": 2, "unit-c": 2}

    # once the parked events are dealt with (replayed or discarded), the stream flows again
    async with runner.engine.begin() as conn:
        await conn.execute(dead_letters_table.update().values(status="discarded"))
    assert await runner.handle([delivery("b", 3, 26)]) == 1
    assert await counts(runner) == {"unit-a": 2, "unit-b": 1, "unit-c": 2}


async def test_a_transient_error_commits_nothing(
    runner: SubscriptionRunner, projection: CountingProjection,
) -> None:
    projection.outage = {1}
    batch = [delivery("a", 1, 30, REGISTERED), delivery("b", 1, 31, REGISTERED)]
    with pytest.raises(OperationalError):
        await runner.handle(batch)
    assert projection.attempts == 1  # not retried event by event as if it were poison

    assert await counts(runner) == {}
    assert await rows(runner, projection_positions_table) == []
    assert await rows(runner, projection_streams_table) == []
    assert await rows(runner, dead_letters_table) == []  # an outage is not a poison event
    assert await runner.position(SOURCE) == -1

    # the same when the database fails in the middle of a batch, after some events applied
    projection.outage = set()
    await runner.handle(batch)
    projection.attempts, projection.outage = 0, {2}
    more = [delivery("a", 2, 32), delivery("a", 3, 33), delivery("b", 2, 34)]
    with pytest.raises(OperationalError):
        await runner.handle(more)
    assert await counts(runner) == {"unit-a": 1, "unit-b": 1}
    assert await runner.position(SOURCE) == 31
    assert await stream_versions(runner) == {"unit-a": 1, "unit-b": 1}
    assert await rows(runner, dead_letters_table) == []


async def test_handle_with_retry_recovers_once_the_error_stops(
    runner: SubscriptionRunner, projection: CountingProjection,
) -> None:
    projection.outage = {1, 2, 4}  # down, still down, up for one event, down again
    batch = [delivery("a", 1, 40, REGISTERED), delivery("a", 2, 41)]
    assert await runner.handle_with_retry(batch, max_delay=0.01) == 2
    assert projection.attempts == 6
    assert await counts(runner) == {"unit-a": 2}  # applied exactly once despite the retries
    assert await runner.position(SOURCE) == 41
    assert await rows(runner, dead_letters_table) == []
    assert metric(runner, "zugong_projection_errors_total") == 3


async def test_an_undecodable_delivery_is_parked(runner: SubscriptionRunner) -> None:
    garbage = Delivery(SOURCE, 51, None, raw=b"\xff{not json", decode_error="invalid JSON: x")
    batch = [delivery("a", 1, 50, REGISTERED), garbage, delivery("a", 2, 52)]
    assert await runner.handle(batch) == 2

    assert await counts(runner) == {"unit-a": 2}
    assert await runner.position(SOURCE) == 52
    [parked] = await rows(runner, dead_letters_table)
    assert (parked.source, parked.position) == (SOURCE, 51)
    assert parked.reason == "invalid JSON: x"
    assert parked.event_id is None and parked.stream_id is None and parked.type is None
    assert parked.payload == b"\xff{not json".decode("utf-8", "replace")

    no_reason = Delivery(SOURCE, 53, None, raw="plain text")
    assert await runner.handle([no_reason]) == 0
    reasons = sorted(r.reason for r in await rows(runner, dead_letters_table))
    assert reasons == ["invalid JSON: x", "undecodable"]

    assert await runner.handle(batch) == 0  # redelivered garbage is not parked twice
    assert len(await rows(runner, dead_letters_table)) == 2


async def test_events_the_projection_ignores_cost_nothing_but_the_checkpoint(
    runner: SubscriptionRunner, projection: CountingProjection,
) -> None:
    assert await runner.handle([delivery("a", 1, 60, REGISTERED),
                                delivery("a", 2, 61, IGNORED),
                                delivery("b", 1, 62, IGNORED)]) == 1
    assert await counts(runner) == {"unit-a": 1}
    # versions are those of the events it handles: what its tokens and a rebuild compare
    assert await stream_versions(runner) == {"unit-a": 1}
    assert await runner.position(SOURCE) == 62

    # the next handled event of the stream applies; redelivered, nothing changes
    batch = [delivery("a", 3, 63), delivery("b", 2, 64, IGNORED)]
    assert await runner.handle(batch) == 1
    assert await runner.handle([Delivery("kafka:other:0", 0, batch[0].envelope)]) == 0
    assert await counts(runner) == {"unit-a": 2}
    assert await stream_versions(runner) == {"unit-a": 3}


# --- StoreTailSource ---------------------------------------------------------------------------


async def test_store_tail_source_catches_up_once(tmp_path, runner: SubscriptionRunner) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'events.db'}")
    try:
        store = EventStore(engine, service="personnel")
        await store.create_schema()
        establishment = Establishment(administrative=3, institution=2)

        async def append(unit: str, expected: int, events: int) -> None:
            pending = []
            for n in range(expected, expected + events):
                pending.append(
                    UnitRegistered(unit_id=unit, name=unit, kind="township",
                                   establishment=establishment) if n == 0 else
                    EstablishmentAdjusted(unit_id=unit, establishment=establishment,
                                          previous=establishment, effective_on=date(2024, 1, 1)))
            await store.append([StreamWrite(f"unit-{unit}", "unit", expected, pending)],
                               CommandMetadata("tester", "corr", "cause"))

        await append("a", 0, 4)
        await append("b", 0, 3)
        await append("a", 4, 2)
        await append("c", 0, 1)

        source = StoreTailSource("personnel", store, batch_size=4)
        assert await source.catch_up(runner) == 10
        assert await counts(runner) == {"unit-a": 6, "unit-b": 3, "unit-c": 1}
        assert await runner.position(source.name) == await store.head_position()
        assert await stream_versions(runner) == {"unit-a": 6, "unit-b": 3, "unit-c": 1}

        assert await source.catch_up(runner) == 0
        assert await counts(runner) == {"unit-a": 6, "unit-b": 3, "unit-c": 1}

        await append("b", 3, 2)
        assert await source.catch_up(runner) == 2
        assert await counts(runner) == {"unit-a": 6, "unit-b": 5, "unit-c": 1}

        # a brand-new source over the same store (a rebuild feed) doubles nothing
        replay = StoreTailSource("personnel-replay", store, batch_size=3)
        assert await replay.catch_up(runner) == 12
        assert await counts(runner) == {"unit-a": 6, "unit-b": 5, "unit-c": 1}
        assert await rows(runner, dead_letters_table) == []
    finally:
        await engine.dispose()


async def test_projections_without_work_in_a_batch_only_move_their_checkpoints_together(
    read_engine: AsyncEngine,
) -> None:
    from services.kernel.kafka_projector import project_batch

    busy = SubscriptionRunner(CountingProjection(), read_engine, Metrics())
    idle = [SubscriptionRunner(CountingProjection(name=f"idle{n}", poison_type=None),
                               read_engine, Metrics()) for n in range(2)]
    for runner in (busy, *idle):
        await runner.create_schema()
    for runner in idle:
        runner.projection.handles = lambda event_type: event_type == POISON
    batch = [delivery("a", 1, 70, REGISTERED), delivery("a", 2, 71),
             delivery("b", 1, 5, REGISTERED, source="kafka:other:0")]
    assert [r.has_work(batch) for r in (busy, *idle)] == [True, False, False]

    await project_batch([busy, *idle], batch)
    assert await counts(busy) == {"unit-a": 2, "unit-b": 1}
    for runner in (busy, *idle):
        assert await runner.positions() == {SOURCE: 71, "kafka:other:0": 5}
    assert {r.projection for r in await rows(busy, projection_streams_table)} == {"counting"}

    # a redelivered, older batch never moves a checkpoint back
    await SubscriptionRunner.advance_idle(idle, batch[:1])
    assert await idle[1].positions() == {SOURCE: 71, "kafka:other:0": 5}
    # an undecodable event is work: it is parked by each projection
    garbage = Delivery(SOURCE, 72, None, raw="x", decode_error="bad")
    assert all(r.has_work([garbage]) for r in idle)
    await project_batch(idle, [garbage])
    assert len(await rows(idle[0], dead_letters_table)) == 2
    assert await idle[0].position(SOURCE) == 72
