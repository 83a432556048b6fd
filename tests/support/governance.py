"""Governance test support: a controllable clock, tokens with a township claim, and the embedded
platform with the governance service running on that clock."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import sqlalchemy as sa

from services.governance import bootstrap as governance_bootstrap
from services.kernel.auth import TokenIssuer
from services.kernel.settings import Settings
from services.kernel.subscription import projection_positions_table as positions
from tests.support.embedded import embedded_client, embedded_settings
from zugong import runtime

PROBLEM = "application/problem+json"
G = "/api/v1/governance"


class ManualClock:
    """A clock that moves only when told to: SLA tests never sleep."""

    def __init__(self, start: datetime) -> None:
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, instant: datetime) -> None:
        self.now = instant.astimezone(UTC)


def token(settings: Settings, role: str = "admin", township: str | None = None,
          subject: str = "tester") -> dict[str, str]:
    minted = TokenIssuer(settings.auth.jwt_secret).mint(subject, role, township=township)
    return {"Authorization": f"Bearer {minted}"}


@contextlib.asynccontextmanager
async def governance_platform(var_dir: Path, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """The embedded platform whose governance service and queries run on ``clock``."""
    module = SimpleNamespace(
        SERVICE="governance", build_store=governance_bootstrap.build_store,
        create_app=functools.partial(governance_bootstrap.create_app, clock=clock))
    original = runtime.SERVICES["governance"]
    runtime.SERVICES["governance"] = module
    try:
        settings = embedded_settings(var_dir)
        async with embedded_client(settings) as client:
            client.app.state.context.governance.clock = clock
            client.settings = settings
            client.clock = clock
            client.admin = token(settings, "admin")
            yield client
    finally:
        runtime.SERVICES["governance"] = original


async def head(client) -> int:
    """Events in the governance store: a refused command must not change it."""
    return await client.app.state.context.stores["governance"].head_position()


async def post(client, path: str, body: dict | None = None, headers: dict | None = None,
               expect: int = 201) -> dict:
    response = await client.post(G + path, json=body if body is not None else {},
                                 headers=headers or client.admin)
    assert response.status_code == expect, (path, response.status_code, response.text)
    return response.json()


async def assert_refused(client, path: str, body: dict | None, headers: dict, status: int | tuple,
                  code: str | None = None) -> dict:
    """The command is refused with problem+json and appends nothing."""
    before = await head(client)
    response = await client.post(G + path, json=body if body is not None else {}, headers=headers)
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (path, response.status_code, response.text)
    assert response.headers["content-type"] == PROBLEM, response.text
    problem = response.json()
    if code is not None:
        assert code in [e.get("code") for e in problem.get("errors", [])], problem
    assert await head(client) == before, f"{path} appended events although refused"
    return problem


async def get(client, path: str, headers: dict | None = None, expect: int = 200,
              token_: str | None = None, **params) -> dict:
    hdrs = dict(headers or client.admin)
    if token_:
        hdrs["X-Consistency-Token"] = token_
    response = await client.get(G + path, params=params, headers=hdrs)
    assert response.status_code == expect, (path, response.status_code, response.text)
    return response.json()


async def settle(client) -> None:
    """Wait until the governance projection has applied everything now in the store."""
    ctx = client.app.state.context
    target = await ctx.stores["governance"].head_position()
    for _ in range(4000):
        async with ctx.read_engine.connect() as conn:
            done = await conn.scalar(sa.select(positions.c.position).where(
                positions.c.projection == "governance", positions.c.source == "store:governance"))
        if (done or 0) >= target:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"governance projection stuck below {target}")


async def assert_rebuild_equals_live(client, var_dir: Path) -> int:
    """Rebuild the governance read models from the store into a fresh database and compare every
    rm_governance_ table row by row with the live one; returns the rows compared."""
    from gateway.readmodels.governance import GovernanceProjection
    from services.kernel.db import create_engine
    from services.kernel.metrics import Metrics
    from services.kernel.sources import StoreTailSource
    from services.kernel.subscription import SubscriptionRunner

    await settle(client)
    ctx = client.app.state.context
    engine = create_engine(f"sqlite+aiosqlite:///{var_dir}/rebuilt-{uuid.uuid4().hex[:6]}.db")
    projection = GovernanceProjection()
    runner = SubscriptionRunner(projection, engine, Metrics())
    await runner.create_schema()
    await StoreTailSource("governance", ctx.stores["governance"]).catch_up(runner)
    compared = 0
    try:
        for table in projection.metadata.sorted_tables:
            assert table.name.startswith("rm_governance_"), table.name
            order = list(table.primary_key.columns)
            query = sa.select(table).order_by(*order)
            async with ctx.read_engine.connect() as live, engine.connect() as rebuilt:
                live_rows = [tuple(r) for r in await live.execute(query)]
                rebuilt_rows = [tuple(r) for r in await rebuilt.execute(query)]
            assert live_rows == rebuilt_rows, f"{table.name} differs after a rebuild"
            compared += len(live_rows)
    finally:
        await engine.dispose()
    return compared
