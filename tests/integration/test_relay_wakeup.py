"""The relay is woken by PostgreSQL when an append commits, not by its next poll.

``AppendListener.wait`` is given a timeout far longer than the test tolerates: it returns early
only if the NOTIFY sent by the events table's trigger reaches it.
"""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from contracts.personnel import Establishment, UnitRegistered
from services.kernel.db import create_engine
from services.kernel.eventstore import CommandMetadata, EventStore, StreamWrite
from services.kernel.relay import AppendListener

pytestmark = pytest.mark.postgres

LONG_POLL = 30.0


def _write(n: int) -> StreamWrite:
    event = UnitRegistered(unit_id=f"u{n}", name=f"unit {n}", kind="institution",
                           establishment=Establishment(administrative=1, institution=1))
    return StreamWrite(f"unit-u{n}", "unit", 0, [event])


async def test_an_append_wakes_the_listener_long_before_the_poll(postgres_url: str) -> None:
    store = EventStore(create_engine(postgres_url))
    await store.create_schema()
    listener = AppendListener(store)
    await listener.install()
    await listener.install()  # idempotent: a second relay starting does the same
    try:
        await listener.wait(0.5)  # connects, and returns at once (it may have missed appends)
        for n in range(3):
            waiting = asyncio.create_task(listener.wait(LONG_POLL))
            await asyncio.sleep(0.2)
            assert not waiting.done(), "woken without an append"
            started = time.perf_counter()
            await store.append([_write(n)], CommandMetadata("test", "c", "c"))
            await asyncio.wait_for(waiting, 5.0)
            assert time.perf_counter() - started < 5.0
    finally:
        await listener.close()
        await store.engine.dispose()


async def test_on_sqlite_the_listener_just_waits_for_the_poll(tmp_path) -> None:
    store = EventStore(create_engine(f"sqlite+aiosqlite:///{tmp_path}/s.db"))
    await store.create_schema()
    listener = AppendListener(store)
    await listener.install()
    started = time.perf_counter()
    await listener.wait(0.2)
    assert time.perf_counter() - started >= 0.19
    await store.engine.dispose()


async def _relay_reading(postgres_url: str):
    """A relay on a fresh PostgreSQL store whose broker is replaced by an acknowledgement of
    every batch, and the loop times of its store reads."""
    from services.kernel.metrics import Metrics
    from services.kernel.relay import Relay

    store = EventStore(create_engine(postgres_url))
    await store.create_schema()
    relay = Relay("personnel", store, bootstrap_servers="unused:9", topic_for=lambda kind: kind,
                  metrics=Metrics())
    relay.broker_error = None
    reads: list[float] = []
    published: list[int] = []
    read_published = store.read_published

    async def counted(*args, **kwargs):
        reads.append(asyncio.get_running_loop().time())
        return await read_published(*args, **kwargs)

    async def acknowledge(events):
        published.extend(e.position for e in events)
        return events[-1].position

    store.read_published = counted
    relay.publish_batch = acknowledge
    return store, relay, reads, published


async def _until(condition, seconds: float = 5.0) -> None:
    deadline = time.perf_counter() + seconds
    while not condition():
        assert time.perf_counter() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_a_caught_up_relay_waits_for_the_next_append_instead_of_reading_again(
        postgres_url: str) -> None:
    store, relay, reads, published = await _relay_reading(postgres_url)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await _until(lambda: relay._appends.wakes_on_append and reads)
        for n in range(3):
            await store.append([_write(n)], CommandMetadata("test", "c", "c"))
            await _until(lambda n=n: len(published) == n + 1)
            before = len(reads)
            await asyncio.sleep(0.3)  # far below the listening relay's 1 s safety look
            assert len(reads) == before, "read the store again with nothing appended"
    finally:
        stop.set()
        await asyncio.wait_for(running, 5)
        await store.engine.dispose()


async def test_while_appends_keep_coming_the_relay_reads_at_most_every_few_ms(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.kernel import relay as relay_module

    gather = 0.1  # longer than the relay's own, so that a loaded machine cannot space reads so
    monkeypatch.setattr(relay_module, "GATHER_SECONDS", gather)
    store, relay, reads, published = await _relay_reading(postgres_url)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await _until(lambda: relay._appends.wakes_on_append and reads)
        first = len(reads)
        for n in range(30):  # one append every ~10 ms: each would wake the relay at once
            await store.append([_write(n)], CommandMetadata("test", "c", "c"))
            await asyncio.sleep(0.01)
        await _until(lambda: len(published) == 30)
        busy = reads[first:]
        gaps = [b - a for a, b in itertools.pairwise(busy)]
        assert gaps and min(gaps) >= gather * 0.95, gaps
        assert len(busy) < 15  # several events per read
        assert sorted(published) == published and len(set(published)) == 30
    finally:
        stop.set()
        await asyncio.wait_for(running, 5)
        await store.engine.dispose()
