"""Composition roots: what each process of the platform builds from settings.

Embedded: one process with the services, the projector (tailing the stores) and the gateway.
Distributed: each service, its relay, the projector (faust worker) and the gateway apart,
wired by URLs. Same domain, projection and HTTP code in both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.app import create_app as create_gateway_app
from gateway.context import GatewayContext
from gateway.forwarding import ServiceClient
from gateway.readmodels.personnel import PersonnelProjection
from services.kernel.db import create_engine
from services.kernel.eventstore import EventStore
from services.kernel.logging import get_logger
from services.kernel.metrics import Metrics
from services.kernel.personal_data import PersonalDataVault
from services.kernel.relay import Relay
from services.kernel.settings import Settings
from services.kernel.sources import StoreTailSource
from services.kernel.subscription import SubscriptionRunner, projection_positions_table
from services.personnel import bootstrap as personnel_bootstrap

__all__ = [
    "PROJECTIONS",
    "build_relay",
    "create_distributed_gateway",
    "create_embedded_app",
    "create_service_app",
    "projection_runners",
]

log = get_logger("zugong.runtime")

PROJECTIONS = (PersonnelProjection,)


def projection_runners(engine: AsyncEngine, metrics: Metrics) -> list[SubscriptionRunner]:
    return [SubscriptionRunner(p(), engine, metrics) for p in PROJECTIONS]


async def _db_check(engine: AsyncEngine) -> tuple[bool, str]:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))
    return True, "reachable"


def _embedded_lag_check(runners, stores: dict[str, EventStore], threshold: int):
    async def check() -> tuple[bool, str]:
        worst = 0
        for runner in runners:
            for service, store in stores.items():
                done = max(0, await runner.position(f"store:{service}"))
                lag = await store.head_position() - done
                worst = max(worst, lag)
        return worst <= threshold, f"max lag {worst} events (threshold {threshold})"
    return check


def create_embedded_app(settings: Settings, metrics: Metrics | None = None) -> FastAPI:
    """The whole platform in one process on SQLite (or any URLs the settings give)."""
    metrics = metrics or Metrics()

    @contextlib.asynccontextmanager
    async def context() -> AsyncIterator[GatewayContext]:
        store = personnel_bootstrap.build_store(settings, metrics)
        service_app = personnel_bootstrap.create_app(settings, metrics=metrics, store=store)
        read_engine = create_engine(settings.database.readmodel_url)
        runners = projection_runners(read_engine, metrics)
        stores = {"personnel": store}
        client = ServiceClient("personnel", app=service_app)
        stop = asyncio.Event()
        async with service_app.router.lifespan_context(service_app):
            for runner in runners:
                await runner.create_schema()
            tasks = [asyncio.create_task(_supervised(
                StoreTailSource(name, s).run, runner, stop), name=f"project-{name}")
                for runner in runners for name, s in stores.items()]
            ctx = GatewayContext(
                settings=settings, metrics=metrics, read_engine=read_engine,
                verifier=personnel_bootstrap.token_verifier(settings),
                vault=PersonalDataVault(settings.personal_data_key),
                services={"personnel": client}, stores=stores,
                readiness={
                    "store:personnel": lambda: _db_check(store.engine),
                    "readmodel": lambda: _db_check(read_engine),
                    "projections": _embedded_lag_check(
                        runners, stores, settings.gateway.readiness_max_lag_events),
                    "projector_tasks": lambda: _tasks_alive(tasks),
                })
            try:
                yield ctx
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                await client.aclose()
                await read_engine.dispose()

    return create_gateway_app(settings, metrics=metrics, context=context)


async def _tasks_alive(tasks: list[asyncio.Task]) -> tuple[bool, str]:
    dead = [t.get_name() for t in tasks if t.done()]
    return not dead, "running" if not dead else f"stopped: {dead}"


async def _supervised(run, runner: SubscriptionRunner, stop: asyncio.Event) -> None:
    """Keep an embedded projection running; an unexpected error restarts it after a pause."""
    while not stop.is_set():
        try:
            await run(runner, stop)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("projection_task_failed", projection=runner.projection.name)
            await asyncio.sleep(1.0)


def create_service_app(service: str, settings: Settings, metrics: Metrics | None = None
                       ) -> FastAPI:
    """One service as its own HTTP process (distributed mode)."""
    if service != "personnel":
        raise ValueError(f"unknown service {service!r}")
    metrics = metrics or Metrics()
    app = personnel_bootstrap.create_app(settings, metrics=metrics)
    store: EventStore = app.state.store

    @app.get("/readyz", include_in_schema=False)
    async def readyz():
        ok, detail = await _db_check(store.engine)
        return {"status": "ready" if ok else "not_ready", "store": detail}

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint():
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
        from starlette.responses import Response
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def build_relay(service: str, settings: Settings, metrics: Metrics) -> Relay:
    store = personnel_bootstrap.build_store(settings, metrics)
    return Relay(service, store, bootstrap_servers=settings.kafka.bootstrap_servers,
                 topic_for=lambda kind: settings.topic(service, kind), metrics=metrics)


async def kafka_lag(bootstrap_servers: str, read_engine: AsyncEngine, projection: str,
                    topics: list[str]) -> int:
    """Events on the topics that the projection has not consumed yet."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics
                      for p in (consumer.partitions_for_topic(t) or set())]
        if not partitions:
            await consumer.topics()
            partitions = [TopicPartition(t, p) for t in topics
                          for p in (consumer.partitions_for_topic(t) or set())]
        ends = await consumer.end_offsets(partitions) if partitions else {}
    finally:
        await consumer.stop()
    async with read_engine.connect() as conn:
        rows = await conn.execute(sa.select(
            projection_positions_table.c.source, projection_positions_table.c.position).where(
            projection_positions_table.c.projection == projection))
        done = {r.source: r.position for r in rows}
    return sum(max(0, end - (done.get(f"kafka:{tp.topic}:{tp.partition}", -1) + 1))
               for tp, end in ends.items())


