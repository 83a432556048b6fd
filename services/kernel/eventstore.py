"""The event store: the source of truth and the outbox, on SQLite or PostgreSQL.

Global order equals commit order: every append takes a store-wide lock before it takes the
next position (an advisory transaction lock on PostgreSQL; on SQLite ``BEGIN IMMEDIATE``, the
database's single writer lock). A reader that follows positions therefore never skips an event
that commits late.

A SQLite file store runs its statements on a plain ``sqlite3`` connection in the event loop's
thread: through SQLAlchemy async and aiosqlite a one-row statement costs ~300 µs (connection
checkout, greenlet switches, a hop to aiosqlite's worker thread and back), with ``sqlite3``
~5 µs, and an append (``BEGIN IMMEDIATE`` … ``COMMIT``) runs with no ``await`` inside, so the
process's appends are serialised by the loop itself. ``engine`` (SQLAlchemy) stays the way
other components read or write the file (relay checkpoints, ``zugong store verify``,
rebuilds). PostgreSQL has a hot path of its own on asyncpg (services/kernel/pgstore.py: an
append is one call of a server-side function, a read one prepared statement); an in-memory
SQLite database goes through SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from pydantic_core import from_json
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import EventEnvelope
from contracts.registry import DomainEvent
from services.kernel.db import LOOP_WRITER_AUTOCHECKPOINT_PAGES, create_tables, is_sqlite
from services.kernel.errors import ConcurrencyConflict, IdempotencyKeyReused
from services.kernel.ids import random_uuid
from services.kernel.pgstore import (
    APPEND_FUNCTION_DDL,
    PostgresFastPath,
    PublishedEvent,
    StreamConflict,
)

__all__ = [
    "AppendResult",
    "CommandMetadata",
    "EventStore",
    "RecordedEvent",
    "StoredCommand",
    "StreamWrite",
    "store_metadata",
]

store_metadata = sa.MetaData()

events_table = sa.Table(
    "events",
    store_metadata,
    sa.Column("position", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("stream_type", sa.String(64), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("type", sa.String(200), nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("effective_on", sa.Date, nullable=True),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("correlation_id", sa.String(64), nullable=False),
    sa.Column("causation_id", sa.String(64), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
)

command_log_table = sa.Table(
    "command_log",
    store_metadata,
    sa.Column("idempotency_key", sa.String(200), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("response", sa.JSON, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

_PG_APPEND_LOCK = 7_240_211  # arbitrary constant: the store-wide append lock id


@dataclass(frozen=True)
class CommandMetadata:
    """Who asked, and the ids that tie the resulting events to the request."""

    actor: str
    correlation_id: str
    causation_id: str
    idempotency_key: str | None = None
    fingerprint: str = ""

    @staticmethod
    def fingerprint_of(payload: Any) -> str:
        raw = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class StreamWrite:
    """Events to append to one stream, valid only if the stream is at ``expected_version``."""

    stream_id: str
    stream_type: str
    expected_version: int
    events: Sequence[DomainEvent]


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    stream_id: str
    stream_type: str
    version: int
    event_id: str
    type: str
    schema_version: int
    effective_on: date | None
    recorded_at: datetime
    actor: str
    correlation_id: str
    causation_id: str
    data: dict[str, Any]

    def to_envelope(self, service: str) -> EventEnvelope:
        aggregate_id = self.stream_id.removeprefix(f"{self.stream_type}-")
        return EventEnvelope(
            id=self.event_id,
            source=f"/zugong/{service}",
            type=self.type,
            time=self.recorded_at,
            subject=f"{self.stream_type}/{aggregate_id}",
            streamid=self.stream_id,
            streamversion=self.version,
            position=self.position,
            schemaversion=self.schema_version,
            effectiveon=self.effective_on.isoformat() if self.effective_on else None,
            correlationid=self.correlation_id,
            causationid=self.causation_id,
            actor=self.actor,
            data=self.data,
        )


@dataclass(frozen=True)
class AppendResult:
    versions: dict[str, int]
    last_position: int
    events: list[RecordedEvent] = field(default_factory=list)


@dataclass(frozen=True)
class StoredCommand:
    response: dict[str, Any]


def _row_to_event(row: Any) -> RecordedEvent:
    recorded_at = row.recorded_at
    if recorded_at.tzinfo is None:
        recorded_at = recorded_at.replace(tzinfo=UTC)
    return RecordedEvent(
        position=row.position,
        stream_id=row.stream_id,
        stream_type=row.stream_type,
        version=row.version,
        event_id=row.event_id,
        type=row.type,
        schema_version=row.schema_version,
        effective_on=row.effective_on,
        recorded_at=recorded_at,
        actor=row.actor,
        correlation_id=row.correlation_id,
        causation_id=row.causation_id,
        data=row.data,
    )


class EventStore:
    """Append-only event store of one service. All methods are coroutine-safe."""

    _append_lock: int | None = _PG_APPEND_LOCK
    """The store-wide append lock (PostgreSQL); None only to demonstrate, in a test, what
    goes wrong without it."""

    def __init__(self, engine: AsyncEngine, *, service: str = "", metrics=None,
                 clock=None, busy_timeout: float = 30.0) -> None:
        self.engine = engine
        self.service = service
        self._metrics = metrics
        self._sqlite = is_sqlite(engine)
        self._write_lock = asyncio.Lock()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._appended = asyncio.Event()
        self._appended_counters: dict[str, Any] = {}
        self._file: _SqliteFile | None = None
        self._pg: PostgresFastPath | None = None
        if engine.dialect.name == "postgresql":
            self._pg = PostgresFastPath(engine)
            sa.event.listen(engine.sync_engine, "engine_disposed", self._pg.dispose_listener())
        if self._sqlite:
            database = engine.url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                self._file = _SqliteFile(database, busy_timeout)
                sa.event.listen(engine.sync_engine, "engine_disposed", self._file.close_listener())

    @property
    def postgres(self) -> PostgresFastPath | None:
        """The store's asyncpg path on PostgreSQL (None on SQLite): for a process beside the
        store, such as its relay, whose own statements are as hot as the store's."""
        return self._pg

    async def create_schema(self) -> None:
        async with self.engine.begin() as conn:
            await create_tables(conn, store_metadata)  # under the schema lock on PostgreSQL
            if self._pg is not None:
                await conn.exec_driver_sql(APPEND_FUNCTION_DDL)

    async def append(
        self, writes: Sequence[StreamWrite], metadata: CommandMetadata,
        response: dict[str, Any] | None = None,
    ) -> AppendResult:
        """Append atomically to one or more streams.

        Raises ConcurrencyConflict if any stream is not at its expected version. With an
        idempotency key, ``response`` is recorded in the same transaction, so a retry can be
        answered without appending again.
        """
        if self._file is not None:
            result = await self._file.run(self._file.append, writes, metadata, response,
                                          self._clock())
        elif self._pg is not None:
            result = await self._append_pg(writes, metadata, response)
        else:
            async with self._write_lock:
                result = await self._append(writes, metadata, response)
        self._appended.set()
        self._appended = asyncio.Event()
        if self._metrics is not None:
            for event in result.events:
                counter = self._appended_counters.get(event.type)
                if counter is None:  # labels() costs more than the append's SQL
                    counter = self._appended_counters[event.type] = \
                        self._metrics.events_appended.labels(self.service, event.type)
                counter.inc()
        return result

    async def _append_pg(self, writes, metadata, response) -> AppendResult:
        now = self._clock()
        versions: dict[str, int] = {}
        rows = _rows(writes, metadata, now, versions)
        try:
            positions = await self._pg.append(
                self._append_lock, [w.stream_id for w in writes],
                [w.expected_version for w in writes], rows, now, metadata.actor,
                metadata.correlation_id, metadata.causation_id, metadata.idempotency_key,
                metadata.fingerprint, response)
        except StreamConflict as conflict:
            write = writes[conflict.index]
            raise ConcurrencyConflict(write.stream_id, write.expected_version,
                                      conflict.actual) from None
        except asyncpg.UniqueViolationError as error:
            raise _integrity_error(f"{error.constraint_name} {error}", writes) from None
        recorded = [_row_to_event(_Row(position=position, **row))
                    for row, position in zip(rows, positions, strict=True)]
        last = recorded[-1].position if recorded else 0
        return AppendResult(versions=versions, last_position=last, events=recorded)

    async def _append(self, writes, metadata, response) -> AppendResult:
        """An in-memory SQLite store's append (``append`` holds ``_write_lock``; SQLite
        serialises writers)."""
        now = self._clock()
        versions: dict[str, int] = {}
        recorded: list[RecordedEvent] = []
        try:
            async with self.engine.begin() as conn:
                for write in writes:
                    actual = await self._version(conn, write.stream_id)
                    if actual != write.expected_version:
                        raise ConcurrencyConflict(write.stream_id, write.expected_version, actual)
                rows = _rows(writes, metadata, now, versions)
                if rows:
                    inserted = await conn.execute(
                        events_table.insert().returning(
                            events_table.c.position, sort_by_parameter_order=True
                        ),
                        rows,
                    )
                    for row, position in zip(rows, inserted.scalars(), strict=True):
                        recorded.append(_row_to_event(_Row(position=position, **row)))
                if metadata.idempotency_key:
                    await conn.execute(command_log_table.insert().values(
                        idempotency_key=metadata.idempotency_key,
                        fingerprint=metadata.fingerprint,
                        response=response or {},
                        recorded_at=now,
                    ))
        except IntegrityError as error:
            raise _integrity_error(str(error.orig), writes) from None
        last = recorded[-1].position if recorded else 0
        return AppendResult(versions=versions, last_position=last, events=recorded)

    @staticmethod
    async def _version(conn: AsyncConnection, stream_id: str) -> int:
        value = await conn.scalar(
            sa.select(sa.func.max(events_table.c.version)).where(
                events_table.c.stream_id == stream_id
            )
        )
        return value or 0

    async def stream_version(self, stream_id: str) -> int:
        if self._file is not None:
            return await self._file.run(self._file.stream_version, stream_id)
        if self._pg is not None:
            return await self._pg.stream_version(stream_id)
        async with self.engine.connect() as conn:
            return await self._version(conn, stream_id)

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        if self._file is not None:
            return await self._file.run(self._file.read_stream, stream_id, after_version)
        if self._pg is not None:
            return [RecordedEvent(**fields)
                    for fields in await self._pg.read_stream(stream_id, after_version)]
        query = (
            sa.select(events_table)
            .where(events_table.c.stream_id == stream_id, events_table.c.version > after_version)
            .order_by(events_table.c.version)
        )
        async with self.engine.connect() as conn:
            return [_row_to_event(row) for row in await conn.execute(query)]

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        if self._file is not None:
            return await self._file.run(self._file.read_all, after_position, limit)
        if self._pg is not None:
            return [RecordedEvent(**fields)
                    for fields in await self._pg.read_all(after_position, limit)]
        query = (
            sa.select(events_table)
            .where(events_table.c.position > after_position)
            .order_by(events_table.c.position)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_row_to_event(row) for row in await conn.execute(query)]

    async def read_envelopes(self, after_position: int = 0, limit: int = 1000,
                             service: str | None = None) -> list[EventEnvelope]:
        """As ``read_all``, already in their envelopes (``position`` is the store's) as
        ``service`` (default: the store's) publishes them: the projectors' and rebuilds' read,
        built straight from the rows on a SQLite file."""
        service = self.service if service is None else service
        if self._file is not None:
            return await self._file.run(self._file.read_envelopes, after_position, limit,
                                        service)
        return [e.to_envelope(service) for e in await self.read_all(after_position, limit)]

    async def read_rows(self, after_position: int = 0, limit: int = 1000) -> list[tuple] | None:
        """As ``read_all``, the events table's rows as the SQLite file holds them (a tuple of
        ``events_table``'s columns in order, each as stored: dates and times as text, the
        payload as its JSON text); None when the store is not a SQLite file. For a replay
        that turns rows straight into rows of its own."""
        if self._file is None:
            return None
        return await self._file.run(self._file.read_rows, after_position, limit)

    async def head_position(self) -> int:
        if self._file is not None:
            return await self._file.run(self._file.head_position)
        if self._pg is not None:
            return await self._pg.head_position()
        async with self.engine.connect() as conn:
            return await conn.scalar(sa.select(sa.func.max(events_table.c.position))) or 0

    async def find_command(self, idempotency_key: str, fingerprint: str) -> StoredCommand | None:
        """The recorded response of an earlier command with this key, if any."""
        if self._file is not None:
            found = await self._file.run(self._file.find_command, idempotency_key)
        elif self._pg is not None:
            found = await self._pg.find_command(idempotency_key)
        else:
            async with self.engine.connect() as conn:
                row = (await conn.execute(
                    sa.select(command_log_table.c.fingerprint, command_log_table.c.response)
                    .where(command_log_table.c.idempotency_key == idempotency_key)
                )).first()
            found = (row.fingerprint, row.response) if row is not None else None
        if found is None:
            return None
        if found[0] != fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request; use a new key"
            )
        return StoredCommand(response=found[1])

    def append_signal(self) -> asyncio.Event:
        """An event set by the next append in this process. Take it BEFORE reading, then wait."""
        return self._appended

    async def read_published(self, after_position: int = 0, limit: int = 1000
                             ) -> list[PublishedEvent]:
        """As ``read_all``, each event with its envelope's JSON as the relay publishes it (on
        PostgreSQL the database writes the envelope)."""
        if self._pg is not None:
            return await self._pg.read_published(after_position, limit, self.service)
        return [PublishedEvent(e.position, e.stream_id, e.stream_type,
                               e.to_envelope(self.service).model_dump_json().encode())
                for e in await self.read_all(after_position, limit)]


