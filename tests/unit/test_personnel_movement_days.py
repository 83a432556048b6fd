"""``rm_personnel_movement_days`` is ``rm_personnel_cadre_events`` counted per business day,
kind and labels, whether events are applied one by one or in batches (with redeliveries and
poison events), and is filled from the stored events when a read model predates it."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import sqlalchemy as sa

from gateway.readmodels.personnel import PersonnelProjection, cadre_events, movement_days
from services.kernel.db import create_engine
from services.kernel.metrics import Metrics
from services.kernel.subscription import SubscriptionRunner
from tests.unit.test_personnel_projection_batch import PerEventProjection, history, splits


async def counted_from_events(engine) -> dict[tuple, tuple[int, int]]:
    counts: Counter = Counter()
    amounts: Counter = Counter()
    async with engine.connect() as conn:
        for r in await conn.execute(sa.select(cadre_events)):
            key = (r.effective_on, r.kind, r.label or "", r.sublabel or "")
            counts[key] += 1
            amounts[key] += r.amount
    return {key: (counts[key], amounts[key]) for key in counts}


async def movement_rows(engine) -> dict[tuple, tuple[int, int]]:
    async with engine.connect() as conn:
        return {(r.effective_on, r.kind, r.label, r.sublabel): (r.events, r.amount)
                for r in await conn.execute(sa.select(movement_days))}


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("batched", [False, True])
async def test_the_day_counts_equal_the_events_counted(tmp_path, seed: int, batched: bool) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'read.db'}")
    try:
        projection = PersonnelProjection() if batched else PerEventProjection()
        runner = SubscriptionRunner(projection, engine, Metrics())
        await runner.create_schema()
        rng = random.Random(seed)
        for batch in splits(history(seed), rng):
            await runner.handle(batch)
            if rng.random() < 0.2:  # a redelivery counts nothing twice
                await runner.handle(batch)
        expected = await counted_from_events(engine)
        assert expected and any(amount for _, amount in expected.values())
        assert await movement_rows(engine) == expected
    finally:
        await engine.dispose()


async def test_a_read_model_older_than_the_table_has_it_filled_from_its_events(tmp_path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'read.db'}")
    try:
        runner = SubscriptionRunner(PersonnelProjection(), engine, Metrics())
        await runner.create_schema()
        deliveries = history(5)
        await runner.handle(deliveries[:80])
        async with engine.begin() as conn:
            await conn.run_sync(movement_days.drop)
        await runner.create_schema()  # as at the next start
        assert await movement_rows(engine) == await counted_from_events(engine) != {}
        await runner.handle(deliveries[80:])  # and kept from then on
        assert await movement_rows(engine) == await counted_from_events(engine)
    finally:
        await engine.dispose()
