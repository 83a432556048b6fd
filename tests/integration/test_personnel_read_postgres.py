"""On PostgreSQL: the per-day movement counts are kept and filled like on SQLite, the movement
report reads them, and the roster's pre-serialised JSON equals its ``Page`` model's (the
raw-row path is SQLite's only)."""

from __future__ import annotations

import random
from datetime import date

from gateway.queries import PersonnelQueries
from gateway.queries_personnel import PersonnelReports
from gateway.readmodels.personnel import PersonnelProjection, movement_days
from services.kernel.db import create_engine
from services.kernel.metrics import Metrics
from services.kernel.settings import Settings
from services.kernel.subscription import SubscriptionRunner
from tests.unit.test_personnel_movement_days import counted_from_events, movement_rows
from tests.unit.test_personnel_projection_batch import history, splits


async def test_day_counts_movements_and_roster_on_postgres(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        runner = SubscriptionRunner(PersonnelProjection(), engine, Metrics())
        await runner.create_schema()
        deliveries = history(11)
        rng = random.Random(11)
        for batch in splits(deliveries[:90], rng):
            await runner.handle(batch)
        async with engine.begin() as conn:  # a read model older than the table
            await conn.run_sync(movement_days.drop)
        await runner.create_schema()
        assert await movement_rows(engine) == await counted_from_events(engine) != {}
        for batch in splits(deliveries[90:], rng):
            await runner.handle(batch)
        counted = await counted_from_events(engine)
        assert await movement_rows(engine) == counted

        movements = await PersonnelReports(engine, Settings().personnel).movements(
            date(2000, 1, 1), date(2100, 1, 1))
        recruited = sum(n for (_, kind, _, _), (n, _) in counted.items() if kind == "recruited")
        assert movements.recruited_total == recruited

        queries = PersonnelQueries(engine, lambda sealed: None)
        for params in ({"status": "all"}, {"status": "all", "limit": 1}, {"unit_id": "u1"},
                       {"reserve_level": "none", "status": "all"}):
            page = await queries.cadres(**params)
            assert page.items or params.get("unit_id")
            assert await queries.cadres_json(**params) == page.model_dump_json().encode()
    finally:
        await engine.dispose()
