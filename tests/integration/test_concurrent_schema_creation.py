"""Processes that start together all create their tables; none may fail because another one
was creating the same table at the same moment (PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.readmodels.personnel import PersonnelProjection
from services.kernel.db import create_engine
from services.kernel.eventstore import EventStore
from services.kernel.metrics import Metrics
from services.kernel.subscription import SubscriptionRunner

pytestmark = pytest.mark.postgres

STARTERS = 6


async def test_stores_and_runners_created_at_once_all_start(postgres_url: str) -> None:
    engines = [create_engine(postgres_url, pool_size=2) for _ in range(STARTERS)]
    try:
        starters = []
        for n, engine in enumerate(engines):
            if n % 2:
                starters.append(EventStore(engine).create_schema())
            else:
                starters.append(SubscriptionRunner(PersonnelProjection(), engine, Metrics())
                                .create_schema())
        results = await asyncio.gather(*starters, return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
    finally:
        for engine in engines:
            await engine.dispose()
