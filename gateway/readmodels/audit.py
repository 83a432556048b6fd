"""The audit log: one row per event of every service, from the envelope's metadata (who, when,
which record, what), with the payload kept for the live stream with personal data masked.

Generic on purpose: it handles every event type, so a new service's events are audited without
a change here. ``seq`` is this read model's own monotonic id; the live stream resumes from it
(``Last-Event-ID``). It is not the producing store's position: a rebuild may number events of
different services in another interleaving, so after a rebuild clients resume from the start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic_core import from_json
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

    replay_table = audit_events
    replay_columns: tuple[str, ...]  # _COLUMNS, set below
    replay_unique = ("event_id",)
    """What ``sqlite_rows_from_store``'s rows fill: the table, its columns in the rows' order,
    and the unique key a repeated event is recognised by."""

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


    def replays_store_rows(self) -> bool:
        """Whether ``sqlite_rows_from_store`` makes the rows ``apply`` and ``apply_batch``
        make: not when a subclass (or a test) replaced them."""
        return (type(self).apply, type(self).apply_batch) == _OWN_APPLY

    def sqlite_rows_from_store(self, rows: Sequence[tuple], service: str) -> list[tuple]:
        """The rows ``apply_batch`` would insert on SQLite for the events of ``rows`` (rows of
        a SQLite store's events table, ``EventStore.read_rows``, as ``service`` publishes
        them), as the text SQLite stores (``insert_many``'s conversions done), without
        building envelopes: a rebuild's replay of the audit log reads and writes nothing
        else. A payload without a sealed value is kept as its stored JSON text, which is
        what encoding it again writes (the store encodes payloads as ``json.dumps`` does,
        as does this table's column). Duplicate event ids are left to the caller."""
        source = f"/zugong/{service}".rsplit("/", 1)[-1]
        found = []
        for (position, stream_id, stream_type, version, event_id, type_, _schema, effective_on,
             recorded_at, actor, correlation_id, causation_id, data) in rows:
            record_kind, _, record_id = \
                f"{stream_type}/{stream_id.removeprefix(f'{stream_type}-')}".partition("/")
            recorded = recorded_at if _canonical_datetime(recorded_at) else _datetime_text(
                datetime.fromisoformat(recorded_at).replace(tzinfo=UTC))
            if not effective_on:
                effective = recorded[:10]
            elif len(effective_on) == 10 and effective_on[4] == "-" and effective_on[7] == "-":
                effective = effective_on
            else:
                effective = date.fromisoformat(effective_on).isoformat()
            township = None
            if '"ciphertext"' in data or data[:1] != "{" or \
                    ("\\u" in data and _ESCAPED_SURROGATE.search(data)):
                payload = from_json(data)
                data = json.dumps(mask_personal_data(payload))
                township = payload.get("township_id")
            elif '"township_id"' in data:
                township = from_json(data).get("township_id")
            found.append((
                event_id, source, type_, stream_id, record_kind, record_id if _ else record_kind,
                version, position, effective, recorded, actor, correlation_id, causation_id,
                township if isinstance(township, str) else None, data))
        return found


_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
"""A lone surrogate is written escaped but may not read back as itself: such a payload is
encoded again rather than kept as stored."""


def _canonical_datetime(text: str) -> bool:
    """``YYYY-MM-DD HH:MM:SS.ffffff``: what SQLite's DateTime of the same moment stores."""
    return len(text) == 26 and text[10] == " " and text[19] == "."


def _datetime_text(moment: datetime) -> str:
    return moment.isoformat(" ", "microseconds")[:26]


_COLUMNS = ("event_id", "service", "type", "stream_id", "record_kind", "record_id",
            "stream_version", "position", "effective_on", "recorded_at", "actor",
            "correlation_id", "causation_id", "township_id", "data")


AuditProjection.replay_columns = _COLUMNS
_OWN_APPLY = (AuditProjection.apply, AuditProjection.apply_batch)


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
