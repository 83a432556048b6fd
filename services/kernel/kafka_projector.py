"""Kafka event source: a faust-streaming worker that feeds topic batches to subscription runners.

At-least-once by design (never faust's exactly_once): each batch is committed to the read
model together with its checkpoint, then acknowledged to Kafka when the next batch is
requested. A redelivery after a crash is filtered by the runner. Nothing escapes the agent
body: transient failures are retried, poison events are parked by the runner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import faust
from pydantic import ValidationError

from contracts.envelope import EventEnvelope
from services.kernel.logging import get_logger
from services.kernel.subscription import Delivery, SubscriptionRunner

__all__ = ["build_projector_app", "to_delivery"]

log = get_logger("zugong.kafka_projector")


def to_delivery(topic: str, partition: int, offset: int, value: bytes | None) -> Delivery:
    source = f"kafka:{topic}:{partition}"
    try:
        return Delivery(source, offset, EventEnvelope.model_validate_json(value or b""))
    except ValidationError as error:
        return Delivery(source, offset, None, raw=value, decode_error=f"bad envelope: {error}")


def build_projector_app(
    *, app_id: str, bootstrap_servers: str, topics: Sequence[str],
    runners: Callable[[], Awaitable[list[SubscriptionRunner]]],
    batch_size: int = 500, batch_within: float = 0.02, partitions: int = 1,
    web_port: int | None = None, datadir: str | None = None,
) -> faust.App:
    """A faust app with one agent over ``topics``; ``runners`` is awaited once, at first batch,
    so no database connection is made at import or construction time."""
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
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        **({"datadir": datadir} if datadir else {}),
    )
    channel = app.topic(*topics, key_type=bytes, value_type=bytes,
                        key_serializer="raw", value_serializer="raw")

    @app.agent(channel, concurrency=1, name="project")
    async def project(stream):
        targets = await runners()
        log.info("projector_started", topics=list(topics),
                 projections=[r.projection.name for r in targets])
        async for events in stream.take_events(batch_size, within=batch_within):
            deliveries = [
                to_delivery(e.message.topic, e.message.partition, e.message.offset, e.value)
                for e in events
            ]
            for runner in targets:
                await runner.handle_with_retry(deliveries)

    return app
