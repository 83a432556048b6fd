"""The hot path of a PostgreSQL event store: asyncpg connections of its own, one round trip each.

Through SQLAlchemy async a command cost ≈ 7 round trips (pool pre-ping, BEGIN, the advisory
lock, the version check, the insert, the idempotency record, COMMIT, the reset on return), each
with ≈ 300 µs of SQLAlchemy CPU, and pool overflow connections were opened and closed under
load. Here an append is one call of a server-side function (``zugong_append``) in an implicit
transaction: it takes the store-wide advisory lock, checks every stream's expected version,
inserts the events one by one (positions drawn in order, under the lock) and the idempotency
record, and commits when the call returns — so global order is still commit order. Reads are
one prepared statement each. The tables stay defined in SQLAlchemy metadata (eventstore.py);
the function is created with the schema (``create_function``), and again if it is missing.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["APPEND_FUNCTION_DDL", "PostgresFastPath", "PublishedEvent", "StreamConflict"]

_CONFLICT_SQLSTATE = "ZG409"

APPEND_FUNCTION_DDL = f"""
CREATE OR REPLACE FUNCTION zugong_append(
    p_lock bigint, p_streams text[], p_expected integer[],
    p_stream_id text[], p_stream_type text[], p_version integer[], p_event_id text[],
    p_type text[], p_schema_version integer[], p_effective_on date[], p_data text[],
    p_recorded_at timestamptz, p_actor text, p_correlation_id text, p_causation_id text,
    p_key text, p_fingerprint text, p_response text
) RETURNS bigint[] LANGUAGE plpgsql AS $$
DECLARE
    v_actual integer;
    v_position bigint;
    v_positions bigint[] := '{{}}';
BEGIN
    -- Under the lock before any position is drawn: positions commit in order. Each statement
    -- below takes a fresh snapshot (READ COMMITTED), so it sees what committed while we waited.
    IF p_lock IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(p_lock);
    END IF;
    FOR i IN 1 .. coalesce(cardinality(p_streams), 0) LOOP
        SELECT coalesce(max(version), 0) INTO v_actual FROM events WHERE stream_id = p_streams[i];
        IF v_actual <> p_expected[i] THEN
            RAISE EXCEPTION USING ERRCODE = '{_CONFLICT_SQLSTATE}',
                MESSAGE = 'stream ' || p_streams[i] || ' is at version ' || v_actual,
                DETAIL = i::text || ' ' || v_actual::text;
        END IF;
    END LOOP;
    FOR i IN 1 .. coalesce(cardinality(p_stream_id), 0) LOOP
        INSERT INTO events (stream_id, stream_type, version, event_id, type, schema_version,
                            effective_on, recorded_at, actor, correlation_id, causation_id, data)
        VALUES (p_stream_id[i], p_stream_type[i], p_version[i], p_event_id[i], p_type[i],
                p_schema_version[i], p_effective_on[i], p_recorded_at, p_actor,
                p_correlation_id, p_causation_id, p_data[i]::json)
        RETURNING position INTO v_position;
        v_positions := v_positions || v_position;
    END LOOP;
    IF p_key IS NOT NULL THEN
        INSERT INTO command_log (idempotency_key, fingerprint, response, recorded_at)
        VALUES (p_key, p_fingerprint, p_response::json, p_recorded_at);
    END IF;
    RETURN v_positions;
END
$$
"""

_APPEND = ("SELECT zugong_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
           " $15, $16, $17, $18)")
_EVENT_COLUMNS = ("position, stream_id, stream_type, version, event_id, type, schema_version, "
                  "effective_on, recorded_at, actor, correlation_id, causation_id, data")
_READ_STREAM = (f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND version > $2 "
                "ORDER BY version")
_READ_ALL = f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
_READ_PUBLISHED = """
SELECT position, stream_id, stream_type, (SELECT row_to_json(envelope) FROM (SELECT
    '1.0' AS specversion, event_id AS id, $3::text AS source, type,
    to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS time,
    stream_type || '/' || CASE WHEN left(stream_id, length(stream_type) + 1) = stream_type || '-'
        THEN substr(stream_id, length(stream_type) + 2) ELSE stream_id END AS subject,
    'application/json' AS datacontenttype, stream_id AS streamid, version AS streamversion,
    position, schema_version AS schemaversion, effective_on AS effectiveon,
    correlation_id AS correlationid, causation_id AS causationid, actor, data) envelope)::text
