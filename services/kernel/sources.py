"""Embedded event source: tails a service's store in-process (catch up by position, then wait
for the store's append signal, with a slow poll as a safety net)."""

from __future__ import annotations

import asyncio
import contextlib

from services.kernel.eventstore import EventStore
from services.kernel.logging import get_logger
from services.kernel.subscription import Delivery, SubscriptionRunner

__all__ = ["StoreTailSource"]

log = get_logger("zugong.source")


class StoreTailSource:
    """Delivers a store's events to a runner in position order, from the runner's checkpoint."""

    def __init__(self, service: str, store: EventStore, *, batch_size: int = 1000,
                 poll_interval: float = 0.5) -> None:
        self.service = service
        self.store = store
        self.name = f"store:{service}"
        self.batch_size = batch_size
        self.poll_interval = poll_interval

    async def run(self, runner: SubscriptionRunner, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        position = max(0, await runner.position(self.name))
        while not stop.is_set():
            signal = self.store.append_signal()
            batch = await self.store.read_envelopes(position, self.batch_size, self.service)
            if batch:
                deliveries = [Delivery(self.name, e.position, e) for e in batch]
                await runner.handle_with_retry(deliveries)
                position = batch[-1].position
                head = await self.store.head_position()
                runner.metrics.projection_lag_events.labels(
                    runner.projection.name, self.name).set(max(0, head - position))
                continue
            runner.metrics.projection_lag_events.labels(runner.projection.name, self.name).set(0)
            waiters = [asyncio.ensure_future(signal.wait()), asyncio.ensure_future(stop.wait())]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.wait(waiters, return_when="FIRST_COMPLETED"),
                                       self.poll_interval)
            for waiter in waiters:
                waiter.cancel()

    async def catch_up(self, runner: SubscriptionRunner) -> int:
        """Apply everything stored now; returns the number of events read. For rebuilds/tests."""
        position = max(0, await runner.position(self.name))
        total = 0
        while batch := await self.store.read_envelopes(position, self.batch_size, self.service):
            await runner.handle_with_retry([Delivery(self.name, e.position, e) for e in batch])
            position = batch[-1].position
            total += len(batch)
        return total
