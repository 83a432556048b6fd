"""Kafka event source: a faust-streaming worker that feeds topic batches to subscription runners.

At-least-once by design (never faust's exactly_once): each batch is committed to the read
model together with its checkpoint, and only then are its offsets committed to Kafka. A
redelivery after a crash is filtered by the runner (the read model's checkpoints decide what
is applied). Nothing escapes the loop: transient failures are retried, poison events are
parked by the runner.

The worker is a faust app (its producer publishes dead letters; its timers, web server and
life cycle are faust's), but the topics are read by an aiokafka consumer of our own
(``TopicBatches``) rather than faust's stream: faust hands a stream over event by event on
the thread that applies the batches (≈ 30 µs each), so batches stayed at 60–80 events
whatever their size and the projector was busy doing that. ``getmany`` returns what the
fetcher has buffered, a thousand events per partition under a backlog, and the next batch is
fetched and decoded while the current one is applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from faust.app.base import BootStrategy
from pydantic import ValidationError

from contracts.envelope import EventEnvelope
from services.kernel.logging import get_logger
from services.kernel.metrics import Metrics
from services.kernel.subscription import Delivery, SubscriptionRunner

__all__ = ["TopicBatches", "build_projector_app", "project_batch", "to_delivery"]

log = get_logger("zugong.kafka_projector")


def to_delivery(topic: str, partition: int, offset: int, value: bytes | None) -> Delivery:
    source = f"kafka:{topic}:{partition}"
    try:
        return Delivery(source, offset, EventEnvelope.model_validate_json(value or b""))
    except ValidationError as error:
        return Delivery(source, offset, None, raw=value, decode_error=f"bad envelope: {error}")


async def project_batch(runners: Sequence[SubscriptionRunner], deliveries: list[Delivery]
                        ) -> None:
    """Hands one batch to every runner at once: each applies it in its own transaction on its
    own connection (their rows and checkpoints are disjoint), so the database works on all
    of them together instead of one after the other. Returns when every one has committed;
    the batch is acknowledged to Kafka only after that."""
    if len(runners) == 1:
        await runners[0].handle_with_retry(deliveries)
        return
    busy = [runner for runner in runners if runner.has_work(deliveries)]
    idle = [runner for runner in runners if runner not in busy]
    work = [runner.handle_with_retry(deliveries) for runner in busy]
    if len(idle) > 1 and all(runner.engine is idle[0].engine for runner in idle):
        # projections with nothing to apply only move their checkpoints: one transaction
        work.append(SubscriptionRunner.advance_idle(idle, deliveries))
    else:
        work += [runner.handle_with_retry(deliveries) for runner in idle]
    results = await asyncio.gather(*work, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


Batch = tuple[list[Delivery], dict[TopicPartition, int]]
"""Deliveries in offset order per partition, and the last offset of each partition in them."""


class TopicBatches(ConsumerRebalanceListener):
    """Batches from an aiokafka consumer in a consumer group, applied by ``apply`` one after
    the other while the next one is fetched and decoded; offsets are committed to Kafka only
    after ``apply`` returned (the read model committed).

    Rebalancing: when partitions are revoked, the group waits (``on_partitions_revoked``) for
    the batch being applied to commit, and for its offsets to be committed; a batch fetched
    before the rebalance is applied only for the partitions still assigned afterwards, so two
    members never apply a partition at the same time. The runners' checkpoints filter what a
    new owner receives again."""

    def __init__(self, consumer: AIOKafkaConsumer, apply: Callable[[list[Delivery]], Awaitable[None]],
                 *, batch_size: int, within: float,
                 decode: Callable[[str, int, int, bytes | None], Delivery] = to_delivery,
                 on_batch: Callable[[], None] = lambda: None) -> None:
        self.consumer = consumer
        self.on_batch = on_batch
        """Called after each batch is applied (the projector updates its lag metrics)."""
        self.apply = apply
        self.batch_size = batch_size
        self.within = within
        self.decode = decode
        self.applied: dict[TopicPartition, int] = {}
        """Per partition, the last offset every projection has committed (this member's)."""
        self._committed: dict[TopicPartition, int] = {}
        self._assigned: set[TopicPartition] = set()
        self._applying = asyncio.Lock()
        self._commit_task: asyncio.Future | None = None

    # -- rebalance listener ------------------------------------------------------------------

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._applying:  # the batch being applied commits first
            await self.commit(wait=True)
            self._assigned.difference_update(revoked)
            for tp in revoked:
                self.applied.pop(tp, None)
                self._committed.pop(tp, None)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._assigned.update(assigned)

    # -- the loop ------------------------------------------------------------------------------

    async def fetch(self) -> Batch:
        """The next batch: at least one event (waits for it), then whatever arrives within
        ``within`` seconds of it, at most ``batch_size`` events."""
        loop = asyncio.get_running_loop()
        records: list[Any] = []
        deadline = None
        while len(records) < self.batch_size:
            if deadline is None:
                timeout = 1000
            else:
                timeout = int(max(0.0, deadline - loop.time()) * 1000)
            try:
                fetched = await self.consumer.getmany(timeout_ms=timeout,
                                                      max_records=self.batch_size - len(records))
            except KafkaError as error:  # the consumer reconnects by itself; look again soon
                log.warning("kafka_fetch_failed", error=repr(error)[:300])
                await asyncio.sleep(1.0)
                continue
            for messages in fetched.values():
                records += messages
            if records and deadline is None:
                deadline = loop.time() + self.within
            if deadline is not None and (not fetched or loop.time() >= deadline):
                break
        decode = self.decode
        deliveries = [decode(m.topic, m.partition, m.offset, m.value) for m in records]
        last: dict[TopicPartition, int] = {}
        for m in records:
            last[TopicPartition(m.topic, m.partition)] = m.offset
        return deliveries, last

    async def run(self) -> None:
        """Until cancelled."""
        fetching = asyncio.ensure_future(self.fetch())
        try:
            while True:
                deliveries, last = await fetching
                fetching = asyncio.ensure_future(self.fetch())
                async with self._applying:
                    if not self._assigned.issuperset(last):  # revoked since it was fetched
                        deliveries = [d for d in deliveries
                                      if _partition_of(d) in self._assigned]
                        last = {tp: o for tp, o in last.items() if tp in self._assigned}
                    if deliveries:
                        await self.apply(deliveries)
                        self.applied.update(last)
                self.on_batch()
                if self._commit_task is None or self._commit_task.done():
                    self._commit_task = asyncio.ensure_future(self.commit())
        finally:
            fetching.cancel()
            with contextlib.suppress(BaseException):
                await fetching

    async def commit(self, *, wait: bool = False) -> None:
        """Commits the applied offsets not committed yet. A failure only means that a future
        owner receives those events again (and skips them)."""
        if wait and self._commit_task is not None and not self._commit_task.done():
            with contextlib.suppress(BaseException):
                await self._commit_task
        offsets = {tp: offset + 1 for tp, offset in self.applied.items()
                   if tp in self._assigned and self._committed.get(tp) != offset + 1}
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except KafkaError as error:
            log.warning("offset_commit_failed", error=repr(error)[:300])
            return
        self._committed.update(offsets)


_FETCH_BYTES_PER_PARTITION = 4 * 1024 * 1024


def _partition_of(delivery: Delivery) -> TopicPartition:
    _, topic, partition = delivery.source.rsplit(":", 2)
    return TopicPartition(topic, int(partition))


def build_projector_app(
    *, app_id: str, bootstrap_servers: str, topics: Sequence[str],
    runners: Callable[[], Awaitable[list[SubscriptionRunner]]],
    batch_size: int = 500, batch_within: float = 0.02, partitions: int = 1,
    web_port: int | None = None, datadir: str | None = None, metrics: Metrics | None = None,
    dead_letter_topic: str | None = None, lag_interval: float = 5.0,
    session_timeout: float = 10.0, ops_port: int | None = None, max_lag_events: int = 10_000,
) -> faust.App:
    """A faust app whose task consumes ``topics`` in the consumer group ``app_id``;
    ``runners`` is awaited once, when the task starts, so no database connection is made at
    import or construction time.

    With ``metrics``, the consumer lag of every partition (and each projection's lag in events
    per source) is updated after each batch and every ``lag_interval`` seconds. With
    ``dead_letter_topic``, every parked event is also published there (key: projection).
    With ``ops_port`` (and ``metrics``) it serves /metrics, /healthz and /readyz there: ready
    when the projections are running, their database answers and no assigned partition is more
    than ``max_lag_events`` behind."""
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap_servers}",
        store="memory://",
        topic_partitions=partitions,
        topic_allow_declare=True,
        web_enabled=web_port is not None,
        web_port=web_port or 6066,
        producer_acks=-1,
        **({"datadir": datadir} if datadir else {}),
    )
    # faust's own consumer stays off: the topics are read by ``TopicBatches``
    app.boot_strategy = BootStrategy(app, enable_kafka_consumer=False)

    dead_letters = app.topic(dead_letter_topic, key_type=bytes, value_type=bytes,
                             key_serializer="raw", value_serializer="raw") \
        if dead_letter_topic else None
    names: list[str] = []
    started: list[SubscriptionRunner] = []
    source: list[TopicBatches] = []

    def update_lag() -> None:
        if metrics is None or not source:
            return
        consumer = source[0].consumer
        for tp, offset in list(source[0].applied.items()):
            highwater = consumer.highwater(tp)
            if highwater is None or highwater < 0:
                continue
            lag = max(0, highwater - offset - 1)
            metrics.kafka_consumer_lag.labels(app_id, tp.topic, str(tp.partition)).set(lag)
            for name in names:
                metrics.projection_lag_events.labels(
                    name, f"kafka:{tp.topic}:{tp.partition}").set(lag)

    async def publish_dead_letters(letters: list[dict[str, Any]]) -> None:
        for letter in letters:
            body = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in letter.items()}
            await dead_letters.send(key=letter["projection"].encode(),
                                    value=json.dumps(body, ensure_ascii=False).encode())
            if metrics is not None:
                metrics.dead_letters_published.labels(letter["projection"]).inc()

    async def declare_topics() -> None:
        from services.kernel.kafka_admin import ensure_topics

        delay = 0.5
        while True:
            try:
                await ensure_topics(bootstrap_servers, list(topics), partitions)
                if dead_letters is not None:
                    await dead_letters.maybe_declare()
                return
            except Exception as error:  # the broker is not up yet: wait for it
                log.warning("projector_topics_not_declared", error=repr(error)[:300],
                            retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    @app.task
    async def project() -> None:
        targets = await runners()
        started[:] = targets
        names[:] = [r.projection.name for r in targets]
        if dead_letters is not None:
            for runner in targets:
                runner.on_parked = publish_dead_letters
        await declare_topics()

        async def apply(deliveries: list[Delivery]) -> None:
            await project_batch(targets, deliveries)

        # what start-up built stays out of the collector's view, and a collection runs after
        # many more allocations than the default 700: each batch allocates tens of objects
        # per event, and collections walking faust's and SQLAlchemy's modules cost the
        # projector a good part of its time
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        delay = 0.5
        while True:  # a broker that is not reachable yet: wait for it
            consumer = AIOKafkaConsumer(
                bootstrap_servers=bootstrap_servers, group_id=app_id, client_id=app_id,
                enable_auto_commit=False, auto_offset_reset="earliest",
                max_poll_records=batch_size,
                # a fetch brings up to a batch's worth of a backlog per partition (aiokafka's
                # default, 1 MiB, is ≈ 1,000 events: batches stayed smaller than batch_size)
                max_partition_fetch_bytes=_FETCH_BYTES_PER_PARTITION,
                session_timeout_ms=int(session_timeout * 1000),
                heartbeat_interval_ms=int(min(1.0, session_timeout / 4) * 1000))
            batches = TopicBatches(consumer, apply, batch_size=batch_size, within=batch_within,
                                   on_batch=update_lag)
            consumer.subscribe(list(topics), listener=batches)
            try:
                await consumer.start()
                break
            except KafkaError as error:
                log.warning("projector_consumer_not_started", error=repr(error)[:300],
                            retry_in=delay)
                with contextlib.suppress(Exception):
                    await consumer.stop()
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)
        source[:] = [batches]
        log.info("projector_started", topics=list(topics), projections=names)
        try:
            await batches.run()
        finally:
            with contextlib.suppress(Exception):
                await batches.commit(wait=True)
            await consumer.stop()

    async def projections_running() -> tuple[bool, str]:
        if not started:
            return False, "starting: not consuming yet"
        async with started[0].engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return True, f"{', '.join(names)}; read-model database reachable"

    async def caught_up() -> tuple[bool, str]:
        worst, where = 0, "no partition assigned"
        if source:
            consumer, applied = source[0].consumer, source[0].applied
            for tp in consumer.assignment():
                highwater = consumer.highwater(tp)
                if highwater is None or highwater < 0:
                    continue
                lag = max(0, highwater - applied.get(tp, -1) - 1)
                if lag >= worst:
                    worst, where = lag, f"{tp.topic}[{tp.partition}]"
        return worst <= max_lag_events, f"{worst} events behind at most ({where}); " \
            f"threshold {max_lag_events}"

    if ops_port is not None and metrics is not None:
        from services.kernel.ops_server import serve_ops

        @app.task
        async def serve_operations() -> None:
            await serve_ops(ops_port, metrics.registry,
                            {"projections": projections_running, "lag": caught_up},
                            asyncio.Event())

    @app.timer(lag_interval)
    async def refresh_lag() -> None:
        update_lag()

    return app
