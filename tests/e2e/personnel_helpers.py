"""Helpers for personnel lifecycle tests through the gateway."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import sqlalchemy as sa

from services.kernel.subscription import projection_positions_table
from tests.support.national_ids import national_id

PROBLEM = "application/problem+json"


async def event_count(client) -> int:
    return await client.app.state.context.stores["personnel"].head_position()


async def settle(client, limit_seconds: float = 10.0) -> None:
    """Wait until the personnel projection has applied everything in the store."""
    ctx = client.app.state.context
    head = await event_count(client)
    deadline = asyncio.get_running_loop().time() + limit_seconds
    while True:
        async with ctx.read_engine.connect() as conn:
            done = await conn.scalar(sa.select(projection_positions_table.c.position).where(
                projection_positions_table.c.projection == "personnel",
                projection_positions_table.c.source == "store:personnel")) or 0
        if done >= head:
            return
        assert asyncio.get_running_loop().time() < deadline, f"projection stuck at {done}/{head}"
        await asyncio.sleep(0.005)


async def command(client, path: str, body: dict, *, status: int = 201, headers=None) -> dict:
    response = await client.post(f"/api/v1/personnel{path}", json=body,
                                 headers={**client.admin, **(headers or {})})
    assert response.status_code == status, (path, body, response.text)
    return response.json()


async def query(client, path: str, **params) -> dict:
    response = await client.get(f"/api/v1{path}", params=params, headers=client.admin)
    assert response.status_code == 200, (path, params, response.text)
    return response.json()


async def unit(client, name: str, *, administrative: int = 10, institution: int = 5,
               kind: str = "party_government_organ", posts: dict | None = None,
               quotas: dict | None = None) -> str:
    unit_id = (await command(client, "/units", {
        "name": name, "kind": kind,
        "establishment": {"administrative": administrative, "institution": institution}}))["id"]
    if posts:
        await command(client, f"/units/{unit_id}/leadership-posts",
                      {"approved": posts, "effective_on": "2010-01-01"})
    if quotas:
        await command(client, f"/units/{unit_id}/rank-quotas",
                      {"quotas": quotas, "effective_on": "2010-01-01"})
    return unit_id


def person(name: str, birth: date, gender: str, sequence: int, region: str = "140624") -> dict:
    return {"name": name, "gender": gender, "birth_date": birth.isoformat(),
            "national_id": national_id(birth, gender, sequence, region)}


async def go_live(client, unit_id: str, who: dict, *, since: str = "2015-01-01",
                  joined: str = "2010-07-01", rank: str | None = "clerk_1",
                  rank_since: str | None = "2020-01-01", posts: list | None = None,
                  category: str = "civil_servant") -> str:
    body = {**who, "category": category, "unit_id": unit_id, "channel": "go_live",
            "effective_on": since, "joined_work_on": joined, "posts": posts or []}
    if category == "civil_servant":
        body.update(rank=rank, rank_since=rank_since)
    return (await command(client, "/cadres", body))["id"]


def _plain(row) -> dict:
    """A row with datetimes as naive UTC: SQLite drops the zone, PostgreSQL keeps it."""
    return {k: v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) and v.tzinfo
            else v for k, v in row._mapping.items()}


async def assert_rebuild_equals_live(client, tmp_path) -> dict[str, int]:
    """Rebuild the personnel read models from the store into a fresh database and compare
    every table row by row with the live one; returns the row count per table."""
    from gateway.readmodels.personnel import PersonnelProjection, metadata
    from services.kernel.db import create_engine
    from services.kernel.metrics import Metrics
    from services.kernel.sources import StoreTailSource
    from services.kernel.subscription import SubscriptionRunner

    await settle(client)
    ctx = client.app.state.context
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/rebuilt-readmodel.db")
    try:
        runner = SubscriptionRunner(PersonnelProjection(), engine, Metrics())
        await runner.create_schema()
        await StoreTailSource("personnel", ctx.stores["personnel"]).catch_up(runner)
        counts = {}
        for table in metadata.sorted_tables:
            query = sa.select(table).order_by(*table.primary_key.columns)
            async with ctx.read_engine.connect() as live, engine.connect() as rebuilt:
                live_rows = [_plain(r) for r in await live.execute(query)]
                rebuilt_rows = [_plain(r) for r in await rebuilt.execute(query)]
            assert live_rows, f"{table.name} is empty: nothing to compare"
            assert rebuilt_rows == live_rows, f"{table.name} differs after a rebuild"
            counts[table.name] = len(live_rows)
        return counts
    finally:
        await engine.dispose()
