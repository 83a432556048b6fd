"""The relay is woken by PostgreSQL when an append commits, not by its next poll.

``AppendListener.wait`` is given a timeout far longer than the test tolerates: it returns early
only if the NOTIFY sent by the events table's trigger reaches it.
"""

from __future__ import annotations

import asyncio
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
