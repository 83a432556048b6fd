"""Waiting for every projection of the embedded platform, and reading the dashboard."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from services.kernel.subscription import projection_positions_table


async def settle_all(client, limit_seconds: float = 60.0) -> None:
    """Every projection has applied everything now in every store it reads."""
    ctx = client.app.state.context
    heads = {f"store:{name}": await store.head_position() for name, store in ctx.stores.items()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_seconds
    while True:
        async with ctx.read_engine.connect() as conn:
            rows = (await conn.execute(sa.select(projection_positions_table))).all()
        seen = {r.source for r in rows}
        behind = [r for r in rows if r.source in heads and r.position < heads[r.source]]
        if not behind and all(s in seen for s, h in heads.items() if h):
            return
        assert loop.time() < deadline, f"projections behind: {behind}"
        await asyncio.sleep(0.02)


async def dashboard(client, headers, start: str, end: str) -> dict[str, float | int | None]:
    response = await client.get("/api/v1/dashboard", params={"from": start, "to": end},
                                headers=headers)
    assert response.status_code == 200, response.text
    figures = response.json()["figures"]
    assert len({f["key"] for f in figures}) == len(figures), "keys must be unique"
    assert all(f["definition"] and f["label"] for f in figures)
    return {f["key"]: f["value"] for f in figures}
