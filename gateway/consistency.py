"""Read-your-writes: wait (bounded) until a projection has applied a stream version.

The token names the stream and version the command produced, not a global position: a
projection that never sees unrelated events would otherwise wait forever. On timeout the
query answers with what it has and says so in the ``X-Consistency`` header (``stale``).
"""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.kernel.commands import ConsistencyToken
from services.kernel.errors import ZugongError
from services.kernel.metrics import Metrics
from services.kernel.subscription import projection_streams_table

__all__ = ["ConsistencyWaiter", "InvalidConsistencyToken"]


class InvalidConsistencyToken(ZugongError):
    status, title, type_slug = 400, "Invalid consistency token", "bad-consistency-token"


_APPLIED_VERSION = sa.select(projection_streams_table.c.version).where(  # built once
    projection_streams_table.c.projection == sa.bindparam("projection"),
    projection_streams_table.c.stream_id == sa.bindparam("stream_id"))


class ConsistencyWaiter:
    def __init__(self, engine: AsyncEngine, metrics: Metrics, timeout: float) -> None:
        self.engine, self.metrics, self.timeout = engine, metrics, timeout

    async def applied_version(self, projection: str, stream_id: str) -> int:
        async with self.engine.connect() as conn:
            return await conn.scalar(_APPLIED_VERSION, {
                "projection": projection, "stream_id": stream_id}) or 0

    async def wait(self, projection: str, token: str | None) -> str | None:
        """Returns None without a token, else "fresh" or "stale"."""
        if not token:
            return None
        try:
            wanted = ConsistencyToken.decode(token)
        except ValueError:
            raise InvalidConsistencyToken(
                "X-Consistency-Token is not a token this platform issued",
                errors=[{"pointer": "header:X-Consistency-Token", "detail": "malformed"}],
            ) from None
        deadline = time.monotonic() + self.timeout
        delay = 0.002
        while True:
            if await self.applied_version(projection, wanted.stream_id) >= wanted.version:
                self.metrics.consistency_waits.labels("fresh").inc()
                return "fresh"
            if time.monotonic() >= deadline:
                self.metrics.consistency_waits.labels("stale").inc()
                return "stale"
            await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(0.05, delay * 1.5)