def _rows(writes: Sequence[StreamWrite], metadata: CommandMetadata, now: datetime,
          versions: dict[str, int]) -> list[dict[str, Any]]:
    """The events table rows of ``writes`` (checked against their expected versions)."""
    rows = []
    for write in writes:
        version = write.expected_version
        for event in write.events:
            version += 1
            rows.append({
                "stream_id": write.stream_id,
                "stream_type": write.stream_type,
                "version": version,
                "event_id": random_uuid(),
                "type": event.wire_type(),
                "schema_version": event.schema_version,
                "effective_on": getattr(event, "effective_on", None),
                "recorded_at": now,
                "actor": metadata.actor,
                "correlation_id": metadata.correlation_id,
                "causation_id": metadata.causation_id,
                "data": event.model_dump(mode="json"),
            })
        versions[write.stream_id] = version
    return rows


def _integrity_error(message: str, writes: Sequence[StreamWrite]) -> Exception:
    if "command_log" in message or "idempotency_key" in message:
        return IdempotencyKeyReused(
            "a command with this Idempotency-Key is being or has been processed")
    stream = writes[0].stream_id if writes else "?"
    return ConcurrencyConflict(stream, writes[0].expected_version if writes else 0, -1)


_EVENT_COLUMNS = [c.name for c in events_table.columns]
_INSERT_COLUMNS = [name for name in _EVENT_COLUMNS if name != "position"]
_SELECT_EVENTS = f"SELECT {', '.join(_EVENT_COLUMNS)} FROM events"
_INSERT_EVENT = (f"INSERT INTO events ({', '.join(_INSERT_COLUMNS)}) "
                 f"VALUES ({', '.join('?' for _ in _INSERT_COLUMNS)})")
