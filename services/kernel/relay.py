"""Relay (transactional outbox): tails a store and publishes its events to Kafka.

Idempotent producer (acks=all), key = stream id, so each stream keeps its order within its
partition. The checkpoint records only the in-order prefix the broker acknowledged; after a
crash the relay resends from there, and consumers drop the duplicates by stream version.

On PostgreSQL the relay does not wait for its next poll: a statement trigger on the events
table sends a NOTIFY when an append commits, and the relay LISTENs for it (the poll stays as
the fallback, e.g. while the listening connection is being re-established).
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


NOTIFY_CHANNEL = "zugong_events_appended"

_NOTIFY_DDL = (
    "SELECT pg_advisory_xact_lock(7240212)",  # concurrent CREATE OR REPLACE would collide
    "CREATE OR REPLACE FUNCTION zugong_events_appended() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN PERFORM pg_notify('{NOTIFY_CHANNEL}', ''); RETURN NULL; END $$",
    "CREATE OR REPLACE TRIGGER zugong_events_appended AFTER INSERT ON events "
    "FOR EACH STATEMENT EXECUTE FUNCTION zugong_events_appended()",
)


LISTENING_POLL_INTERVAL = 1.0
"""Seconds between idle looks while the NOTIFY listener is connected: the safety net for a
notification lost with its connection, and how soon a checkpoint moved back by an operator is
seen when no append comes."""


class AppendListener:
    """Wakes the relay when an append commits (PostgreSQL LISTEN/NOTIFY); on SQLite, or when
    the listening connection fails, ``wait`` simply times out and the relay polls."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._signal = asyncio.Event()
        self._connection = None
        self._notifying = False  # the trigger is in place: appends will wake us

    @property
    def enabled(self) -> bool:
        return self.store.engine.dialect.name == "postgresql"

    async def install(self) -> None:
        """Create the trigger (idempotent); the events table must exist."""
        if not self.enabled:
            return
        async with self.store.engine.begin() as conn:
            for statement in _NOTIFY_DDL:
                await conn.exec_driver_sql(statement)
        self._notifying = True

    async def _ensure_listening(self) -> None:
        if not self.enabled or self.listening:
            return
        import asyncpg

        url = self.store.engine.url.set(drivername="postgresql")
        connection = await asyncpg.connect(url.render_as_string(hide_password=False))
        await connection.add_listener(NOTIFY_CHANNEL, lambda *_: self._signal.set())
        self._connection = connection
        self._signal.set()  # appends made while nobody listened: look once

    @property
    def listening(self) -> bool:
        return self._connection is not None and not self._connection.is_closed()

    async def wait(self, seconds: float) -> None:
        """Until an append commits, or ``seconds`` (``LISTENING_POLL_INTERVAL`` at least while
        listening: a NOTIFY wakes the relay, and each idle look costs a few round trips)."""
        try:
            await self._ensure_listening()
        except Exception as error:  # the poll covers for it; try again next time
            log.warning("relay_listen_failed", error=repr(error)[:300])
        if self.listening and self._notifying:
            seconds = max(seconds, LISTENING_POLL_INTERVAL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._signal.wait(), seconds)
        self._signal.clear()

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


class Relay:
    def __init__(
        self, service: str, store: EventStore, *, bootstrap_servers: str,
        topic_for: Callable[[str], str], metrics: Metrics, batch_size: int = 2000,
        send_timeout: float = 30.0, poll_interval: float = 0.05,
    ) -> None:
        """``poll_interval``: seconds between looks at the store when idle (on PostgreSQL a
        NOTIFY wakes the relay sooner)."""
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
        self._appends = AppendListener(store)
        self.broker_error: str | None = "not connected yet"
        """Why the last attempt to publish failed; None once the broker acknowledged."""

    async def _producer_or_new(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap_servers, enable_idempotence=True, acks="all",
                linger_ms=5, max_batch_size=512 * 1024, request_timeout_ms=15000)
            try:
                await producer.start()
            except Exception as error:
                self.broker_error = repr(error)[:300]
                raise
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
                self.broker_error = repr(result)[:300]
                log.warning("relay_send_failed", error=repr(result), position=event.position)
                await self._drop_producer()
                break
            acknowledged = event.position
        if acknowledged:
            self.broker_error = None
        self.metrics.relay_publish_latency.labels(self.service).observe(
            time.perf_counter() - started)
        return acknowledged

    async def run_once(self) -> int:
        """Publish one batch from the checkpoint; returns how many events were published."""
        position = await self.position()  # each time: an operator may have moved it back
        events = await self.store.read_all(position, self.batch_size)
        if not events:
            self.metrics.relay_backlog.labels(self.service).set(0)
            if self.broker_error is not None:  # idle: prove the broker is reachable anyway
                await self._producer_or_new()
                self.broker_error = None
            return 0
        try:
            acknowledged = await self.publish_batch(events)
        except TimeoutError:
            self.broker_error = f"no acknowledgement within {self.send_timeout} s"
            log.warning("relay_send_timeout", timeout=self.send_timeout)
            await self._drop_producer()
            return 0
        published = sum(1 for e in events if e.position <= acknowledged)
        if published:
            await self._save_position(acknowledged)
            self.metrics.relay_published.labels(self.service).inc(published)
        if len(events) < self.batch_size and acknowledged == events[-1].position:
            backlog = 0  # the read reached the head and everything read was acknowledged
        else:
            backlog = await self.store.head_position() - max(acknowledged, position)
        self.metrics.relay_backlog.labels(self.service).set(backlog)
        return published

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        log.info("relay_started", service=self.service, bootstrap=self.bootstrap_servers)
        delay = 0.1
        try:
            await self._appends.install()
        except Exception as error:  # e.g. no right to create triggers: polling still works
            log.warning("relay_notify_trigger_failed", error=repr(error)[:300])
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
                    waiting = asyncio.ensure_future(self._appends.wait(self.poll_interval))
                    stopping = asyncio.ensure_future(stop.wait())
                    await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    for task in (waiting, stopping):
                        task.cancel()
        finally:
            await self._appends.close()
            await self._drop_producer()