def create_distributed_gateway(settings: Settings, metrics: Metrics | None = None) -> FastAPI:
    """The gateway alone: read models from the read DB, commands over HTTP to the services."""
    metrics = metrics or Metrics()
    if not settings.gateway.personnel_url:
        raise ValueError("ZUGONG_GATEWAY__PERSONNEL_URL must be set in distributed mode")

    @contextlib.asynccontextmanager
    async def context() -> AsyncIterator[GatewayContext]:
        read_engine = create_engine(settings.database.readmodel_url)
        for runner in projection_runners(read_engine, metrics):
            await runner.create_schema()
        client = ServiceClient("personnel", base_url=settings.gateway.personnel_url)

        async def service_check() -> tuple[bool, str]:
            response = await client.get("/readyz")
            return response.status_code == 200, f"HTTP {response.status_code}"

        async def lag_check() -> tuple[bool, str]:
            topics = settings.all_topics()
            lag = await kafka_lag(settings.kafka.bootstrap_servers or "", read_engine,
                                  "personnel", topics)
            limit = settings.gateway.readiness_max_lag_events
            return lag <= limit, f"broker reachable; projector lag {lag} events (threshold {limit})"

        ctx = GatewayContext(
            settings=settings, metrics=metrics, read_engine=read_engine,
            verifier=personnel_bootstrap.token_verifier(settings),
            vault=PersonalDataVault(settings.personal_data_key),
            services={"personnel": client},
            readiness={"readmodel": lambda: _db_check(read_engine),
                       "service:personnel": service_check})
        if settings.kafka.bootstrap_servers:
            ctx.readiness["kafka_and_projections"] = lag_check
        try:
            yield ctx
        finally:
            await client.aclose()
            await read_engine.dispose()

    return create_gateway_app(settings, metrics=metrics, context=context)
