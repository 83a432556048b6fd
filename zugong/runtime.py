"""Composition roots: what each process of the platform builds from settings.

Embedded: one process with the services, the projector (tailing the stores) and the gateway.
Distributed: each service, its relay, the projector (faust worker) and the gateway apart,
wired by URLs. Same domain, projection and HTTP code in both.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

import sqlalchemy as sa
from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import Response

from gateway.app import create_app as create_gateway_app
from gateway.context import GatewayContext
from gateway.forwarding import ServiceClient
from gateway.queries_engine import create_query_engine
from gateway.readmodels.audit import AuditProjection
from gateway.readmodels.governance import GovernanceProjection
from gateway.readmodels.personnel import PersonnelProjection
from gateway.readmodels.talent import TalentProjection
from gateway.readmodels.training import TrainingProjection
from services.governance import bootstrap as governance_bootstrap
from services.kernel.auth import token_verifier
from services.kernel.db import (
    LOOP_WRITER_AUTOCHECKPOINT_PAGES,
    WalCheckpointer,
    create_engine,
    sqlite_path,
)
from services.kernel.eventstore import EventStore
from services.kernel.logging import get_logger
from services.kernel.metrics import Metrics
from services.kernel.personal_data import PersonalDataVault
from services.kernel.relay import Relay
from services.kernel.settings import Settings
from services.kernel.sources import StoreFanOut
from services.kernel.subscription import SubscriptionRunner, projection_positions_table
from services.personnel import bootstrap as personnel_bootstrap
from services.talent import bootstrap as talent_bootstrap
from services.training import bootstrap as training_bootstrap

__all__ = [
    "PROJECTIONS",
    "SERVICES",
    "build_relay",
    "create_distributed_gateway",
    "create_embedded_app",
    "create_service_app",
    "projection_runners",
    "service_consumers",
]

log = get_logger("zugong.runtime")

PROJECTIONS = (PersonnelProjection, TrainingProjection, TalentProjection, GovernanceProjection,
               AuditProjection)
"""Every read-model projection the gateway serves from; the projector feeds all of them."""

SERVICES = {"personnel": personnel_bootstrap, "training": training_bootstrap,
            "talent": talent_bootstrap, "governance": governance_bootstrap}
"""Every service: its bootstrap module exposes ``build_store(settings, metrics)`` and
``create_app(settings, *, metrics, store=None)``; the settings carry
``database.<name>_url`` and ``gateway.<name>_url``. A service that consumes other services'
events also exposes ``CONSUMES`` ({service: stream kinds}), ``consumer_runners(store,
metrics)`` (runners writing to its own database) and ``consumed_topics(settings)``."""


def projection_runners(engine: AsyncEngine, metrics: Metrics) -> list[SubscriptionRunner]:
    return [SubscriptionRunner(p(), engine, metrics) for p in PROJECTIONS]


PROJECTOR_BUSY_TIMEOUT_MS = 20
"""How long the embedded projector's SQLite connection waits for another writer's lock (a
rebuild swapping tables in, a dead-letter replay from the CLI) before the batch fails and the
runner retries it after an asynchronous back-off: the wait blocks the event loop."""


def create_projector_engine(url: str) -> AsyncEngine:
    """The engine the embedded projector writes the read models through. On a SQLite file its
    statements run in the event loop's thread (``inline_sqlite``): through aiosqlite each of
    the 6-10 statements of a batch crossed to a worker thread and back (≈ 300 µs each here),
    so five projections took 10-15 ms per append and fell behind at a few hundred commands/s.
    A batch's statements are short and its transaction never waits on anything else in this
    process (the runners take turns on the SQLite writer lock); a lock held by another
    connection fails fast (``PROJECTOR_BUSY_TIMEOUT_MS``) and the runner retries the batch."""
    if sqlite_path(url) is None:
        return create_engine(url)
    engine = create_engine(url, inline_sqlite=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _fail_fast(dbapi_connection, _record) -> None:  # after create_engine's pragmas
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={PROJECTOR_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA wal_autocheckpoint={LOOP_WRITER_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    return engine


def freeze_startup_objects() -> None:
    """Moves what start-up built (modules, routes, schemas, compiled statements) out of the
    garbage collector's view: a full collection otherwise walks all of it, a pause of
    120-220 ms under query load on the benchmark machine (3-9 ms once frozen), which made
    the queries' p99. Undone (``gc.unfreeze``) when the platform stops, so that a process
    starting many platforms (the tests) still frees the earlier ones."""
    gc.collect()
    gc.freeze()


async def ensure_indexes(engine: AsyncEngine) -> None:
    """Creates the read models' indexes missing from tables that already exist (``create_all``
    skips an existing table whole, so an index added later would otherwise never appear).
    Embedded only: a distributed read model (PostgreSQL) gets them from a rebuild, whose fresh
    tables are moved in with their indexes, rather than from gateways racing to lock tables."""

    def create(conn) -> None:
        for projection in PROJECTIONS:
            for table in projection.metadata.sorted_tables:
                for index in table.indexes:
                    index.create(conn, checkfirst=True)

    async with engine.begin() as conn:
        await conn.run_sync(create)


def service_consumers(stores: dict[str, EventStore], metrics: Metrics
                      ) -> list[tuple[SubscriptionRunner, str]]:
    """(runner, source service) for every service that consumes other services' events."""
    return [(runner, source) for name, module in SERVICES.items()
            if hasattr(module, "consumer_runners")
            for runner in module.consumer_runners(stores[name], metrics)
            for source in module.CONSUMES]