FROM events WHERE position > $1 ORDER BY position LIMIT $2"""
_STREAM_VERSION = "SELECT coalesce(max(version), 0) FROM events WHERE stream_id = $1"
_HEAD = "SELECT coalesce(max(position), 0) FROM events"
_FIND_COMMAND = "SELECT fingerprint, response FROM command_log WHERE idempotency_key = $1"
_UNDEFINED_FUNCTION = "42883"
_RELAY_POSITION = "SELECT position FROM relay_checkpoint WHERE relay = $1"
_SAVE_RELAY_POSITION = (
    "INSERT INTO relay_checkpoint (relay, position, updated_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (relay) DO UPDATE SET position = excluded.position, "
    "updated_at = excluded.updated_at")


class PublishedEvent(NamedTuple):
    """A stored event as the relay publishes it."""

    position: int
    stream_id: str
    stream_type: str
    envelope: bytes
    """The event's CloudEvents envelope, JSON."""


class StreamConflict(Exception):
    """The append's ``index``-th stream (0-based) is at ``actual``, not the expected version."""

    def __init__(self, index: int, actual: int) -> None:
        super().__init__(index, actual)
        self.index, self.actual = index, actual


async def _no_reset(_connection: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the pool: this path opens no
    transaction, cursor, listener or session setting that outlives its statement (asyncpg's
    default reset is one more round trip per use)."""


class PostgresFastPath:
    """An asyncpg pool for one store's engine, created in the running loop on first use and
    closed when the engine is disposed (a new one is made if the engine is used again)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        pool = engine.pool
        self._max_size = max(2, pool.size() + max(0, getattr(pool, "_max_overflow", 0))) \
            if hasattr(pool, "size") else 10
        self._pool: asyncpg.Pool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._creating: asyncio.Future | None = None

    async def pool(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._loop is loop:
            return self._pool
        if self._creating is not None and self._loop is loop:
            return await asyncio.shield(self._creating)
        if self._pool is not None:  # made in another (finished) event loop: unusable here
            self._pool.terminate()
            self._pool = None
        self._loop = loop
        self._creating = loop.create_future()
        try:
            # no inactivity timer: asyncpg re-arms one (call_later) on every release, ≈ 4% of a
            # service's CPU per command; the pool is small and lives as long as the process
            pool = await asyncpg.create_pool(
                self._dsn, min_size=1, max_size=self._max_size, reset=_no_reset,
                max_inactive_connection_lifetime=0)
        except BaseException as error:
            self._creating.set_exception(error)
            self._creating.exception()  # retrieved: no "never retrieved" warning
            self._creating = None
            raise
        self._pool = pool
        self._creating.set_result(pool)
        self._creating = None
        return pool

    def dispose_listener(self):
        """For SQLAlchemy's ``engine_disposed`` event (called inside the engine's greenlet when
        ``AsyncEngine.dispose`` runs, so the pool can be closed gracefully there)."""

        def dispose(_engine) -> None:
            pool, self._pool = self._pool, None
            if pool is None:
                return
            from sqlalchemy.util import await_only
            from sqlalchemy.util.concurrency import in_greenlet

            if not in_greenlet():  # a synchronous dispose: no loop to close it in
                pool.terminate()
                return
            try:
                await_only(asyncio.wait_for(pool.close(), 5))
            except Exception:
                pool.terminate()

        return dispose

    async def _fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        pool = await self.pool()
        async with pool.acquire() as connection:
            return await connection.fetch(query, *args)

    async def _fetchval(self, query: str, *args: Any) -> Any:
        pool = await self.pool()
        async with pool.acquire() as connection:
            return await connection.fetchval(query, *args)

    async def append(self, lock: int | None, streams: list[str], expected: list[int],
                     rows: list[dict[str, Any]], now: datetime, actor: str,
                     correlation_id: str, causation_id: str, key: str | None,
                     fingerprint: str, response: dict[str, Any] | None) -> list[int]:
        """Positions of ``rows``, appended in one transaction; raises ``StreamConflict`` or
        asyncpg's ``UniqueViolationError`` (nothing appended then)."""
        args = (
            lock, streams, expected,
            [r["stream_id"] for r in rows], [r["stream_type"] for r in rows],
            [r["version"] for r in rows], [r["event_id"] for r in rows],
            [r["type"] for r in rows], [r["schema_version"] for r in rows],
            [r["effective_on"] for r in rows], [json.dumps(r["data"]) for r in rows],
            now, actor, correlation_id, causation_id, key, fingerprint,
            json.dumps(response or {}) if key else None,
        )
        pool = await self.pool()
        async with pool.acquire() as connection:
            try:
                try:
                    return await connection.fetchval(_APPEND, *args)
                except asyncpg.UndefinedFunctionError:  # the schema was made without it
                    await create_function(connection)
                    return await connection.fetchval(_APPEND, *args)
            except asyncpg.PostgresError as error:
                if error.sqlstate != _CONFLICT_SQLSTATE:
                    raise
                index, actual = (int(part) for part in error.detail.split())
                raise StreamConflict(index - 1, actual) from None

    async def read_stream(self, stream_id: str, after_version: int) -> list[dict[str, Any]]:
        return [_event_fields(row) for row in
                await self._fetch(_READ_STREAM, stream_id, after_version)]

    async def read_all(self, after_position: int, limit: int) -> list[dict[str, Any]]:
        return [_event_fields(row) for row in
                await self._fetch(_READ_ALL, after_position, limit)]

    async def read_published(self, after_position: int, limit: int, service: str
                             ) -> list[PublishedEvent]:
        """As ``read_all``, each event with its envelope's JSON (what ``to_envelope(service)``
        gives, ``model_dump_json``) written by the database: the relay then forwards bytes
        instead of decoding each payload and encoding each envelope in Python."""
        return [PublishedEvent(row[0], row[1], row[2], row[3].encode())
                for row in await self._fetch(_READ_PUBLISHED, after_position, limit,
                                             f"/zugong/{service}")]

    async def stream_version(self, stream_id: str) -> int:
        return await self._fetchval(_STREAM_VERSION, stream_id)

    async def head_position(self) -> int:
        return await self._fetchval(_HEAD)

    async def relay_position(self, relay: str) -> int | None:
        return await self._fetchval(_RELAY_POSITION, relay)

    async def save_relay_position(self, relay: str, position: int, now: datetime) -> None:
        """One statement in its own implicit transaction (SQLAlchemy's update-then-insert
        took a checkout, BEGIN, the update and COMMIT: ≈ 1 ms of the relay's CPU per batch)."""
        pool = await self.pool()
        async with pool.acquire() as connection:
            await connection.execute(_SAVE_RELAY_POSITION, relay, position, now)

    async def find_command(self, key: str) -> tuple[str, dict[str, Any]] | None:
        rows = await self._fetch(_FIND_COMMAND, key)
        return (rows[0][0], json.loads(rows[0][1])) if rows else None


def _event_fields(row: asyncpg.Record) -> dict[str, Any]:
    fields = dict(row.items())
    fields["data"] = json.loads(fields["data"])
    if fields["recorded_at"].tzinfo is None:
        fields["recorded_at"] = fields["recorded_at"].replace(tzinfo=UTC)
    return fields


async def create_function(connection: asyncpg.Connection) -> None:
    """(Re)create ``zugong_append`` under the schema lock (concurrent ``CREATE OR REPLACE``
    of one function fails with "tuple concurrently updated")."""
    from services.kernel.db import PG_SCHEMA_LOCK

    async with connection.transaction():
        await connection.execute(f"SELECT pg_advisory_xact_lock({PG_SCHEMA_LOCK})")
        await connection.execute(APPEND_FUNCTION_DDL)
