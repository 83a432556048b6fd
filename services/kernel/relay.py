"""Relay (transactional outbox): tails a store and publishes its events to Kafka.

Idempotent producer (acks=all), key = stream id, so each stream keeps its order within its
partition. The checkpoint records only the in-order prefix the broker acknowledged; after a
crash the relay resends from there, and consumers drop the duplicates by stream version.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer

from services.kernel.eventstore import EventStore, RecordedEvent, store_metadata
from services.kernel.logging import get_logger
from services.kernel.metrics import Metrics

__all__ = ["Relay", "relay_checkpoint_table"]

log = get_logger("zugong.relay")

relay_checkpoint_table = sa.Table(
    "relay_checkpoint", store_metadata,
    sa.Column("relay", sa.String(100), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


class Relay:
    def __init__(
        self, service: str, store: EventStore, *, bootstrap_servers: str,
        topic_for: Callable[[str], str], metrics: Metrics, batch_size: int = 2000,
        send_timeout: float = 30.0, poll_interval: float = 0.05,
    ) -> None:
        self.service = service
        self.store = store
        self.bootstrap_servers = bootstrap_servers
        self.topic_for = topic_for
        self.metrics = metrics
        self.batch_size = batch_size
        self.send_timeout = send_timeout
        self.poll_interval = poll_interval
        self.name = f"relay:{service}"
        self._producer: AIOKafkaProducer | None = None

    async def _producer_or_new(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap_servers, enable_idempotence=True, acks="all",
                linger_ms=5, max_batch_size=512 * 1024, request_timeout_ms=15000)
            await producer.start()
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()

    async def position(self) -> int:
        async with self.store.engine.connect() as conn:
            value = await conn.scalar(sa.select(relay_checkpoint_table.c.position).where(
                relay_checkpoint_table.c.relay == self.name))
        return value or 0

    async def _save_position(self, position: int) -> None:
        now = datetime.now(UTC)
        async with self.store.engine.begin() as conn:
            updated = await conn.execute(relay_checkpoint_table.update().where(
                relay_checkpoint_table.c.relay == self.name).values(
                position=position, updated_at=now))
            if updated.rowcount == 0:
                await conn.execute(relay_checkpoint_table.insert().values(
                    relay=self.name, position=position, updated_at=now))

    async def publish_batch(self, events: list[RecordedEvent]) -> int:
        """Send a batch; returns the position of the last event of the acknowledged prefix."""
        producer = await self._producer_or_new()
        started = time.perf_counter()
        futures = []
        for event in events:
            envelope = event.to_envelope(self.service)
            futures.append(await producer.send(
                self.topic_for(event.stream_type),
                value=envelope.model_dump_json().encode(),
                key=event.stream_id.encode(),
            ))
        acknowledged = 0
        results = await asyncio.wait_for(
            asyncio.gather(*futures, return_exceptions=True), self.send_timeout)
        for event, result in zip(events, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("relay_send_failed", error=repr(result), position=event.position)
                await self._drop_producer()
                break
            acknowledged = event.position
        self.metrics.relay_publish_latency.labels(self.service).observe(
            time.perf_counter() - started)
        return acknowledged

    async def run_once(self) -> int:
        """Publish one batch from the checkpoint; returns how many events were published."""
        position = await self.position()
        events = await self.store.read_all(position, self.batch_size)
        if not events:
            self.metrics.relay_backlog.labels(self.service).set(0)
            return 0
        try:
            acknowledged = await self.publish_batch(events)
        except TimeoutError:
            log.warning("relay_send_timeout", timeout=self.send_timeout)
            await self._drop_producer()
            return 0
        published = sum(1 for e in events if e.position <= acknowledged)
        if published:
            await self._save_position(acknowledged)
            self.metrics.relay_published.labels(self.service).inc(published)
        head = await self.store.head_position()
        self.metrics.relay_backlog.labels(self.service).set(head - max(acknowledged, position))
        return published

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        log.info("relay_started", service=self.service, bootstrap=self.bootstrap_servers)
        delay = 0.1
        try:
            while not stop.is_set():
                try:
                    published = await self.run_once()
                    delay = 0.1
                except Exception as error:  # broker or database down: back off and retry
                    log.warning("relay_error", error=repr(error)[:300], retry_in=delay)
                    await self._drop_producer()
                    published = 0
                    await asyncio.sleep(delay)
                    delay = min(5.0, delay * 2)
                if not published:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.poll_interval)
        finally:
            await self._drop_producer()
