"""`zugong projections status`: where every projection is, per source, and how far behind."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from services.kernel.settings import Settings
from services.kernel.subscription import dead_letters_table, projection_positions_table
from zugong.ops.common import (
    kafka_partition_ends,
    kafka_source,
    open_read_engine,
    open_stores,
    projection_names,
    store_source,
)

__all__ = ["ProjectionStatus", "SourceStatus", "projection_status"]


@dataclass
class SourceStatus:
    source: str
    position: int
    """Last applied position (store) or offset (Kafka); -1 when nothing applied yet."""
    head: int | None
    """Newest position in the store / last offset on the partition; None when unknown."""
    lag: int | None
    updated_at: datetime | None


@dataclass
class ProjectionStatus:
    name: str
    sources: list[SourceStatus] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    """Dead letters by status (parked, replayed, discarded, superseded)."""

    @property
    def lag(self) -> int:
        return sum(s.lag or 0 for s in self.sources)

    @property
    def last_applied_at(self) -> datetime | None:
        times = [s.updated_at for s in self.sources if s.updated_at]
        return max(times) if times else None

    @property
    def parked(self) -> int:
        return self.dead_letters.get("parked", 0)

    def as_dict(self) -> dict:
        return {
            "name": self.name, "lag": self.lag, "parked": self.parked,
            "last_applied_at": self.last_applied_at.isoformat() if self.last_applied_at else None,
            "dead_letters": self.dead_letters,
            "sources": [{"source": s.source, "position": s.position, "head": s.head, "lag": s.lag,
                         "updated_at": s.updated_at.isoformat() if s.updated_at else None}
                        for s in self.sources]}


async def _heads(settings: Settings) -> dict[str, int]:
    """Source name -> newest position: the stores (embedded) or the partitions (Kafka)."""
    if settings.distributed:
        ends = await kafka_partition_ends(settings.kafka.bootstrap_servers or "",
                                          settings.all_topics())
        return {kafka_source(t, p): end - 1 for (t, p), end in ends.items()}
    async with open_stores(settings) as stores:
        return {store_source(name): await store.head_position() for name, store in stores.items()}


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


async def projection_status(settings: Settings) -> list[ProjectionStatus]:
    heads = await _heads(settings)
    async with open_read_engine(settings) as engine:
        try:
            async with engine.connect() as conn:
                checkpoints = (await conn.execute(sa.select(projection_positions_table))).all()
                letters = (await conn.execute(sa.select(
                    dead_letters_table.c.projection, dead_letters_table.c.status,
                    sa.func.count()).group_by(dead_letters_table.c.projection,
                                              dead_letters_table.c.status))).all()
        except DBAPIError:  # a read model that was never started has no checkpoint tables
            checkpoints, letters = [], []
    result = []
    for name in projection_names():
        status = ProjectionStatus(name)
        done = {r.source: r for r in checkpoints if r.projection == name}
        for source in sorted(set(heads) | set(done)):
            row = done.get(source)
            position = row.position if row else -1
            head = heads.get(source)
            floor = 0 if source.startswith("store:") else -1  # positions start at 1, offsets at 0
            lag = None if head is None else max(0, head - max(position, floor))
            status.sources.append(SourceStatus(source, position, head, lag,
                                               _aware(row.updated_at) if row else None))
        status.dead_letters = {r.status: r[2] for r in letters if r.projection == name}
        result.append(status)
    return result
