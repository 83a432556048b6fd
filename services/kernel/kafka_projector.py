"""Kafka event source: a faust-streaming worker that feeds topic batches to subscription runners.

At-least-once by design (never faust's exactly_once): each batch is committed to the read
model together with its checkpoint, then acknowledged to Kafka when the next batch is
requested. A redelivery after a crash is filtered by the runner. Nothing escapes the agent
body: transient failures are retried, poison events are parked by the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import faust
from pydantic import ValidationError

from contracts.envelope import EventEnvelope
from services.kernel.logging import get_logger
from services.kernel.metrics import Metrics
from services.kernel.subscription import Delivery, SubscriptionRunner

__all__ = ["batches", "build_projector_app", "project_batch", "to_delivery"]

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


async def batches(stream: Any, max_: int, within: float) -> AsyncIterator[list[Any]]:
    """Batches of at most ``max_`` events, like faust's ``take_events``, acknowledged when the
    next batch is asked for (so after the caller's commit), but the stream is read while a
    batch is being applied: ``take_events`` stops buffering during the caller's work and
    then fills for only ``within`` seconds, so under a backlog every batch held what arrived
    in those 5 ms (≈ 60 events) whatever the batch size. Here the next batch is whatever
    arrived meanwhile (up to ``max_``), and ``within`` counts from a batch's first event:
    a lone event waits at most that long."""
    stream.enable_acks = False  # acknowledged here, after the caller's commit
    queue: asyncio.Queue = asyncio.Queue(maxsize=max_)

    async def read() -> None:
        async for event in stream.events():
            await queue.put(event)

    reader = asyncio.ensure_future(read())
    loop = asyncio.get_running_loop()
    try:
        while True:
            if queue.empty():
                waiting = asyncio.ensure_future(queue.get())
                await asyncio.wait({waiting, reader}, return_when=asyncio.FIRST_COMPLETED)
                if not waiting.done():
                    waiting.cancel()
                    reader.result()  # the stream ended or failed: say so
                    return
                batch = [waiting.result()]
            else:
                batch = [queue.get_nowait()]
            deadline = loop.time() + within
            while len(batch) < max_:
                if queue.empty():
                    if loop.time() >= deadline:
                        break
                    await asyncio.sleep(min(0.001, max(0.0, deadline - loop.time())))
                    continue
                batch.append(queue.get_nowait())
            yield batch
            for event in batch:
                await stream.ack(event)
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader


def build_projector_app(
    *, app_id: str, bootstrap_servers: str, topics: Sequence[str],
    runners: Callable[[], Awaitable[list[SubscriptionRunner]]],
    batch_size: int = 500, batch_within: float = 0.02, partitions: int = 1,
    web_port: int | None = None, datadir: str | None = None, metrics: Metrics | None = None,
    dead_letter_topic: str | None = None, lag_interval: float = 5.0,
    session_timeout: float = 10.0, ops_port: int | None = None, max_lag_events: int = 10_000,
) -> faust.App:
    """A faust app with one agent over ``topics``; ``runners`` is awaited once, at first batch,
    so no database connection is made at import or construction time.

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
        consumer_auto_offset_reset="earliest",
        stream_buffer_maxsize=4 * batch_size,
        broker_max_poll_records=batch_size,
        web_enabled=web_port is not None,
        web_port=web_port or 6066,
        producer_acks=-1,
        broker_commit_every=batch_size,
        broker_commit_interval=0.5,
        broker_session_timeout=session_timeout,
        broker_heartbeat_interval=min(1.0, session_timeout / 4),
        **({"datadir": datadir} if datadir else {}),
    )
    channel = app.topic(*topics, key_type=bytes, value_type=bytes,
                        key_serializer="raw", value_serializer="raw")

    dead_letters = app.topic(dead_letter_topic, key_type=bytes, value_type=bytes,
                             key_serializer="raw", value_serializer="raw") \
        if dead_letter_topic else None
    consumed: dict[Any, int] = {}  # partition -> last offset applied by every projection
    names: list[str] = []
    started: list[SubscriptionRunner] = []

    def update_lag() -> None:
        if metrics is None:
            return
        for tp, offset in consumed.items():
            try:
                highwater = app.consumer.highwater(tp)
            except Exception:  # not assigned any more, or not fetched yet
                continue
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

    @app.agent(channel, concurrency=1, name="project")
    async def project(stream):
        targets = await runners()
        started[:] = targets
        names[:] = [r.projection.name for r in targets]
        if dead_letters is not None:
            await dead_letters.maybe_declare()
            for runner in targets:
                runner.on_parked = publish_dead_letters
        log.info("projector_started", topics=list(topics), projections=names)
        async for events in batches(stream, batch_size, batch_within):
            deliveries = [
                to_delivery(e.message.topic, e.message.partition, e.message.offset, e.value)
                for e in events
            ]
            await project_batch(targets, deliveries)
            for e in events:
                consumed[e.message.tp] = e.message.offset
            update_lag()

    async def projections_running() -> tuple[bool, str]:
        if not started:
            return False, "starting: not consuming yet"
        async with started[0].engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return True, f"{', '.join(names)}; read-model database reachable"

    async def caught_up() -> tuple[bool, str]:
        worst, where = 0, "no partition assigned"
        for tp in app.consumer.assignment():
            highwater = app.consumer.highwater(tp)
            if highwater is None or highwater < 0:
                continue
            lag = max(0, highwater - consumed.get(tp, -1) - 1)
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
