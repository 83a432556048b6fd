"""Shared plumbing of the operating commands: engines, stores, projections, Kafka offsets."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable

from sqlalchemy.ext.asyncio import AsyncEngine

from services.kernel.db import create_engine
from services.kernel.eventstore import EventStore
from services.kernel.settings import Settings
from services.kernel.subscription import Projection

__all__ = [
    "OperationError",
    "kafka_partition_ends",
    "kafka_source",
    "open_read_engine",
    "open_stores",
    "projection_names",
    "projections",
    "service_names",
    "store_source",
    "topic_partitions",
]


class OperationError(RuntimeError):
    """An operating command cannot do what was asked; the message says why and what to do."""


def store_source(service: str) -> str:
    """The checkpoint source name of the embedded feed from ``service``'s store."""
    return f"store:{service}"


def kafka_source(topic: str, partition: int) -> str:
    return f"kafka:{topic}:{partition}"


def projection_names() -> list[str]:
    from zugong.runtime import PROJECTIONS

    return [p.name for p in PROJECTIONS]


def projections(names: Iterable[str] | None = None) -> list[Projection]:
    """Fresh instances of the named projections (all of them when ``names`` is empty)."""
    from zugong.runtime import PROJECTIONS

    by_name = {p.name: p for p in PROJECTIONS}
    wanted = list(names or by_name)
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise OperationError(f"unknown projection {', '.join(unknown)}; "
                             f"one of {', '.join(sorted(by_name))}")
    return [by_name[n]() for n in wanted]


def service_names(only: str | None = None) -> list[str]:
    from zugong.runtime import SERVICES

    if only is not None and only not in SERVICES:
        raise OperationError(f"unknown service {only!r}; one of {', '.join(sorted(SERVICES))}")
    return [only] if only else list(SERVICES)


@contextlib.asynccontextmanager
async def open_read_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.database.readmodel_url, pool_size=2)
    try:
        yield engine
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def open_stores(settings: Settings, only: str | None = None
                      ) -> AsyncIterator[dict[str, EventStore]]:
    """The services' event stores (read-only use), disposed on exit."""
    from zugong.runtime import SERVICES

    stores = {name: SERVICES[name].build_store(settings, None) for name in service_names(only)}
    try:
        yield stores
    finally:
        for store in stores.values():
            await store.engine.dispose()


async def topic_partitions(bootstrap_servers: str, topics: Iterable[str]) -> list:
    """Every (existing) partition of ``topics``, as aiokafka TopicPartitions.

    A consumer only knows the partitions of topics it subscribed to, so ask the cluster; the
    metadata request names no topic, so it never auto-creates one."""
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    wanted = list(topics)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = {t["topic"]: t for t in await admin.describe_topics()}
    finally:
        await admin.close()
    return [TopicPartition(t, p["partition"]) for t in wanted if t in described
            for p in sorted(described[t]["partitions"], key=lambda p: p["partition"])]


async def kafka_partition_ends(bootstrap_servers: str, topics: Iterable[str]
                               ) -> dict[tuple[str, int], int]:
    """End offset (next offset to be written) of every partition of ``topics`` that exists."""
    from aiokafka import AIOKafkaConsumer

    partitions = await topic_partitions(bootstrap_servers, topics)
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): end for tp, end in ends.items()}
