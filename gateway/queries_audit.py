"""Audit log and live-change queries over ``rm_audit_events``."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.readmodels.audit import audit_events
from services.kernel.errors import ZugongError

__all__ = ["AuditEntry", "AuditPage", "AuditQueries", "Change", "RecordRef"]


class BadCursor(ZugongError):
    status, title, type_slug = 400, "Invalid cursor", "bad-cursor"


class RecordRef(BaseModel):
    kind: str = Field(description="Kind of record (stream kind), e.g. `cadre`, `complaint`.")
    id: str = Field(description="The record's id (as in the API's paths).")
    stream_id: str = Field(description="Its event stream.")
    version: int = Field(description="The record's version after this change.")


class AuditEntry(BaseModel):
    id: int = Field(description="Monotonic id in the audit log (also the live stream's event id).")
    event_id: str
    at: datetime = Field(description="When it was recorded (UTC).")
    effective_on: date = Field(description="Business date of the change.")
    actor: str = Field(description="Who did it (the token subject of the command).")
    service: str
    type: str = Field(description="What was done: the event type.")
    record: RecordRef
    correlation_id: str = Field(description="Shared by everything one request caused.")
    causation_id: str
    township_id: str | None = Field(description="The township the record belongs to, if any.")


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None


class Change(AuditEntry):
    data: dict[str, Any] = Field(description="The event payload; personal data always masked.")


def _encode(seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps(["audit", seq]).encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        tag, seq = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if tag != "audit" or not isinstance(seq, int):
            raise ValueError
        return seq
    except ValueError:
        raise BadCursor("the cursor is not one this API returned",
                        errors=[{"pointer": "query:cursor", "detail": "malformed"}]) from None


def _entry(row, model=AuditEntry, **extra):
    return model(id=row.seq, event_id=row.event_id, at=row.recorded_at,
                 effective_on=row.effective_on, actor=row.actor, service=row.service,
                 type=row.type, record=RecordRef(
                     kind=row.record_kind, id=row.record_id, stream_id=row.stream_id,
                     version=row.stream_version),
                 correlation_id=row.correlation_id, causation_id=row.causation_id,
                 township_id=row.township_id, **extra)


class AuditQueries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def entries(
        self, *, actor: str | None = None, service: str | None = None,
        record: str | None = None, type: str | None = None, correlation_id: str | None = None,
        date_from: date | None = None, date_to: date | None = None,
        period: Literal["recorded", "effective"] = "recorded",
        order: Literal["asc", "desc"] = "desc", limit: int = 50, cursor: str | None = None,
    ) -> AuditPage:
        t = audit_events
        query = sa.select(t)
        for column, value in ((t.c.actor, actor), (t.c.service, service), (t.c.type, type),
                              (t.c.correlation_id, correlation_id)):
            if value:
                query = query.where(column == value)
        if record:
            query = query.where(sa.or_(t.c.record_id == record, t.c.stream_id == record))
        if period == "effective":
            if date_from:
                query = query.where(t.c.effective_on >= date_from)
            if date_to:
                query = query.where(t.c.effective_on <= date_to)
        else:
            if date_from:
                query = query.where(t.c.recorded_at >= datetime.combine(date_from, time(), UTC))
            if date_to:
                query = query.where(
                    t.c.recorded_at < datetime.combine(date_to + timedelta(days=1), time(), UTC))
        if cursor:
            last = _decode(cursor)
            query = query.where(t.c.seq < last if order == "desc" else t.c.seq > last)
        query = query.order_by(t.c.seq.desc() if order == "desc" else t.c.seq).limit(limit + 1)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return AuditPage(items=[_entry(r) for r in rows[:limit]],
                         next_cursor=_encode(rows[limit - 1].seq) if len(rows) > limit else None)

    async def last_id(self) -> int:
        async with self.engine.connect() as conn:
            return await conn.scalar(sa.select(sa.func.max(audit_events.c.seq))) or 0

    async def changes_after(self, seq: int, *, services: set[str], township: str | None,
                            limit: int = 100) -> tuple[list[Change], int]:
        """Changes with an id above ``seq`` that the caller may see, and the highest id
        scanned (so that a caller skipping invisible changes does not scan them again)."""
        t = audit_events
        query = sa.select(t).where(t.c.seq > seq).order_by(t.c.seq).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        visible = [_entry(r, Change, data=r.data) for r in rows
                   if r.service in services and (township is None or r.township_id == township)]
        return visible, (rows[-1].seq if rows else seq)
