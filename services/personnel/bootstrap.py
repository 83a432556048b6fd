"""Composition root of the personnel service: builds its adapters from settings."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import date

from fastapi import FastAPI

from services.kernel.auth import token_verifier
from services.kernel.db import create_engine
from services.kernel.eventstore import EventStore
from services.kernel.metrics import Metrics
from services.kernel.personal_data import PersonalDataVault
from services.kernel.service_app import new_service_app
from services.kernel.settings import Settings
from services.personnel.api import router
from services.personnel.handlers import PersonnelDeps

__all__ = ["SERVICE", "build_store", "create_app"]

SERVICE = "personnel"


def build_store(settings: Settings, metrics: Metrics | None = None) -> EventStore:
    engine = create_engine(settings.database.store_url(SERVICE), pool_size=settings.database.pool_size)
    return EventStore(engine, service=SERVICE, metrics=metrics)


def create_app(settings: Settings, *, metrics: Metrics, store: EventStore | None = None,
               today: Callable[[], date] = date.today) -> FastAPI:
    """The service's FastAPI app. The store's engine is created here but connects only when
    the lifespan runs (or, in-process, when the embedded runtime starts it)."""
    store = store or build_store(settings, metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await store.create_schema()
        yield
        await store.engine.dispose()

    app = new_service_app(SERVICE, metrics=metrics, verifier=token_verifier(settings),
                          lifespan=lifespan)
    app.state.personnel = PersonnelDeps(store=store, vault=PersonalDataVault(
        settings.personal_data_key), today=today, rules=settings.personnel)
    app.state.store = store
    app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz():
        return {"status": "ok"}

    return app
