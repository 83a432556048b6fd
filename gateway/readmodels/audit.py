"""The audit log: one row per event of every service, from the envelope's metadata (who, when,
which record, what), with the payload kept for the live stream with personal data masked.

Generic on purpose: it handles every event type, so a new service's events are audited without
a change here. ``seq`` is this read model's own monotonic id; the live stream resumes from it
(``Last-Event-ID``). It is not the producing store's position: a rebuild may number events of
different services in another interleaving, so after a rebuild clients resume from the start.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.envelope import EventEnvelope
from gateway.readmodels.bulk import insert_many, values_present

__all__ = ["AuditProjection", "audit_events", "mask_personal_data", "metadata"]

metadata = sa.MetaData()

audit_events = sa.Table(
    "rm_audit_events", metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("service", sa.String(40), nullable=False),  # 4 values: no index worth its upkeep
    sa.Column("type", sa.String(120), nullable=False, index=True),
    sa.Column("stream_id", sa.String(200), nullable=False, index=True),
    sa.Column("record_kind", sa.String(60), nullable=False),
    sa.Column("record_id", sa.String(200), nullable=False, index=True),
    sa.Column("stream_version", sa.Integer, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("effective_on", sa.Date, nullable=False, index=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("actor", sa.String(200), nullable=False, index=True),
    sa.Column("correlation_id", sa.String(100), nullable=False, index=True),
    sa.Column("causation_id", sa.String(100), nullable=False),
    sa.Column("township_id", sa.String(64), nullable=True, index=True),
    sa.Column("data", sa.JSON, nullable=False),
)

_SEALED_KEYS = {"kind", "masked", "digest", "ciphertext"}


def mask_personal_data(value: Any) -> Any:
    """The payload with every sealed personal-data value replaced by its masked form: the
    value itself (not a copy) when it holds none, as most payloads do."""
    if isinstance(value, dict):
        if _SEALED_KEYS <= value.keys():
            return value["masked"]
        masked = None
        # scalars (most values) are kept without a call: this runs on every audited event
        for key, item in value.items():
            if isinstance(item, dict | list):
                changed = mask_personal_data(item)
                if changed is not item:
                    if masked is None:
                        masked = dict(value)
                    masked[key] = changed
        return value if masked is None else masked
    if isinstance(value, list):
        items = [mask_personal_data(v) if isinstance(v, dict | list) else v for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


class AuditProjection:
    name = "audit"
    metadata = metadata
    replay_without_indexes = True
    """Applying events reads its tables by primary key (or unique key) only: a rebuild may
    build the other indexes after the replay."""

    def handles(self, event_type: str) -> bool:
        return True

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        if await conn.scalar(sa.select(audit_events.c.seq).where(
                audit_events.c.event_id == event.id)) is not None:
            return
        await conn.execute(audit_events.insert().values(**dict(zip(_COLUMNS, _row(event),
                                                                   strict=True))))

    async def apply_batch(self, conn: AsyncConnection, events: list[EventEnvelope]) -> None:
        """As ``apply`` on each in turn: the events not audited yet, inserted in order (so
        ``seq`` follows the batch) with one statement."""
        if type(self).apply is not AuditProjection.apply:  # a subclass changed apply: honour it
            for event in events:
                await self.apply(conn, event)
            return
        known = await values_present(conn, audit_events.c.event_id, {e.id for e in events})
        rows = []
        for event in events:
            if event.id not in known:
                known.add(event.id)
                rows.append(_row(event))
        await insert_many(conn, audit_events, _COLUMNS, rows)


_COLUMNS = ("event_id", "service", "type", "stream_id", "record_kind", "record_id",
            "stream_version", "position", "effective_on", "recorded_at", "actor",
            "correlation_id", "causation_id", "township_id", "data")


def _row(event: EventEnvelope) -> tuple:
    """The event's row: values of ``_COLUMNS`` in order."""
    township = event.data.get("township_id")
    record_kind, _, record_id = event.subject.partition("/")
    return (
        event.id, event.source.rsplit("/", 1)[-1], event.type, event.streamid, record_kind,
        record_id if _ else record_kind, event.streamversion, event.position,
        date.fromisoformat(event.effectiveon) if event.effectiveon else event.time.date(),
        event.time, event.actor, event.correlationid, event.causationid,
        township if isinstance(township, str) else None, mask_personal_data(event.data))