async def _db_check(engine: AsyncEngine) -> tuple[bool, str]:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))
    return True, "reachable"


def _db_checker(engine: AsyncEngine):
    return lambda: _db_check(engine)


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
        stores = {name: module.build_store(settings, metrics) for name, module in SERVICES.items()}
        service_apps = {name: module.create_app(settings, metrics=metrics, store=stores[name])
                        for name, module in SERVICES.items()}
        read_engine = create_engine(settings.database.readmodel_url)
        # queries read through their own engine (inline, read-only on SQLite), the projector
        # writes through its own (inline on SQLite)
        query_engine = create_query_engine(settings.database.readmodel_url)
        projector_engine = create_projector_engine(settings.database.readmodel_url)
        runners = projection_runners(projector_engine, metrics)
        consumers = service_consumers(stores, metrics)
        # the consumers write their service's database inline too: through aiosqlite their
        # statements each waited a turn of the loop, so under load a batch took a loop turn
        # per statement, and the projections fed after them in the same batch waited as well
        consumer_engines = {}
        for runner, _source in consumers:
            url = runner.engine.url.render_as_string(hide_password=False)
            runner.engine = consumer_engines.get(url) or consumer_engines.setdefault(
                url, create_projector_engine(url))
        clients = {name: ServiceClient(name, app=app) for name, app in service_apps.items()}
        stop = asyncio.Event()
        async with contextlib.AsyncExitStack() as stack:
            # the stores and the projector commit in the loop's thread: their logs are
            # checkpointed from threads of their own, never inside one of those commits
            written = {sqlite_path(settings.database.readmodel_url), *(
                sqlite_path(s.engine.url.render_as_string(hide_password=False))
                for s in stores.values())} - {None}
            for path in sorted(written):
                stack.callback(WalCheckpointer(path).start().stop)
            for app in service_apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            for runner in runners:
                await runner.create_schema()
            await ensure_indexes(read_engine)
            # the consumers first: another service's command may wait for what they record
            tasks = [asyncio.create_task(StoreFanOut(name, store, [
                *(runner for runner, source in consumers if source == name), *runners]).run(stop),
                name=f"project-{name}") for name, store in stores.items()]
            readiness = {f"store:{name}": _db_checker(s.engine) for name, s in stores.items()}
            readiness.update({
                "readmodel": _db_checker(read_engine),
                "projections": _embedded_lag_check(
                    runners, stores, settings.gateway.readiness_max_lag_events),
                "consumers": _consumer_lag_check(
                    consumers, stores, settings.gateway.readiness_max_lag_events),
                "projector_tasks": lambda: _tasks_alive(tasks),
            })
            ctx = GatewayContext(
                settings=settings, metrics=metrics, read_engine=read_engine,
                verifier=token_verifier(settings),
                vault=PersonalDataVault(settings.personal_data_key),
                services=clients, stores=stores, readiness=readiness, query_engine=query_engine)
            freeze_startup_objects()
            try:
                yield ctx
            finally:
                gc.unfreeze()
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
                for client in clients.values():
                    await client.aclose()
                if query_engine is not None:
                    await query_engine.dispose()
                await projector_engine.dispose()
                for engine in consumer_engines.values():
                    await engine.dispose()
                await read_engine.dispose()

    return create_gateway_app(settings, metrics=metrics, context=context)


def _consumer_lag_check(consumers, stores: dict[str, EventStore], threshold: int):
    async def check() -> tuple[bool, str]:
        lags = {}
        for runner, source in consumers:
            done = max(0, await runner.position(f"store:{source}"))
            lags[f"{runner.projection.name}<-{source}"] = \
                await stores[source].head_position() - done
        worst = max(lags.values(), default=0)
        return worst <= threshold, f"lag {lags} (threshold {threshold})"
    return check