_INSERT_COMMAND = ("INSERT INTO command_log (idempotency_key, fingerprint, response, recorded_at)"
                   " VALUES (?, ?, ?, ?)")
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def _sqlite_datetime(moment: datetime) -> str:
    """As SQLAlchemy's SQLite dialect stores a DateTime (naive, here always UTC)."""
    if moment.tzinfo is UTC:
        moment = moment.replace(tzinfo=None)
    elif moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(sep=" ", timespec="microseconds")


def _sqlite_event(row: tuple) -> RecordedEvent:
    (position, stream_id, stream_type, version, event_id, type_, schema_version, effective_on,
     recorded_at, actor, correlation_id, causation_id, data) = row
    return RecordedEvent(
        position=position, stream_id=stream_id, stream_type=stream_type, version=version,
        event_id=event_id, type=type_, schema_version=schema_version,
        effective_on=date.fromisoformat(effective_on) if effective_on else None,
        recorded_at=datetime.fromisoformat(recorded_at).replace(tzinfo=UTC),
        actor=actor, correlation_id=correlation_id, causation_id=causation_id,
        data=json.loads(data))


def _utc_datetime(text: str) -> datetime:
    """``datetime.fromisoformat(text).replace(tzinfo=UTC)`` of the stored (naive, UTC) text:
    parsed with its zone in one go when it has none (a fifth of the cost)."""
    if len(text) == 26 and text[10] == " ":
        return datetime.fromisoformat(f"{text}+00:00")
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _sqlite_envelope(row: tuple, service: str) -> EventEnvelope:
    """``_sqlite_event(row).to_envelope(service)`` without the intermediate RecordedEvent nor
    validating the stored values again (``EventEnvelope.from_store``)."""
    (position, stream_id, stream_type, version, event_id, type_, schema_version, effective_on,
     recorded_at, actor, correlation_id, causation_id, data) = row
    return EventEnvelope.from_store(
        id=event_id, source=f"/zugong/{service}", type=type_,
        time=_utc_datetime(recorded_at),
        subject=f"{stream_type}/{stream_id.removeprefix(f'{stream_type}-')}",
        streamid=stream_id, streamversion=version, position=position,
        schemaversion=schema_version, effectiveon=effective_on or None,
        correlationid=correlation_id, causationid=causation_id, actor=actor,
        data=from_json(data))


