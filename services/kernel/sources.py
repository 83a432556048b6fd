"""Embedded event sources: a service's store read in-process, by position. ``StoreFanOut`` tails
it for the runners fed by it (catch up, then wait for the store's append signal, with a slow
poll as a safety net); ``StoreTailSource`` catches one runner up once (rebuilds, tests)."""

from __future__ import annotations

import asyncio
import contextlib

from services.kernel.eventstore import EventStore
from services.kernel.logging import get_logger
from services.kernel.subscription import Delivery, SubscriptionRunner

__all__ = ["StoreFanOut", "StoreTailSource"]

log = get_logger("zugong.source")


class StoreTailSource:
    """Delivers a store's events to a runner in position order, from the runner's checkpoint."""

    def __init__(self, service: str, store: EventStore, *, batch_size: int = 1000) -> None:
        self.service = service
        self.store = store
        self.name = f"store:{service}"
        self.batch_size = batch_size

    async def catch_up(self, runner: SubscriptionRunner) -> int:
        """Apply everything stored now; returns the number of events read. For rebuilds/tests."""
        position = max(0, await runner.position(self.name))
        total = 0
        while batch := await self.store.read_envelopes(position, self.batch_size, self.service):
            await runner.handle_with_retry([Delivery(self.name, e.position, e) for e in batch])
            position = batch[-1].position
            total += len(batch)
        return total


class StoreFanOut:
    """Tails one store in-process for every runner fed by it (the projections and the other
    services' consumers): each batch is read and decoded once and handed to the runners in
    turn (one reader per runner read and decoded every event once per runner, which cost more
    than applying it).

    Each runner keeps its own position (a runner only gets what it has not had, and dedupes
    by its checkpoint anyway); a runner whose batch fails is left out for ``retry_after`` s
    and then resumes from its position, without holding up the others. Under load the appends
    made while a batch is applied form the next batch; ``linger`` (s, none by default: it is
    added to every event's freshness when traffic is light) would wait for more after a
    wake-up. A runner with nothing to apply in a batch costs no transaction: its checkpoint is
    recorded with the others' when the reader catches up, or every ``save_idle_every`` s."""

    YIELD_AFTER = 100
    """A runner's batch at least this long is followed by a turn of the loop; shorter ones
    (nearly caught up) run back to back, so that a busy loop does not delay each runner's
    turn, and with it freshness, by a full round of the requests in flight."""

    def __init__(self, service: str, store: EventStore, runners: list[SubscriptionRunner], *,
                 batch_size: int = 500, linger: float = 0.0, poll_interval: float = 0.5,
                 retry_after: float = 1.0, save_idle_every: float = 0.2) -> None:
        self.service, self.store, self.runners = service, store, runners
        self.save_idle_every = save_idle_every
        self.name = f"store:{service}"
        self.batch_size, self.linger = batch_size, linger
        self.poll_interval, self.retry_after = poll_interval, retry_after
        self._lags: dict[int, object] = {}

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._run(stop)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("projection_task_failed", source=self.name)
                await asyncio.sleep(self.retry_after)

    async def _run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        positions = [max(0, await r.position(self.name)) for r in self.runners]
        paused = [0.0] * len(self.runners)  # loop time until which a failed runner waits
        unsaved: set[int] = set()  # runners moved past events they ignore, not yet recorded
        saved_at = loop.time()
        while not stop.is_set():
            signal = self.store.append_signal()
            now = loop.time()
            active = [i for i, until in enumerate(paused) if until <= now]
            batch = await self.store.read_envelopes(min(positions[i] for i in active),
                                                    self.batch_size, self.service) if active else []
            if batch:
                deliveries = [Delivery(self.name, e.position, e) for e in batch]
                head = await self.store.head_position()
                for i in active:
                    mine = [d for d in deliveries if d.position > positions[i]]
                    if self.runners[i].has_work(mine):
                        await self._deliver(i, mine, positions, paused, head)
                        unsaved.discard(i)  # its batch recorded its checkpoint
                    elif mine:
                        positions[i] = mine[-1].position
                        self._lag(i).set(max(0, head - positions[i]))
                        unsaved.add(i)
                if unsaved and now - saved_at >= self.save_idle_every:
                    await self._save_idle(unsaved, positions)
                    saved_at = now
                continue
            if unsaved:  # caught up: record where the idle runners are
                await self._save_idle(unsaved, positions)
                saved_at = now
            for i in active:
                self._lag(i).set(0)
            waiters = [asyncio.ensure_future(signal.wait()), asyncio.ensure_future(stop.wait())]
            timeout = min([self.poll_interval] + [until - now for until in paused if until > now])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.wait(waiters, return_when="FIRST_COMPLETED"),
                                       max(0.0, timeout))
            for waiter in waiters:
                waiter.cancel()
            if signal.is_set() and not stop.is_set():
                await asyncio.sleep(self.linger)

    async def _deliver(self, i: int, mine: list[Delivery], positions: list[int],
                       paused: list[float], head: int) -> None:
        runner = self.runners[i]
        try:
            await runner.handle_with_retry(mine)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("projection_task_failed", projection=runner.projection.name,
                          source=self.name)
            paused[i] = asyncio.get_running_loop().time() + self.retry_after
            return
        positions[i] = mine[-1].position
        self._lag(i).set(max(0, head - positions[i]))
        if len(mine) >= self.YIELD_AFTER:  # far behind: let requests in between the runners
            await asyncio.sleep(0)

    async def _save_idle(self, unsaved: set[int], positions: list[int]) -> None:
        """Record the checkpoints of runners that only skipped events since their last batch:
        one transaction per database and position, after the runners with work (a batch's
        freshness does not wait for them), at most every ``save_idle_every`` s under load.
        Lost in a crash, they only make those events be skipped once more."""
        groups: dict[tuple[int, int], list[SubscriptionRunner]] = {}
        for i in sorted(unsaved):
            groups.setdefault((id(self.runners[i].engine), positions[i]), []).append(
                self.runners[i])
        for (_engine, position), runners in groups.items():
            await SubscriptionRunner.advance_idle(runners, [Delivery(self.name, position, None)])
        unsaved.clear()

    def _lag(self, i: int):
        """Runner ``i``'s lag gauge (the labelled child is kept: ``labels()`` costs more than
        setting it, once per runner and batch)."""
        gauge = self._lags.get(i)
        if gauge is None:
            gauge = self._lags[i] = self.runners[i].metrics.projection_lag_events.labels(
                self.runners[i].projection.name, self.name)
        return gauge
