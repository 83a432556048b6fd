"""Composition root of the training service: builds its adapters from settings."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import date

from fastapi import FastAPI

from services.kernel.auth import token_verifier
from services.kernel.db import create_engine
from services.kernel.eventstore import EventStore
from services.kernel.metrics import Metrics
from services.kernel.service_app import new_service_app
from services.kernel.settings import Settings
from services.kernel.subscription import SubscriptionRunner
from services.training.api import router
from services.training.cadre_view import CadreDirectory, CadreReferenceView
from services.training.handlers import TrainingDeps

__all__ = ["CONSUMES", "SERVICE", "build_store", "consumed_topics", "consumer_runners",
           "create_app"]

SERVICE = "training"
CONSUMES: dict[str, tuple[str, ...]] = {"personnel": ("cadre",)}
"""Services whose events training consumes, and the stream kinds (topics) it needs."""


def build_store(settings: Settings, metrics: Metrics | None = None) -> EventStore:
    engine = create_engine(settings.database.store_url(SERVICE), pool_size=settings.database.pool_size)
    return EventStore(engine, service=SERVICE, metrics=metrics)


def consumer_runners(store: EventStore, metrics: Metrics) -> list[SubscriptionRunner]:
    """What training consumes, as runners whose tables and checkpoints live in training's own
    database (the store's engine). Fed by the store fan-out embedded, by Kafka distributed."""
    return [SubscriptionRunner(CadreReferenceView(), store.engine, metrics)]


def consumed_topics(settings: Settings) -> list[str]:
    return [settings.topic(service, kind) for service, kinds in CONSUMES.items() for kind in kinds]


def create_app(settings: Settings, *, metrics: Metrics, store: EventStore | None = None,
               today: Callable[[], date] = date.today) -> FastAPI:
    """The service's FastAPI app. The store's engine is created here but connects only when
    the lifespan runs (or, in-process, when the embedded runtime starts it)."""
    store = store or build_store(settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await store.create_schema()
        for runner in consumer_runners(store, metrics):
            await runner.create_schema()
        yield
        await store.engine.dispose()

    app = new_service_app(SERVICE, metrics=metrics, verifier=token_verifier(settings),
                          lifespan=lifespan)
    app.state.training = TrainingDeps(store=store, cadres=CadreDirectory(store.engine),
                                      today=today)
    app.state.store = store
    app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz():
        return {"status": "ok"}

    return app
