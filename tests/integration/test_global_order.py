"""The sequence-gap test: a reader that follows positions must never skip a late commit.

On PostgreSQL a position (sequence value) is taken at insert but becomes visible at commit. If
a transaction that drew position 10 commits after one that drew 11, a reader that has already
moved its cursor past 11 never sees 10. The store prevents this by taking a store-wide advisory
lock before drawing positions (``EventStore._append_lock``, taken by the append function), so
positions commit in order.

Load: eight writers, each on its own pooled connection and its own stream, append many small
events while a tailing reader follows ``read_all`` by position. A trigger installed by the test
makes the database itself sleep inside some insert transactions (after the position is drawn,
before commit): a few chosen rows sleep long, so that without the lock a lower position is
guaranteed to commit after higher ones; other rows sleep briefly at random.

``test_tailing_reader_sees_every_event_exactly_once_in_order`` is the guarantee.
``test_demonstration_without_the_lock_the_tail_skips_events`` removes the lock and checks that
the very same load makes the tail lose events, i.e. that the first test can fail.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from contracts.personnel import Establishment, UnitRegistered
from services.kernel.db import create_engine
from services.kernel.eventstore import CommandMetadata, EventStore, StreamWrite

pytestmark = pytest.mark.postgres

WRITERS = 8
EVENTS_PER_WRITER = 50
POOL_SIZE = 12           # ≥ WRITERS + the tailing reader: everyone has a connection at once
SLOW_SECONDS = 0.3
# (writer, version) of the rows whose insert transaction sleeps SLOW_SECONDS before commit.
# Early in the run, while every other writer is busy committing higher positions.
SLOW = frozenset({(0, 3), (3, 6), (5, 2)})

_DELAY_FUNCTION = f"""
CREATE FUNCTION zugong_test_commit_delay() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.data->>'name' LIKE 'slow %' THEN
        PERFORM pg_sleep({SLOW_SECONDS});
    ELSIF random() < 0.1 THEN
        PERFORM pg_sleep(random() * 0.005);
    END IF;
    RETURN NEW;
END
$$
"""
_DELAY_TRIGGER = """
CREATE TRIGGER zugong_test_commit_delay AFTER INSERT ON events
FOR EACH ROW EXECUTE FUNCTION zugong_test_commit_delay()
"""


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[EventStore]:
    engine = create_engine(postgres_url, pool_size=POOL_SIZE)
    event_store = EventStore(engine, service="personnel")
    await event_store.create_schema()
    async with engine.begin() as conn:
        await conn.execute(sa.text(_DELAY_FUNCTION))
        await conn.execute(sa.text(_DELAY_TRIGGER))
    try:
        yield event_store
    finally:
        await engine.dispose()


@dataclass
class Run:
    seen: list[int]          # every position the tailing reader saw, in the order it saw them
    stored: list[int]        # every position in the store at the end, by a full read
    slow: set[int]           # positions of the rows that slept before commit
    streams_in_order: list[str]


async def run_load(store: EventStore) -> Run:
    establishment = Establishment(administrative=1, institution=1)
    slow_positions: set[int] = set()

    async def writer(n: int) -> None:
        rng = random.Random(n)
        stream = f"unit-w{n}-{uuid.uuid4().hex[:6]}"
        for version in range(EVENTS_PER_WRITER):
            name = f"slow {n}/{version}" if (n, version) in SLOW else f"w{n}/{version}"
            event = UnitRegistered(unit_id=stream, name=name, kind="township",
                                   establishment=establishment)
            result = await store.append(
                [StreamWrite(stream, "unit", version, [event])],
                CommandMetadata(actor=f"writer-{n}", correlation_id="gap", causation_id="gap"))
            if (n, version) in SLOW:
                slow_positions.add(result.last_position)
            if rng.random() < 0.2:
                await asyncio.sleep(rng.random() * 0.003)

    async def tail(done: asyncio.Event) -> list[int]:
        seen: list[int] = []
        cursor = 0
        while True:
            finished = done.is_set()  # read once more after the writers are done
            batch = await store.read_all(after_position=cursor, limit=20)
            if batch:
                seen.extend(e.position for e in batch)
                cursor = batch[-1].position
            elif finished:
                return seen
            else:
                await asyncio.sleep(0.001)

    done = asyncio.Event()
    tailer = asyncio.create_task(tail(done))
    try:
        await asyncio.wait_for(asyncio.gather(*(writer(n) for n in range(WRITERS))), 60)
    finally:
        done.set()
    seen = await asyncio.wait_for(tailer, 30)
    everything = await store.read_all(limit=10 * WRITERS * EVENTS_PER_WRITER)
    return Run(seen=seen, stored=[e.position for e in everything], slow=slow_positions,
               streams_in_order=[e.stream_id for e in everything])


def assert_the_writers_really_overlapped(run: Run) -> None:
    assert len(run.stored) == WRITERS * EVENTS_PER_WRITER
    switches = sum(a != b for a, b in itertools.pairwise(run.streams_in_order))
    assert switches > WRITERS * 5, "writers ran one after another; the load proves nothing"
    assert len(run.slow) == len(SLOW)


async def test_tailing_reader_sees_every_event_exactly_once_in_order(store: EventStore) -> None:
    run = await run_load(store)
    assert_the_writers_really_overlapped(run)

    assert all(a < b for a, b in itertools.pairwise(run.seen)), \
        "the tail saw positions out of order or twice"
    missed = sorted(set(run.stored) - set(run.seen))
    assert missed == [], f"the tail skipped {len(missed)} late-committing events: {missed[:20]}"
    assert run.seen == run.stored
    assert run.slow <= set(run.seen)


async def test_demonstration_without_the_lock_the_tail_skips_events(
    store: EventStore, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not a product guarantee: proof that the test above detects gaps.

    With the append lock removed, the same load must make the tailing reader miss events
    (the rows that slept before commit drew lower positions than rows committed meanwhile).
    """

    monkeypatch.setattr(EventStore, "_append_lock", None)
    run = await run_load(store)
    assert_the_writers_really_overlapped(run)

    missed = set(run.stored) - set(run.seen)
    assert missed, "without the lock the tail should have skipped late commits"
    assert missed & run.slow, "a deliberately late commit should be among the skipped"
    assert set(run.seen) <= set(run.stored)
