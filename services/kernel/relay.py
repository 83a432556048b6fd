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
from typing import Any

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from services.kernel.eventstore import EventStore, PublishedEvent, store_metadata
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


_PARTITIONER = DefaultPartitioner()
"""The producer's own choice of partition for a key (murmur2, as Kafka's Java client): a
stream's events must keep landing in the partition its earlier events are in."""

NOTIFY_CHANNEL = "zugong_events_appended"

_NOTIFY_DDL = (
    "SELECT pg_advisory_xact_lock(7240212)",  # concurrent CREATE OR REPLACE would collide
    "CREATE OR REPLACE FUNCTION zugong_events_appended() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN PERFORM pg_notify('{NOTIFY_CHANNEL}', ''); RETURN NULL; END $$",
    "CREATE OR REPLACE TRIGGER zugong_events_appended AFTER INSERT ON events "
    "FOR EACH STATEMENT EXECUTE FUNCTION zugong_events_appended()",
)


GATHER_SECONDS = 0.004
"""While appends keep coming, a woken relay reads the store at most this often: at 500
commands/s each append was read, published and checkpointed alone (five round trips and a
produce request per event); a few milliseconds gathers several per batch. Under light traffic
the last read is long past and nothing waits."""

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

    @property
    def wakes_on_append(self) -> bool:
        """An append committed from now on will end the next ``wait`` early."""
        return self.listening and self._notifying

    async def wait(self, seconds: float) -> None:
        """Until an append commits, or ``seconds`` (``LISTENING_POLL_INTERVAL`` at least while
        listening: a NOTIFY wakes the relay, and each idle look costs a few round trips)."""
        try:
            await self._ensure_listening()
        except Exception as error:  # the poll covers for it; try again next time
            log.warning("relay_listen_failed", error=repr(error)[:300])
        if self.wakes_on_append:
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
        self._partitions: dict[tuple[str, str], int] = {}  # (topic, stream id) -> partition
        self._appends = AppendListener(store)
        self.broker_error: str | None = "not connected yet"
        """Why the last attempt to publish failed; None once the broker acknowledged."""
        self.caught_up = False
        """The last ``run_once`` read up to the store's head and published all it read."""
        self._last_read = float("-inf")

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
        self._partitions.clear()  # the topics may have been given more partitions
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()

    async def position(self) -> int:
        if (postgres := self.store.postgres) is not None:
            return await postgres.relay_position(self.name) or 0
        async with self.store.engine.connect() as conn:
            value = await conn.scalar(sa.select(relay_checkpoint_table.c.position).where(
                relay_checkpoint_table.c.relay == self.name))
        return value or 0

    async def _save_position(self, position: int) -> None:
        now = datetime.now(UTC)
        if (postgres := self.store.postgres) is not None:
            await postgres.save_relay_position(self.name, position, now)
            return
        async with self.store.engine.begin() as conn:
            updated = await conn.execute(relay_checkpoint_table.update().where(
                relay_checkpoint_table.c.relay == self.name).values(
                position=position, updated_at=now))
            if updated.rowcount == 0:
                await conn.execute(relay_checkpoint_table.insert().values(
                    relay=self.name, position=position, updated_at=now))

    async def publish_batch(self, events: list[PublishedEvent]) -> int:
        """Send a batch; returns the position of the last event of the acknowledged prefix.

        The events go out in record batches built here, one per partition (closed when full,
        so none lingers): a future per record batch instead of one per event, and each key's
        partition is the producer's own (``DefaultPartitioner``), remembered per stream."""
        producer = await self._producer_or_new()
        started = time.perf_counter()
        open_batches: dict[tuple[str, int], tuple[Any, list[int]]] = {}
        sent: list[tuple[asyncio.Future, list[int]]] = []  # a record batch, its events' indexes

        async def submit(topic: str, partition: int) -> None:
            builder, members = open_batches.pop((topic, partition))
            builder.close()
            sent.append((await producer.send_batch(builder, topic, partition=partition),
                         members))

        for index, event in enumerate(events):
            topic = self.topic_for(event.stream_type)
            key = event.stream_id.encode()
            partition = self._partitions.get((topic, event.stream_id))
            if partition is None:
                partition = await self._partition_of(producer, topic, key, event.stream_id)
            where = (topic, partition)
            if where not in open_batches:
                open_batches[where] = (producer.create_batch(), [])
            builder, members = open_batches[where]
            if builder.append(key=key, value=event.envelope, timestamp=None) is None:
                await submit(topic, partition)  # full
                builder, members = open_batches[where] = (producer.create_batch(), [])
                if builder.append(key=key, value=event.envelope, timestamp=None) is None:
                    raise ValueError(f"event at {event.position} is larger than a record batch")
            members.append(index)
        for topic, partition in list(open_batches):
            await submit(topic, partition)
        results = await asyncio.wait_for(
            asyncio.gather(*(future for future, _ in sent), return_exceptions=True),
            self.send_timeout)
        first_failed = len(events)
        for (_, members), result in zip(sent, results, strict=True):
            if isinstance(result, BaseException):
                first_failed = min(first_failed, members[0])
                self.broker_error = repr(result)[:300]
                log.warning("relay_send_failed", error=repr(result),
                            position=events[members[0]].position)
        if first_failed < len(events):
            await self._drop_producer()
        acknowledged = events[first_failed - 1].position if first_failed else 0
        if acknowledged:
            self.broker_error = None
        self.metrics.relay_publish_latency.labels(self.service).observe(
            time.perf_counter() - started)
        return acknowledged

    async def _partition_of(self, producer: AIOKafkaProducer, topic: str, key: bytes,
                            stream_id: str) -> int:
        partitions = sorted(await producer.partitions_for(topic))
        partition = _PARTITIONER(key, partitions, partitions)
        if len(self._partitions) >= 100_000:
            self._partitions.clear()
        self._partitions[(topic, stream_id)] = partition
        return partition

    async def run_once(self, *, batches: int = 10) -> int:
        """Publish from the checkpoint, at most ``batches`` batches (then the checkpoint is read
        again: an operator may have moved it back); returns how many events were published.
        The next batch is read from the store while the broker acknowledges the current one."""
        self.caught_up = False
        position = await self.position()
        self._last_read = asyncio.get_running_loop().time()
        events = await self.store.read_published(position, self.batch_size)
        if not events:
            self.caught_up = True
            self.metrics.relay_backlog.labels(self.service).set(0)
            if self.broker_error is not None:  # idle: prove the broker is reachable anyway
                await self._producer_or_new()
                self.broker_error = None
            return 0
        published, acknowledged, caught_up = 0, position, False
        for turn in range(batches):
            following = asyncio.ensure_future(self.store.read_published(
                events[-1].position, self.batch_size)) \
                if len(events) == self.batch_size and turn + 1 < batches else None
            try:
                acknowledged = await self.publish_batch(events) or acknowledged
            except TimeoutError:
                self.broker_error = f"no acknowledgement within {self.send_timeout} s"
                log.warning("relay_send_timeout", timeout=self.send_timeout)
                await self._drop_producer()
                await _cancel(following)
                return published
            done = sum(1 for e in events if e.position <= acknowledged)
            if done:
                await self._save_position(acknowledged)
                self.metrics.relay_published.labels(self.service).inc(done)
                published += done
            complete = acknowledged == events[-1].position
            caught_up = complete and len(events) < self.batch_size
            if following is None or not complete:
                await _cancel(following)
                break
            events = await following
            if not events:
                caught_up = True
                break
        # the read reached the head and everything read was acknowledged: nothing behind
        backlog = 0 if caught_up else await self.store.head_position() - acknowledged
        self.metrics.relay_backlog.labels(self.service).set(max(0, backlog))
        self.caught_up = caught_up
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
                # caught up while appends wake us: the next append's NOTIFY says when to look
                # (one that committed since the read has set the signal already)
                if not published or (self.caught_up and self._appends.wakes_on_append):
                    waiting = asyncio.ensure_future(self._appends.wait(self.poll_interval))
                    stopping = asyncio.ensure_future(stop.wait())
                    await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    for task in (waiting, stopping):
                        task.cancel()
                    gather = self._last_read + GATHER_SECONDS - asyncio.get_running_loop().time()
                    if gather > 0 and not stop.is_set() and self._appends.wakes_on_append:
                        await asyncio.sleep(gather)
        finally:
            await self._appends.close()
            await self._drop_producer()


async def _cancel(task: asyncio.Future | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
