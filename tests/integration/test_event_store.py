"""One abstract suite for the event store port, run against every adapter (SQLite, PostgreSQL).

Every case names a guarantee the rest of the platform relies on: optimistic concurrency,
atomic multi-stream appends, global order, idempotent commands and faithful metadata.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from contracts.envelope import EventEnvelope
from contracts.personnel import Establishment, EstablishmentAdjusted, UnitRegistered
from contracts.registry import registry
from services.kernel.aggregate import Repository
from services.kernel.commands import ConsistencyToken, Decision, execute_command
from services.kernel.db import create_engine
from services.kernel.errors import ConcurrencyConflict, IdempotencyKeyReused, PreconditionFailed
from services.kernel.eventstore import (
    CommandMetadata,
    EventStore,
    RecordedEvent,
    StoredCommand,
    StreamWrite,
    events_table,
)
from services.personnel.domain.unit import Unit

ESTABLISHMENT = Establishment(administrative=10, institution=5)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[EventStore]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'events.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    event_store = EventStore(engine, service="personnel")
    await event_store.create_schema()
    try:
        yield event_store
    finally:
        await engine.dispose()


def registered(unit_id: str, name: str = "县委组织部", *,
               effective_on: date | None = None) -> UnitRegistered:
    return UnitRegistered(unit_id=unit_id, name=name, kind="party_government_organ",
                          establishment=ESTABLISHMENT, effective_on=effective_on)


def adjusted(unit_id: str, administrative: int, effective_on: date = date(2024, 3, 1)
             ) -> EstablishmentAdjusted:
    return EstablishmentAdjusted(
        unit_id=unit_id,
        establishment=Establishment(administrative=administrative, institution=5),
        previous=ESTABLISHMENT, effective_on=effective_on, document_number="县编〔2024〕1号")


def meta(*, key: str | None = None, fingerprint: str = "", actor: str = "tester"
         ) -> CommandMetadata:
    return CommandMetadata(actor=actor, correlation_id=uuid.uuid4().hex,
                           causation_id=uuid.uuid4().hex, idempotency_key=key,
                           fingerprint=fingerprint)


def write(unit_id: str, expected: int, *events) -> StreamWrite:
    return StreamWrite(Unit.stream_id_for(unit_id), "unit", expected, list(events))


async def fill(store: EventStore, streams: int, per_stream: int) -> list[RecordedEvent]:
    """Append ``per_stream`` single-event appends to each of ``streams`` streams, interleaved."""
    recorded: list[RecordedEvent] = []
    for version in range(per_stream):
        for s in range(streams):
            event = registered(f"u{s}") if version == 0 else adjusted(f"u{s}", version)
            result = await store.append([write(f"u{s}", version, event)], meta())
            recorded.extend(result.events)
    return recorded


# --- appending and reading -------------------------------------------------------------------


async def test_append_to_new_stream_then_read_it_back(store: EventStore) -> None:
    events = [registered("a1"), adjusted("a1", 12), adjusted("a1", 14)]
    result = await store.append([write("a1", 0, *events)], meta())

    assert result.versions == {"unit-a1": 3}
    assert [e.version for e in result.events] == [1, 2, 3]
    assert result.last_position == result.events[-1].position

    stored = await store.read_stream("unit-a1")
    assert [e.version for e in stored] == [1, 2, 3]
    assert [e.type for e in stored] == [e.wire_type() for e in events]
    assert [registry.decode(e.type, e.data) for e in stored] == events
    assert [e.position for e in stored] == [e.position for e in result.events]
    assert all(e.stream_id == "unit-a1" and e.stream_type == "unit" for e in stored)
    assert await store.stream_version("unit-a1") == 3
    assert await store.read_stream("unit-a1", after_version=2) == stored[2:]
    assert await store.read_stream("unit-unknown") == []
    assert await store.stream_version("unit-unknown") == 0


async def test_append_signal_is_set_by_the_next_append(store: EventStore) -> None:
    signal = store.append_signal()
    assert not signal.is_set()
    await store.append([write("s1", 0, registered("s1"))], meta())
    assert signal.is_set()
    assert not store.append_signal().is_set()  # a fresh signal for the next waiter


@pytest.mark.parametrize("expected", [0, 2, 7])
async def test_expected_version_conflict_appends_nothing(store: EventStore,
                                                         expected: int) -> None:
    await store.append([write("c1", 0, registered("c1"))], meta())
    head, everything = await store.head_position(), await store.read_all()

    with pytest.raises(ConcurrencyConflict) as raised:
        await store.append([write("c1", expected, adjusted("c1", 11))], meta())

    assert raised.value.stream_id == "unit-c1"
    assert (raised.value.expected, raised.value.actual) == (expected, 1)
    assert await store.head_position() == head
    assert await store.read_all() == everything
    assert await store.stream_version("unit-c1") == 1


async def test_expecting_an_existing_version_of_a_new_stream_conflicts(store: EventStore
                                                                       ) -> None:
    with pytest.raises(ConcurrencyConflict):
        await store.append([write("ghost", 1, adjusted("ghost", 3))], meta())
    assert await store.head_position() == 0
    assert await store.read_all() == []


async def test_multi_stream_append_is_atomic(store: EventStore) -> None:
    await store.append([write("m2", 0, registered("m2"))], meta())
    head, everything = await store.head_position(), await store.read_all()

    # m1 alone would succeed; m2 is at version 1, not 0: neither may be written.
    with pytest.raises(ConcurrencyConflict) as raised:
        await store.append([write("m1", 0, registered("m1")),
                            write("m2", 0, adjusted("m2", 20))], meta())
    assert raised.value.stream_id == "unit-m2"
    assert await store.read_stream("unit-m1") == []
    assert await store.stream_version("unit-m2") == 1
    assert await store.head_position() == head
    assert await store.read_all() == everything

    result = await store.append([write("m1", 0, registered("m1"), adjusted("m1", 4)),
                                 write("m2", 1, adjusted("m2", 20))], meta())
    assert result.versions == {"unit-m1": 2, "unit-m2": 2}
    positions = [e.position for e in result.events]
    assert positions == sorted(positions)
    assert [e.position for e in await store.read_all(head)] == positions


async def test_the_first_stream_in_conflict_is_the_one_named(store: EventStore) -> None:
    """Also when a stream expected to be new (whose version SQLite does not read first)
    exists and a later one is at another version than expected."""
    await store.append([write("f1", 0, registered("f1")), write("f2", 0, registered("f2"))],
                       meta())
    head = await store.head_position()
    with pytest.raises(ConcurrencyConflict) as raised:
        await store.append([write("f1", 0, registered("f1")), write("f2", 5, adjusted("f2", 4))],
                           meta())
    assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == \
        ("unit-f1", 0, 1)
    assert await store.head_position() == head


async def test_event_ids_are_unique_uuids_and_enforced_by_the_store(store: EventStore) -> None:
    recorded = await fill(store, streams=3, per_stream=4)
    ids = [e.event_id for e in await store.read_all()]
    assert len(ids) == 12 and len(set(ids)) == 12
    assert ids == [e.event_id for e in recorded]
    for event_id in ids:
        assert str(uuid.UUID(event_id)) == event_id

    duplicate = await store.read_stream("unit-u0")
    row = {c.name: getattr(duplicate[0], c.name) for c in events_table.columns
           if c.name != "position"}
    row.update(stream_id="unit-other", version=1)  # only the event id collides
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as conn:
            await conn.execute(events_table.insert().values(**row))


async def test_stream_version_uniqueness_is_enforced_by_the_store(store: EventStore) -> None:
    """The last line of defence if two appends ever both passed the version check."""
    [first] = (await store.append([write("uq", 0, registered("uq"))], meta())).events
    row = {c.name: getattr(first, c.name) for c in events_table.columns if c.name != "position"}
    row["event_id"] = str(uuid.uuid4())
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as conn:
            await conn.execute(events_table.insert().values(**row))


async def test_read_all_pages_in_position_order(store: EventStore) -> None:
    recorded = await fill(store, streams=4, per_stream=6)
    everything = await store.read_all()
    assert [e.position for e in everything] == [e.position for e in recorded]
    assert len(everything) == 24

    pages, cursor = [], 0
    for _ in range(10):
        page = await store.read_all(after_position=cursor, limit=7)
        if not page:
            break
        assert len(page) <= 7
        pages.append(page)
        cursor = page[-1].position
    else:
        pytest.fail("paging with read_all(after_position=...) does not come to an end")
    assert [len(p) for p in pages] == [7, 7, 7, 3]
    assert [e for page in pages for e in page] == everything

    middle = everything[9].position
    assert await store.read_all(after_position=middle, limit=5) == everything[10:15]
    assert await store.read_all(after_position=everything[-1].position) == []
    assert await store.head_position() == everything[-1].position


async def test_positions_strictly_increase_across_appends(store: EventStore) -> None:
    assert await store.head_position() == 0
    recorded = await fill(store, streams=3, per_stream=3)
    batch = await store.append([write("p9", 0, registered("p9"), adjusted("p9", 1)),
                                write("u0", 3, adjusted("u0", 30))], meta())
    recorded += batch.events
    positions = [e.position for e in recorded]
    assert all(a < b for a, b in itertools.pairwise(positions))
    assert positions[0] >= 1
    assert [e.position for e in await store.read_all()] == positions
    assert await store.head_position() == positions[-1] == batch.last_position


# --- idempotency -----------------------------------------------------------------------------


async def test_same_key_and_fingerprint_returns_the_stored_response(store: EventStore) -> None:
    fingerprint = CommandMetadata.fingerprint_of({"name": "县委组织部", "establishment": 10})
    assert await store.find_command("key-1", fingerprint) is None

    response = {"id": "k1", "version": 1, "consistency_token": "abc"}
    await store.append([write("k1", 0, registered("k1"))],
                       meta(key="key-1", fingerprint=fingerprint), response=response)

    assert await store.find_command("key-1", fingerprint) == StoredCommand(response=response)
    head, everything = await store.head_position(), await store.read_all()

    # Appending again with the same key (even a write that is otherwise valid) records nothing.
    with pytest.raises(IdempotencyKeyReused):
        await store.append([write("k1", 1, adjusted("k1", 11))],
                           meta(key="key-1", fingerprint=fingerprint), response=response)
    with pytest.raises(IdempotencyKeyReused):
        await store.append([write("k2", 0, registered("k2"))],
                           meta(key="key-1", fingerprint=fingerprint), response=response)
    assert await store.head_position() == head
    assert await store.read_all() == everything
    assert await store.stream_version("unit-k1") == 1
    assert await store.read_stream("unit-k2") == []
    assert await store.find_command("key-1", fingerprint) == StoredCommand(response=response)


async def test_same_key_with_a_different_fingerprint_is_rejected(store: EventStore) -> None:
    first = CommandMetadata.fingerprint_of({"name": "A"})
    second = CommandMetadata.fingerprint_of({"name": "B"})
    assert first != second
    await store.append([write("f1", 0, registered("f1"))],
                       meta(key="key-2", fingerprint=first), response={"id": "f1"})
    with pytest.raises(IdempotencyKeyReused):
        await store.find_command("key-2", second)
    assert await store.find_command("key-2", first) == StoredCommand(response={"id": "f1"})


def register_unit(repository: Repository[Unit], unit_id: str, calls: list[str]):
    async def decide() -> Decision:
        calls.append(unit_id)
        unit = await repository.load(unit_id)
        unit.register("县人社局", "party_government_organ", ESTABLISHMENT, None)
        return Decision([unit], unit)
    return decide


def adjust_unit(repository: Repository[Unit], unit_id: str, administrative: int,
                calls: list[str] | None = None, *, pause: bool = False):
    async def decide() -> Decision:
        if calls is not None:
            calls.append(unit_id)
        unit = await repository.load(unit_id)
        if pause:  # let every racing task load the same version before any appends
            await asyncio.sleep(0.01)
        unit.adjust_establishment(Establishment(administrative=administrative, institution=5),
                                  date(2024, 6, 1), None)
        return Decision([unit], unit)
    return decide


async def test_execute_command_replays_an_idempotent_request(store: EventStore) -> None:
    repository = Repository(store, Unit, registry)
    calls: list[str] = []
    metadata = meta(key="create-x1",
                    fingerprint=CommandMetadata.fingerprint_of({"unit": "x1"}))

    first = await execute_command(store, register_unit(repository, "x1", calls), metadata)
    assert (first.id, first.version, first.replayed) == ("x1", 1, False)
    assert ConsistencyToken.decode(first.consistency_token) == ConsistencyToken("unit-x1", 1)
    head = await store.head_position()

    again = await execute_command(store, register_unit(repository, "x1", calls), metadata)
    assert again.replayed is True
    assert again.body() == first.body()
    assert calls == ["x1"]  # the decision was not taken again
    assert await store.head_position() == head
    assert await store.stream_version("unit-x1") == 1

    other = CommandMetadata(actor="tester", correlation_id="c", causation_id="c",
                            idempotency_key="create-x1",
                            fingerprint=CommandMetadata.fingerprint_of({"unit": "x2"}))
    with pytest.raises(IdempotencyKeyReused):
        await execute_command(store, register_unit(repository, "x2", calls), other)
    assert await store.head_position() == head


async def test_execute_command_with_stale_if_match_appends_nothing(store: EventStore) -> None:
    repository = Repository(store, Unit, registry)
    await execute_command(store, register_unit(repository, "y1", []), meta())
    await execute_command(store, adjust_unit(repository, "y1", 11), meta())
    head, everything = await store.head_position(), await store.read_all()

    for stale in (0, 1, 3):
        with pytest.raises(PreconditionFailed):
            await execute_command(store, adjust_unit(repository, "y1", 99), meta(),
                                  if_match=stale)
    assert await store.head_position() == head
    assert await store.read_all() == everything

    fresh = await execute_command(store, adjust_unit(repository, "y1", 12), meta(), if_match=2)
    assert fresh.version == 3


async def test_a_race_with_if_match_is_not_retried(store: EventStore) -> None:
    repository = Repository(store, Unit, registry)
    await execute_command(store, register_unit(repository, "z1", []), meta())
    calls: list[str] = []

    async def decide() -> Decision:
        calls.append("z1")
        unit = await repository.load("z1")
        # Another writer gets in between this load and our append.
        await store.append([write("z1", unit.version, adjusted("z1", 50))], meta())
        unit.adjust_establishment(ESTABLISHMENT, date(2024, 6, 1), None)
        return Decision([unit], unit)

    with pytest.raises(PreconditionFailed):
        await execute_command(store, decide, meta(), if_match=1)
    assert calls == ["z1"]
    assert await store.stream_version("unit-z1") == 2  # only the interloper's event


async def test_a_race_without_if_match_is_retried_from_a_fresh_load(store: EventStore) -> None:
    repository = Repository(store, Unit, registry)
    await execute_command(store, register_unit(repository, "z2", []), meta())
    loaded: list[int] = []

    async def decide() -> Decision:
        unit = await repository.load("z2")
        loaded.append(unit.version)
        if len(loaded) == 1:
            await store.append([write("z2", unit.version, adjusted("z2", 50))], meta())
        unit.adjust_establishment(ESTABLISHMENT, date(2024, 6, 1), None)
        return Decision([unit], unit)

    outcome = await execute_command(store, decide, meta())
    assert loaded == [1, 2]
    assert outcome.version == 3
    assert [e.version for e in await store.read_stream("unit-z2")] == [1, 2, 3]


async def test_concurrent_commands_on_one_stream_all_succeed_without_loss(store: EventStore
                                                                          ) -> None:
    repository = Repository(store, Unit, registry)
    await execute_command(store, register_unit(repository, "r1", []), meta())
    racers = 6
    calls: list[str] = []

    outcomes = await asyncio.gather(*[
        execute_command(store, adjust_unit(repository, "r1", 100 + n, calls, pause=True),
                        meta(actor=f"racer-{n}"), max_attempts=racers + 1)
        for n in range(racers)
    ])

    assert sorted(o.version for o in outcomes) == list(range(2, racers + 2))
    assert len(calls) > racers  # they really raced: some decisions were retried
    stream = await store.read_stream("unit-r1")
    assert [e.version for e in stream] == list(range(1, racers + 2))
    # every racer's event is there exactly once, none overwritten or lost
    assert sorted(e.actor for e in stream[1:]) == sorted(f"racer-{n}" for n in range(racers))
    assert sorted(e.data["establishment"]["administrative"] for e in stream[1:]) == [
        100 + n for n in range(racers)]


# --- metadata and envelopes ------------------------------------------------------------------


async def test_metadata_round_trips(store: EventStore) -> None:
    moment = datetime(2024, 5, 4, 3, 2, 1, 123000, tzinfo=UTC)
    clocked = EventStore(store.engine, service="personnel", clock=lambda: moment)
    metadata = CommandMetadata(actor="user:张三", correlation_id="corr-123",
                               causation_id="cmd-456")
    result = await clocked.append([write("md", 0, registered("md"),
                                         adjusted("md", 11, effective_on=date(2023, 12, 31)))],
                                  metadata)

    for events in (await store.read_stream("unit-md"), await store.read_all(), result.events):
        assert [e.effective_on for e in events] == [None, date(2023, 12, 31)]
        for event in events:
            assert event.actor == "user:张三"
            assert event.correlation_id == "corr-123"
            assert event.causation_id == "cmd-456"
            assert event.recorded_at == moment
            assert event.recorded_at.utcoffset().total_seconds() == 0
            assert event.schema_version == 1
    assert await store.read_stream("unit-md") == result.events

    [dated] = (await store.append([write("md2", 0, registered(
        "md2", effective_on=date(1984, 10, 1)))], meta())).events
    [stored] = await store.read_stream("unit-md2")
    assert dated.effective_on == stored.effective_on == date(1984, 10, 1)
    assert stored.recorded_at.tzinfo is not None


async def test_recorded_event_becomes_a_valid_envelope(store: EventStore) -> None:
    event = adjusted("e1", 11, effective_on=date(2024, 1, 2))
    await store.append([write("e1", 0, registered("e1"), event)],
                       CommandMetadata(actor="admin", correlation_id="corr",
                                       causation_id="cause"))
    stored = (await store.read_stream("unit-e1"))[1]

    envelope = stored.to_envelope("personnel")
    assert EventEnvelope.model_validate_json(envelope.model_dump_json()) == envelope
    assert envelope.id == stored.event_id
    assert envelope.source == "/zugong/personnel" and envelope.service == "personnel"
    assert envelope.type == "zugong.personnel.establishment_adjusted.v1"
    assert envelope.subject == "unit/e1"
    assert (envelope.streamid, envelope.streamversion) == ("unit-e1", 2)
    assert envelope.position == stored.position
    assert envelope.schemaversion == 1
    assert envelope.effectiveon == "2024-01-02"
    assert (envelope.actor, envelope.correlationid, envelope.causationid) == (
        "admin", "corr", "cause")
    assert envelope.time == stored.recorded_at
    assert registry.decode(envelope.type, envelope.data) == event

    first = (await store.read_stream("unit-e1"))[0].to_envelope("personnel")
    assert first.effectiveon is None
    assert first.model_dump(mode="json")["specversion"] == "1.0"


async def test_published_envelopes_are_the_recorded_events_envelopes(store: EventStore) -> None:
    moment = datetime(2024, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
    clocked = EventStore(store.engine, service="personnel", clock=lambda: moment)
    odd = CommandMetadata(actor='user:张三 "quoted" \\ back', correlation_id="corr",
                          causation_id="cause")
    await clocked.append([write("p1", 0, registered("p1"),
                                adjusted("p1", 11, effective_on=date(2024, 1, 2)))], odd)
    on_the_hour = datetime(2024, 5, 4, 3, 0, tzinfo=UTC)
    await EventStore(store.engine, service="personnel", clock=lambda: on_the_hour).append(
        [write("p2", 0, registered("p2"))], meta())
    await store.append([StreamWrite("odd-kind", "unit", 0, [registered("p3")])], meta())

    recorded = await store.read_all(0, 100)
    published = await store.read_published(0, 100)
    assert [(p.position, p.stream_id, p.stream_type) for p in published] == [
        (e.position, e.stream_id, e.stream_type) for e in recorded]
    for event, wire in zip(recorded, published, strict=True):
        assert EventEnvelope.model_validate_json(wire.envelope) == event.to_envelope("personnel")
    assert [p.position for p in await store.read_published(published[1].position, 2)] == [
        p.position for p in published[2:4]]


# --- concurrency ---------------------------------------------------------------------------------


async def test_appends_from_many_tasks_get_contiguous_positions_in_commit_order(
        store: EventStore) -> None:
    """Many tasks appending at once (to their own streams and to one shared stream): every
    event is stored once, positions are contiguous, and each append's events are adjacent."""
    tasks, appends = 12, 8
    shared = "unit-shared"
    await store.append([write("shared", 0, registered("shared"))], meta())
    base = await store.head_position()

    async def appender(n: int) -> list[list[int]]:
        batches = []
        for k in range(appends):
            if k % 2:
                for _ in range(50):  # the shared stream: retry on a lost race
                    version = await store.stream_version(shared)
                    try:
                        result = await store.append(
                            [write("shared", version, adjusted("shared", 100 * n + k))],
                            meta(actor=f"t{n}"))
                        break
                    except ConcurrencyConflict:
                        await asyncio.sleep(0)
                else:
                    pytest.fail("the shared stream was never appended to")
            else:
                events = [registered(f"t{n}-{k}"), adjusted(f"t{n}-{k}", k)]
                result = await store.append([write(f"t{n}-{k}", 0, *events)], meta(actor=f"t{n}"))
            batches.append([e.position for e in result.events])
            await asyncio.sleep(0)
        return batches

    batches = [b for per_task in await asyncio.gather(*[appender(n) for n in range(tasks)])
               for b in per_task]
    everything = await store.read_all(base, limit=10_000)
    positions = [e.position for e in everything]
    assert len(everything) == tasks * (appends // 2) * 3
    assert positions == list(range(base + 1, base + 1 + len(everything)))
    assert sorted(p for b in batches for p in b) == positions
    assert all(b == list(range(b[0], b[0] + len(b))) for b in batches)
    stream = await store.read_stream(shared)
    assert [e.version for e in stream] == list(range(1, tasks * (appends // 2) + 2))
    assert await store.head_position() == positions[-1]


@pytest.mark.parametrize("same_stream", [True, False])
async def test_racing_duplicates_of_a_keyed_command_append_once_and_all_get_its_answer(
        store: EventStore, same_stream: bool) -> None:
    """A client's retries racing each other (same key, same request): one append, and every
    other attempt answers the first one's response, whether it lost on the stream's version
    (same aggregate) or on the key (a command that creates a new aggregate id each time)."""
    repository = Repository(store, Unit, registry)
    key = f"race-key-{same_stream}"
    metadata = meta(key=key, fingerprint=CommandMetadata.fingerprint_of({"u": "race"}))
    head = await store.head_position()
    ids = iter(range(100))

    def decide_racing():
        unit_id = f"race-{same_stream}" if same_stream else f"race-{next(ids)}"

        async def decide() -> Decision:
            unit = await repository.load(unit_id)
            await asyncio.sleep(0.01)  # every attempt decides before any appends
            unit.register("县人社局", "party_government_organ", ESTABLISHMENT, None)
            return Decision([unit], unit)
        return decide

    outcomes = await asyncio.gather(*[
        execute_command(store, decide_racing(), metadata) for _ in range(8)])

    assert sum(not o.replayed for o in outcomes) == 1
    assert len({(o.id, o.version, o.consistency_token) for o in outcomes}) == 1
    assert await store.head_position() == head + 1
    [first] = [o for o in outcomes if not o.replayed]
    assert await store.find_command(key, metadata.fingerprint) == StoredCommand(
        response=first.body())


async def test_racing_commands_with_one_idempotency_key_append_once(store: EventStore) -> None:
    repository = Repository(store, Unit, registry)
    metadata = meta(key="race-key", fingerprint=CommandMetadata.fingerprint_of({"u": "race"}))
    head = await store.head_position()
    calls: list[str] = []

    async def attempt() -> str:
        outcome = await execute_command(
            store, register_unit(repository, "race", calls), metadata)
        return "replayed" if outcome.replayed else "appended"

    results = await asyncio.gather(*[attempt() for _ in range(8)])

    assert results.count("appended") == 1
    assert set(results) == {"appended", "replayed"}
    assert await store.head_position() == head + 1
    assert await store.stream_version("unit-race") == 1
    stored = await store.find_command("race-key", metadata.fingerprint)
    assert stored is not None and stored.response["id"] == "race"
    again = await execute_command(store, register_unit(repository, "race", calls), metadata)
    assert again.replayed and again.version == 1


@pytest.mark.postgres
async def test_postgres_append_creates_its_function_when_the_schema_was_made_without_it(
        postgres_url: str) -> None:
    """The append function comes with ``create_schema``; a store whose tables were made some
    other way (or whose function was dropped) creates it on its first append."""
    engine = create_engine(postgres_url)
    try:
        store = EventStore(engine, service="personnel")
        await store.create_schema()
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP FUNCTION zugong_append")
        result = await store.append([write("fn1", 0, registered("fn1"))], meta())
        assert [e.version for e in result.events] == [1]
        assert await store.read_stream("unit-fn1") == result.events
        with pytest.raises(ConcurrencyConflict):
            await store.append([write("fn1", 0, registered("fn1"))], meta())
    finally:
        await engine.dispose()