async def _tasks_alive(tasks: list[asyncio.Task]) -> tuple[bool, str]:
    dead = [t.get_name() for t in tasks if t.done()]
    return not dead, "running" if not dead else f"stopped: {dead}"


def create_service_app(service: str, settings: Settings, metrics: Metrics | None = None
                       ) -> FastAPI:
    """One service as its own HTTP process (distributed mode)."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; one of {sorted(SERVICES)}")
    metrics = metrics or Metrics()
    app = SERVICES[service].create_app(settings, metrics=metrics)
    store: EventStore = app.state.store

    @app.get("/readyz", include_in_schema=False)
    async def readyz():
        ok, detail = await _db_check(store.engine)
        return {"status": "ready" if ok else "not_ready", "store": detail}

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint():
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def build_relay(service: str, settings: Settings, metrics: Metrics) -> Relay:
    store = SERVICES[service].build_store(settings, metrics)
    return Relay(service, store, bootstrap_servers=settings.kafka.bootstrap_servers,
                 topic_for=lambda kind: settings.topic(service, kind), metrics=metrics,
                 poll_interval=settings.kafka.relay_poll_interval)


def relay_readiness(relay: Relay) -> dict:
    """The relay's /readyz checks: its store answers, and the broker acknowledged its last
    publish (or, when idle, its producer connected)."""
    async def broker() -> tuple[bool, str]:
        error = relay.broker_error
        return (error is None), (error or "acknowledging")

    return {"store": _db_checker(relay.store.engine), "broker": broker}


async def kafka_lags(bootstrap_servers: str, read_engine: AsyncEngine, projections: list[str],
                     topics: list[str]) -> dict[str, int]:
    """Per projection, the events on the topics it has not consumed yet. The topics' end
    offsets are fetched once for all projections."""
    from zugong.ops.common import kafka_partition_ends

    ends = await kafka_partition_ends(bootstrap_servers, topics)
    async with read_engine.connect() as conn:
        rows = await conn.execute(sa.select(
            projection_positions_table.c.projection, projection_positions_table.c.source,
            projection_positions_table.c.position).where(
            projection_positions_table.c.projection.in_(projections)))
        done: dict[str, dict[str, int]] = {}
        for r in rows:
            done.setdefault(r.projection, {})[r.source] = r.position
    return {name: sum(max(0, end - (done.get(name, {}).get(f"kafka:{topic}:{partition}", -1) + 1))
                      for (topic, partition), end in ends.items())
            for name in projections}


def create_distributed_gateway(settings: Settings, metrics: Metrics | None = None) -> FastAPI:
    """The gateway alone: read models from the read DB, commands over HTTP to the services."""
    metrics = metrics or Metrics()
    urls = {name: settings.gateway.service_url(name) for name in SERVICES}
    missing = [name for name, url in urls.items() if not url]
    if missing:
        raise ValueError("distributed mode needs the services' URLs: "
                         + ", ".join(f"ZUGONG_GATEWAY__{n.upper()}_URL" for n in missing))

    @contextlib.asynccontextmanager
    async def context() -> AsyncIterator[GatewayContext]:
        read_engine = create_engine(settings.database.readmodel_url)
        for runner in projection_runners(read_engine, metrics):
            await runner.create_schema()
        clients = {name: ServiceClient(name, base_url=url) for name, url in urls.items()}

        def service_check(client: ServiceClient):
            async def check() -> tuple[bool, str]:
                response = await client.get("/readyz")
                return response.status_code == 200, f"HTTP {response.status_code}"
            return check

        async def lag_check() -> tuple[bool, str]:
            limit = settings.gateway.readiness_max_lag_events
            lags = await kafka_lags(settings.kafka.bootstrap_servers or "", read_engine,
                                    [p.name for p in PROJECTIONS], settings.all_topics())
            worst = max(lags.values(), default=0)
            return worst <= limit, f"broker reachable; projector lag {lags} (threshold {limit})"

        readiness = {"readmodel": _db_checker(read_engine)}
        readiness.update({f"service:{n}": service_check(c) for n, c in clients.items()})
        if settings.kafka.bootstrap_servers:
            readiness["kafka_and_projections"] = lag_check
        ctx = GatewayContext(
            settings=settings, metrics=metrics, read_engine=read_engine,
            verifier=token_verifier(settings),
            vault=PersonalDataVault(settings.personal_data_key),
            services=clients, readiness=readiness)
        freeze_startup_objects()
        try:
            yield ctx
        finally:
            gc.unfreeze()
            for client in clients.values():
                await client.aclose()
            await read_engine.dispose()

    return create_gateway_app(settings, metrics=metrics, context=context)
