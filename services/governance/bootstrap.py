"""Composition root of the governance service: builds its adapters from settings."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from services.governance.api import router
from services.governance.handlers import GovernanceDeps
from services.kernel.auth import token_verifier
from services.kernel.db import create_engine
from services.kernel.eventstore import EventStore
from services.kernel.metrics import Metrics
from services.kernel.personal_data import PersonalDataVault
from services.kernel.service_app import new_service_app
from services.kernel.settings import Settings

__all__ = ["SERVICE", "build_store", "create_app", "system_clock"]

SERVICE = "governance"


def system_clock() -> datetime:
    return datetime.now(UTC)


def build_store(settings: Settings, metrics: Metrics | None = None) -> EventStore:
    engine = create_engine(settings.database.store_url(SERVICE), pool_size=settings.database.pool_size)
    return EventStore(engine, service=SERVICE, metrics=metrics)


def create_app(settings: Settings, *, metrics: Metrics, store: EventStore | None = None,
               clock: Callable[[], datetime] = system_clock) -> FastAPI:
    """The service's FastAPI app. ``clock`` gives the instant commands default to and SLA
    clocks run on (tests pass a controllable one). Nothing connects before the lifespan."""
    store = store or build_store(settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await store.create_schema()
        yield
        await store.engine.dispose()

    app = new_service_app(SERVICE, metrics=metrics, verifier=token_verifier(settings),
                          lifespan=lifespan)
    app.state.governance = GovernanceDeps(
        store=store, vault=PersonalDataVault(settings.personal_data_key), clock=clock)
    app.state.store = store
    app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz():
        return {"status": "ok"}

    return app