class _SqliteFile:
    """The hot path of a SQLite file store: one ``sqlite3`` connection used in the loop's thread.

    Every method is synchronous and short; ``run`` calls one. The connection never waits for a
    lock inside SQLite (``busy_timeout=0``): blocking the loop there could deadlock with another
    writer of the file in this process (an aiosqlite transaction waits for the loop to commit),
    so ``run`` retries a busy statement after an ``await asyncio.sleep``.
    """

    def __init__(self, path: str, busy_timeout: float) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._connection: sqlite3.Connection | None = None

    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self.path, timeout=0, isolation_level=None,
                                         check_same_thread=False)
            try:
                connection.execute("PRAGMA busy_timeout=0")
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute(f"PRAGMA wal_autocheckpoint={LOOP_WRITER_AUTOCHECKPOINT_PAGES}")
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def close_listener(self) -> Callable[[Any], None]:
        return lambda _engine: self.close()

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        delay, deadline = 0.0005, None
        while True:
            try:
                return call(*args)
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF not in (_SQLITE_BUSY, _SQLITE_LOCKED):
                    raise
                now = time.monotonic()
                deadline = deadline or now + self.busy_timeout
                if now >= deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    def append(self, writes: Sequence[StreamWrite], metadata: CommandMetadata,
               response: dict[str, Any] | None, now: datetime) -> AppendResult:
        connection = self.connection()
        versions: dict[str, int] = {}
        rows = _rows(writes, metadata, now, versions)
        stamp = _sqlite_datetime(now)
        recorded: list[RecordedEvent] = []
        connection.execute("BEGIN IMMEDIATE")
        try:
            # A new stream's version is not read: its first event cannot be inserted twice
            # (unique stream and version), and such a conflict is told apart below.
            if any(w.expected_version != 0
                   and self._version(connection, w.stream_id) != w.expected_version
                   for w in writes):
                raise self._first_conflict(connection, writes)
            for row in rows:
                effective_on = row["effective_on"]
                cursor = connection.execute(_INSERT_EVENT, (
                    row["stream_id"], row["stream_type"], row["version"], row["event_id"],
                    row["type"], row["schema_version"],
                    effective_on.isoformat() if effective_on is not None else None, stamp,
                    row["actor"], row["correlation_id"], row["causation_id"],
                    json.dumps(row["data"])))
                recorded.append(RecordedEvent(position=cursor.lastrowid, **row)
                                if now.tzinfo is not None
                                else _row_to_event(_Row(position=cursor.lastrowid, **row)))
            if metadata.idempotency_key:
                connection.execute(_INSERT_COMMAND, (
                    metadata.idempotency_key, metadata.fingerprint, json.dumps(response or {}),
                    stamp))
            connection.execute("COMMIT")
        except sqlite3.IntegrityError as error:
            connection.execute("ROLLBACK")
            # a new stream that existed after all: the conflict reading versions would have found
            raise self._first_conflict(connection, writes) \
                or _integrity_error(str(error), writes) from None
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        last = recorded[-1].position if recorded else 0
        return AppendResult(versions=versions, last_position=last, events=recorded)

    def _first_conflict(self, connection: sqlite3.Connection, writes: Sequence[StreamWrite]
                        ) -> ConcurrencyConflict | None:
        for write in writes:
            actual = self._version(connection, write.stream_id)
            if actual != write.expected_version:
                return ConcurrencyConflict(write.stream_id, write.expected_version, actual)
        return None

    @staticmethod
    def _version(connection: sqlite3.Connection, stream_id: str) -> int:
        row = connection.execute("SELECT max(version) FROM events WHERE stream_id = ?",
                                 (stream_id,)).fetchone()
        return row[0] or 0

    def stream_version(self, stream_id: str) -> int:
        return self._version(self.connection(), stream_id)

    def read_stream(self, stream_id: str, after_version: int) -> list[RecordedEvent]:
        rows = self.connection().execute(
            f"{_SELECT_EVENTS} WHERE stream_id = ? AND version > ? ORDER BY version",
            (stream_id, after_version)).fetchall()
        return [_sqlite_event(row) for row in rows]

    def read_all(self, after_position: int, limit: int) -> list[RecordedEvent]:
        rows = self.connection().execute(
            f"{_SELECT_EVENTS} WHERE position > ? ORDER BY position LIMIT ?",
            (after_position, limit)).fetchall()
        return [_sqlite_event(row) for row in rows]

    def read_envelopes(self, after_position: int, limit: int, service: str
                       ) -> list[EventEnvelope]:
        return [_sqlite_envelope(row, service) for row in self.read_rows(after_position, limit)]

    def read_rows(self, after_position: int, limit: int) -> list[tuple]:
        return self.connection().execute(
            f"{_SELECT_EVENTS} WHERE position > ? ORDER BY position LIMIT ?",
            (after_position, limit)).fetchall()

    def head_position(self) -> int:
        return self.connection().execute("SELECT max(position) FROM events").fetchone()[0] or 0

    def find_command(self, idempotency_key: str) -> tuple[str, dict[str, Any]] | None:
        row = self.connection().execute(
            "SELECT fingerprint, response FROM command_log WHERE idempotency_key = ?",
            (idempotency_key,)).fetchone()
        return (row[0], json.loads(row[1])) if row is not None else None


class _Row:
    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)
