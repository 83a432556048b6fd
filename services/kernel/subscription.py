"""Subscription runner: applies batches of events to a projection, exactly once in effect.

Each batch writes the projection's rows, the source checkpoint and the last applied version
of every stream it touched in ONE transaction. A redelivered event (after a crash, a restart
or a relay duplicate) is recognised by its stream version and changes nothing. Only events
the projection handles count: an event it does not handle costs nothing but the checkpoint,
so its stream versions (``projection_streams``, what consistency tokens and a rebuild's
verification read) are those of the last event it handled in each stream. An event the
projection cannot apply is parked as a dead letter with the reason, in the same transaction,
and the batch carries on. Later events of a stream with a parked event are parked behind it
(per-stream order is kept, as in a sequenced dead-letter queue), so replaying the parked
events in order after a fix gives the same read model as a rebuild.

On PostgreSQL each batch holds a shared advisory lock named after its projection; a rebuild
takes it exclusively to swap tables in between two batches (``projection_lock``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.envelope import EventEnvelope
from services.kernel.db import create_tables, sqlite_driver, upsert
from services.kernel.logging import get_logger
from services.kernel.metrics import Metrics

__all__ = [
    "Delivery",
    "Projection",
    "SubscriptionRunner",
    "checkpoint_metadata",
    "dead_letters_table",
    "is_replay",
    "projection_lock",
    "projection_positions_table",
    "projection_streams_table",
    "replay_mode",
]

log = get_logger("zugong.subscription")
checkpoint_metadata = sa.MetaData()

projection_positions_table = sa.Table(
    "projection_positions", checkpoint_metadata,
    sa.Column("projection", sa.String(100), primary_key=True),
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

projection_streams_table = sa.Table(
    "projection_streams", checkpoint_metadata,
    sa.Column("projection", sa.String(100), primary_key=True),
    sa.Column("stream_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

dead_letters_table = sa.Table(
    "dead_letters", checkpoint_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("projection", sa.String(100), nullable=False, index=True),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("event_id", sa.String(64), nullable=True),
    sa.Column("stream_id", sa.String(200), nullable=True),
    sa.Column("stream_version", sa.Integer, nullable=True),
    sa.Column("type", sa.String(200), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(20), nullable=False, default="parked"),
    sa.Index("ix_dead_letters_held", "projection", "status", "stream_id"),
)

_IN_CHUNK = 10_000
"""Ids per IN (...) list: one query for a whole batch, within SQLite's limit of 32,766 bound
parameters (PostgreSQL's is 65,535)."""


def _pg_version_statements() -> tuple[sa.Select, Any]:
    """A batch's stream versions read and written with one array parameter per column
    (``= ANY($ids)``, ``INSERT … SELECT unnest(…)``): an ``IN`` list or a many-row upsert
    costs SQLAlchemy a bound parameter per stream to render and process, which dominated the
    projector's time on PostgreSQL. Core statements, so that a rebuild's shadow schema
    (``schema_translate_map``) applies to them as to every other."""
    from sqlalchemy.dialects import postgresql

    table = projection_streams_table
    ids = sa.bindparam("ids", type_=postgresql.ARRAY(sa.String))
    # one primary-key probe per id, whatever the plan: asyncpg's statements are prepared, and
    # a generic plan made while the table was empty (``stream_id = ANY(…)`` as a filter over
    # a scan of every stream, 50 ms a batch at 30,000 streams) would stay for the
    # connection's lifetime
    wanted = sa.func.unnest(ids).table_valued("stream_id").render_derived(name="wanted")
    load = sa.select(wanted.c.stream_id, sa.select(table.c.version).where(
        table.c.projection == sa.bindparam("projection", type_=sa.String),
        table.c.stream_id == wanted.c.stream_id).scalar_subquery().label("version"))
    rows = sa.select(sa.bindparam("projection", type_=sa.String), sa.func.unnest(ids),
                     sa.func.unnest(sa.bindparam("versions", type_=postgresql.ARRAY(sa.Integer))))
    save = postgresql.insert(table).from_select(["projection", "stream_id", "version"], rows)
    save = save.on_conflict_do_update(index_elements=["projection", "stream_id"],
                                      set_={"version": save.excluded.version})
    return load, save


_PG_LOAD_VERSIONS, _PG_SAVE_VERSIONS = _pg_version_statements()

# A live batch's bookkeeping on SQLite, as the DBAPI's statements: through SQLAlchemy's async
# layer each of these five statements cost ≈ 0.2-0.3 ms of the loop (compile-cache lookup,
# greenlet switch, result wrapping), more than a one-event batch's own rows; this is the time
# between an append and its visibility in the embedded platform. Same tables, same rows.
_SQLITE_LOAD_VERSIONS = (f"SELECT stream_id, version FROM {projection_streams_table.name} "
                         "WHERE projection = ? AND stream_id IN ({marks})")
# How a projection on SQLite records its stream versions and checkpoint through the DBAPI
# (also used by a rebuild's replay from store rows, which must write them as the runner does).
SQLITE_SAVE_VERSIONS = (f"INSERT INTO {projection_streams_table.name} "
                        "(projection, stream_id, version) VALUES (?, ?, ?) "
                        "ON CONFLICT (projection, stream_id) DO UPDATE SET version = excluded.version")
_SQLITE_LOAD_POSITIONS = (f"SELECT source, position FROM {projection_positions_table.name} "
                          "WHERE projection = ? AND source IN ({marks})")
SQLITE_SAVE_POSITION = (
    f"INSERT INTO {projection_positions_table.name} (projection, source, position, updated_at) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (projection, source) DO UPDATE SET "
    "position = excluded.position, updated_at = excluded.updated_at")
_SQLITE_HELD_STREAMS = (f"SELECT DISTINCT stream_id FROM {dead_letters_table.name} "
                        "WHERE projection = ? AND status = 'parked' AND stream_id IS NOT NULL")


async def _sqlite_rows(driver: Any, sql: str, parameters: Sequence[Any]) -> list[tuple]:
    cursor = await driver.execute(sql, parameters)
    try:
        return list(await cursor.fetchall())
    finally:
        await cursor.close()


def _pg_batch_statements() -> tuple[Any, Any]:
    """A batch's reads (its streams' versions, its sources' checkpoints, the held streams)
    in one statement, and its writes (versions, checkpoints) in another: one round trip
    each instead of five, for every projection of every batch."""
    from sqlalchemy.dialects import postgresql

    projection = sa.bindparam("projection", type_=sa.String)
    streams, positions, letters = (projection_streams_table, projection_positions_table,
                                   dead_letters_table)
    ids = sa.bindparam("ids", type_=postgresql.ARRAY(sa.String))
    wanted = sa.func.unnest(ids).table_valued("stream_id").render_derived(name="wanted")
    version = sa.select(streams.c.version).where(
        streams.c.projection == projection,
        streams.c.stream_id == wanted.c.stream_id).scalar_subquery()
    load = sa.union_all(
        sa.select(sa.literal("version").label("kind"), wanted.c.stream_id.label("key"),
                  sa.cast(version, sa.BigInteger).label("value")).select_from(wanted),
        sa.select(sa.literal("position"), positions.c.source, positions.c.position).where(
            positions.c.projection == projection,
            positions.c.source == sa.any_(sa.bindparam(
                "sources", type_=postgresql.ARRAY(sa.String)))),
        sa.select(sa.literal("held"), letters.c.stream_id, sa.cast(sa.null(), sa.BigInteger))
        .distinct().where(letters.c.projection == projection, letters.c.status == "parked",
                          letters.c.stream_id.is_not(None)))
    rows = sa.select(projection, sa.func.unnest(sa.bindparam(
        "sources", type_=postgresql.ARRAY(sa.String))), sa.func.unnest(sa.bindparam(
            "positions", type_=postgresql.ARRAY(sa.BigInteger))), sa.bindparam(
        "now", type_=sa.DateTime(timezone=True)))
    checkpoints = postgresql.insert(positions).from_select(
        ["projection", "source", "position", "updated_at"], rows)
    checkpoints = checkpoints.on_conflict_do_update(
        index_elements=["projection", "source"],
        set_={"position": checkpoints.excluded.position,
              "updated_at": checkpoints.excluded.updated_at})
    save = checkpoints.add_cte(_PG_SAVE_VERSIONS.cte("saved_versions"))
    return load, save


_PG_LOAD_BATCH, _PG_SAVE_BATCH = _pg_batch_statements()

TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError, OSError, TimeoutError)

_REPLAY: ContextVar[bool] = ContextVar("zugong_replay", default=False)


def is_replay() -> bool:
    """True while a rebuild replays history: a projection must not fire side effects
    (notifications, messages to other systems, alerts) then, only write its own rows."""
    return _REPLAY.get()


@contextlib.contextmanager
def replay_mode() -> Iterator[None]:
    token = _REPLAY.set(True)
    try:
        yield
    finally:
        _REPLAY.reset(token)


def _lock_key(projection: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"zugong-projection:{projection}".encode(),
                                          digest_size=8).digest(), "big", signed=True)


async def projection_lock(conn: AsyncConnection, projection: str, *, exclusive: bool) -> None:
    """Hold the projection's lock until the transaction ends (PostgreSQL advisory lock).

    Batches take it shared, so they never wait for one another; a table swap or a dead-letter
    replay takes it exclusively and so falls between two batches. SQLite needs none: it has
    one writer at a time (the exclusive side starts with a write to take the write lock).
    """
    if conn.dialect.name == "sqlite":
        return
    function = sa.func.pg_advisory_xact_lock if exclusive else sa.func.pg_advisory_xact_lock_shared
    await conn.execute(sa.select(function(_lock_key(projection))))


async def _projection_locks(conn: AsyncConnection, projections: Sequence[str]) -> None:
    """``projection_lock(…, exclusive=False)`` for several projections, in one statement."""
    if conn.dialect.name == "sqlite" or not projections:
        return
    await conn.execute(sa.select(*(sa.func.pg_advisory_xact_lock_shared(_lock_key(p))
                                   for p in projections)))


def _advance_statement(conn: AsyncConnection) -> Any:
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    table = projection_positions_table
    statement = insert(table)
    return statement.on_conflict_do_update(index_elements=["projection", "source"], set_={
        "position": sa.case((statement.excluded.position > table.c.position,
                             statement.excluded.position), else_=table.c.position),
        "updated_at": statement.excluded.updated_at})


_SQLITE_WRITER_LOCKS: dict[tuple[int, str], asyncio.Lock] = {}


def _sqlite_writer_lock(engine: AsyncEngine) -> asyncio.Lock | None:
    """SQLite has one writer at a time: runners sharing a file in one process take turns here
    instead of failing with "database is locked" and retrying."""
    if engine.dialect.name != "sqlite":
        return None
    key = (id(asyncio.get_running_loop()), str(engine.url))
    return _SQLITE_WRITER_LOCKS.setdefault(key, asyncio.Lock())


class Projection(Protocol):
    """A read model fed by events. ``apply`` must only touch the given connection.

    A projection may also define ``async apply_batch(conn, events)``: the runner then hands
    it all the events of a batch it is to apply, in order, in one call (so that it can write
    each table with one statement), instead of calling ``apply`` once per event. It must
    leave exactly the rows that ``apply`` on each event in turn would. If it raises, the
    runner rolls the batch back and applies it again event by event with ``apply``, to park
    the event that fails.
    """

    name: str
    metadata: sa.MetaData

    def handles(self, event_type: str) -> bool: ...

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None: ...


@dataclass(frozen=True)
class Delivery:
    """One event from a source: ``source`` names a totally ordered log, ``position`` its offset.

    ``envelope`` is None when the raw payload could not even be decoded as an envelope.
    """

    source: str
    position: int
    envelope: EventEnvelope | None
    raw: bytes | str | None = None
    decode_error: str | None = None


class SubscriptionRunner:
    """Feeds deliveries to one projection and keeps its checkpoints in the read-model DB."""

    def __init__(self, projection: Projection, engine: AsyncEngine, metrics: Metrics, *,
                 on_parked: Callable[[list[dict[str, Any]]], Awaitable[None]] | None = None,
                 lock_name: str | None = None) -> None:
        self.projection = projection
        self.lock_name = lock_name or projection.name
        """The projection lock its batches hold shared (a rebuild's shadow uses its own)."""
        self.engine = engine
        self.metrics = metrics
        self.on_parked = on_parked
        """Called after a batch that parked events commits, with the dead-letter rows (the
        Kafka projector publishes them to the dead-letter topic; the table stays the record)."""
        self._name = projection.name
        self._apply_batch_of: Callable[[AsyncConnection, list[EventEnvelope]], Awaitable[None]] \
            | None = getattr(projection, "apply_batch", None)
        self._handled: dict[str, bool] = {}

    def _handles(self, event_type: str) -> bool:
        """``projection.handles``, remembered per event type (asked for every event)."""
        known = self._handled.get(event_type)
        if known is None:
            known = self._handled[event_type] = bool(self.projection.handles(event_type))
        return known

    def has_work(self, deliveries: Sequence[Delivery]) -> bool:
        """Whether the batch holds an event this projection handles, or one to park."""
        handles = self._handles
        return any(d.envelope is None or handles(d.envelope.type) for d in deliveries)

    @staticmethod
    async def advance_idle(runners: Sequence[SubscriptionRunner],
                           deliveries: Sequence[Delivery], *, max_delay: float = 5.0) -> None:
        """Move the checkpoints of ``runners`` (one engine) past a batch none of them has work
        in (``has_work``): what ``handle`` would write for them, in ONE short transaction
        instead of one each. Never moves a checkpoint back. Transient failures are retried
        with backoff, forever, as in ``handle_with_retry``."""
        reached: dict[str, int] = {}
        for delivery in deliveries:
            if delivery.position > reached.get(delivery.source, -1):
                reached[delivery.source] = delivery.position
        engine = runners[0].engine
        delay = 0.05
        while True:
            try:
                lock = _sqlite_writer_lock(engine)
                async with lock or contextlib.nullcontext():
                    async with engine.begin() as conn:
                        await _projection_locks(conn, [r.lock_name for r in runners])
                        now = datetime.now(UTC)
                        await conn.execute(_advance_statement(conn), [
                            {"projection": r._name, "source": source, "position": position,
                             "updated_at": now}
                            for r in runners for source, position in reached.items()])
                break
            except (*TRANSIENT_ERRORS, DBAPIError) as error:
                for runner in runners:
                    runner.metrics.projection_errors.labels(runner._name).inc()
                log.warning("checkpoint_advance_failed", error=str(error)[:300], retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(max_delay, delay * 2)
        for runner in runners:
            runner.metrics.projection_batches.labels(runner._name).inc()

    async def create_schema(self) -> None:
        async with self.engine.begin() as conn:
            await create_tables(conn, checkpoint_metadata, self.projection.metadata)

    async def position(self, source: str) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(sa.select(projection_positions_table.c.position).where(
                projection_positions_table.c.projection == self._name,
                projection_positions_table.c.source == source))
        return -1 if value is None else value

    async def positions(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(
                projection_positions_table.c.source, projection_positions_table.c.position
            ).where(projection_positions_table.c.projection == self._name))
            return {r.source: r.position for r in rows}

    async def stream_version(self, stream_id: str) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(sa.select(projection_streams_table.c.version).where(
                projection_streams_table.c.projection == self._name,
                projection_streams_table.c.stream_id == stream_id))
        return value or 0

    async def handle(self, deliveries: Sequence[Delivery]) -> int:
        """Apply one batch in one transaction; returns how many events were applied."""
        if not deliveries:
            return 0
        try:
            applied = await self._handle(deliveries, isolate=False)
        except TRANSIENT_ERRORS:
            raise
        except DBAPIError as error:
            if error.connection_invalidated:
                raise
            applied = await self._handle(deliveries, isolate=True)
        except Exception:
            applied = await self._handle(deliveries, isolate=True)
        return applied

    async def handle_with_retry(self, deliveries: Sequence[Delivery], *,
                                max_delay: float = 5.0) -> int:
        """Like ``handle``, retrying transient failures (database down) with backoff, forever."""
        delay = 0.05
        while True:
            try:
                return await self.handle(deliveries)
            except (*TRANSIENT_ERRORS, DBAPIError) as error:
                self.metrics.projection_errors.labels(self._name).inc()
                log.warning("projection_batch_failed", projection=self._name,
                            error=str(error)[:300], retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(max_delay, delay * 2)

    async def _handle(self, deliveries: Sequence[Delivery], *, isolate: bool) -> int:
        lock = _sqlite_writer_lock(self.engine)
        if lock is None:
            return await self._apply_batch(deliveries, isolate=isolate)
        async with lock:
            return await self._apply_batch(deliveries, isolate=isolate)

    async def _apply_batch(self, deliveries: Sequence[Delivery], *, isolate: bool) -> int:
        applied = skipped = parked = 0
        newest: dict[str, EventEnvelope] = {}
        letters: list[dict[str, Any]] = []
        batched = None if isolate else self._apply_batch_of
        pending: list[EventEnvelope] = []
        handles = self._handles
        async with self.engine.begin() as conn:
            await projection_lock(conn, self.lock_name, exclusive=False)
            stream_ids = {d.envelope.streamid for d in deliveries
                          if d.envelope is not None and handles(d.envelope.type)}
            sources = {d.source for d in deliveries}
            postgresql = conn.dialect.name == "postgresql"
            held: set[str] | None  # read when the batch has an event to apply
            if postgresql:
                versions, positions, held = await self._load_batch_state(conn, stream_ids,
                                                                         sources)
            else:
                versions = await self._load_versions(conn, stream_ids)
                held = None
                positions = await self._load_positions(conn, sources)
            touched_streams: dict[str, int] = {}
            touched_sources: dict[str, int] = {}
            for delivery in deliveries:
                if delivery.position <= positions.get(delivery.source, -1):
                    skipped += 1
                    continue
                positions[delivery.source] = delivery.position
                touched_sources[delivery.source] = delivery.position
                envelope = delivery.envelope
                if envelope is None:
                    letters.append(await self._park(conn, delivery,
                                                    delivery.decode_error or "undecodable"))
                    parked += 1
                    continue
                if not handles(envelope.type):
                    continue  # nothing to apply, nothing to record: the checkpoint covers it
                if envelope.streamversion <= versions.get(envelope.streamid, 0):
                    skipped += 1
                    continue
                versions[envelope.streamid] = envelope.streamversion
                touched_streams[envelope.streamid] = envelope.streamversion
                if held is None:
                    held = await self._held_streams(conn)
                if envelope.streamid in held:
                    letters.append(await self._park(
                        conn, delivery, f"held: an earlier event of stream {envelope.streamid} "
                        "is parked; replay that one first"))
                    parked += 1
                    continue
                if isolate:
                    try:
                        async with conn.begin_nested():
                            await self.projection.apply(conn, envelope)
                    except TRANSIENT_ERRORS:
                        raise
                    except Exception as error:  # a poison event: park it, keep flowing
                        letters.append(await self._park(conn, delivery,
                                                        f"{type(error).__name__}: {error}"))
                        held.add(envelope.streamid)
                        parked += 1
                        continue
                elif batched is not None:
                    pending.append(envelope)
                else:
                    await self.projection.apply(conn, envelope)
                applied += 1
                newest[delivery.source] = envelope
            if pending:
                await batched(conn, pending)  # type: ignore[misc]
            now = datetime.now(UTC)
            if postgresql:
                await conn.execute(_PG_SAVE_BATCH, {
                    "projection": self._name, "ids": list(touched_streams),
                    "versions": list(touched_streams.values()),
                    "sources": list(touched_sources), "positions": list(touched_sources.values()),
                    "now": now})
            else:
                await self._save_versions(conn, touched_streams)
                await self._save_positions(conn, touched_sources, now)
        self.metrics.projection_events.labels(self._name).inc(applied)
        self.metrics.projection_batches.labels(self._name).inc()
        self.metrics.projection_last_applied.labels(self._name).set(time.time())
        if skipped:
            self.metrics.projection_skipped.labels(self._name).inc(skipped)
        if parked:
            self.metrics.projection_dead_letters.labels(self._name).inc(parked)
            if self.on_parked is not None:
                try:
                    await self.on_parked(letters)
                except Exception as error:  # the table is the record; the topic is a courtesy
                    log.warning("dead_letter_publish_failed", projection=self._name,
                                error=repr(error)[:300])
        now = datetime.now(UTC)
        for source, envelope in newest.items():
            age = (now - envelope.time).total_seconds()
            self.metrics.projection_lag_seconds.labels(self._name, source).set(max(0.0, age))
        return applied

    async def _load_batch_state(self, conn: AsyncConnection, stream_ids: set[str],
                                sources: set[str]
                                ) -> tuple[dict[str, int], dict[str, int], set[str]]:
        """PostgreSQL: the streams' versions, the sources' checkpoints and the held streams,
        in one statement."""
        versions: dict[str, int] = {}
        positions: dict[str, int] = {}
        held: set[str] = set()
        rows = await conn.execute(_PG_LOAD_BATCH, {
            "projection": self._name, "ids": list(stream_ids), "sources": list(sources)})
        for kind, key, value in rows:
            if kind == "version":
                if value is not None:
                    versions[key] = value
            elif kind == "position":
                positions[key] = value
            else:
                held.add(key)
        return versions, positions, held

    async def _load_versions(self, conn: AsyncConnection, stream_ids: set[str]) -> dict[str, int]:
        if not stream_ids:
            return {}
        if conn.dialect.name == "postgresql":
            rows = await conn.execute(_PG_LOAD_VERSIONS, {"projection": self._name,
                                                          "ids": list(stream_ids)})
            return {r.stream_id: r.version for r in rows if r.version is not None}
        found: dict[str, int] = {}
        ids = list(stream_ids)
        sqlite = await sqlite_driver(conn)
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start:start + _IN_CHUNK]
            if sqlite is not None:
                found.update(await _sqlite_rows(sqlite, _SQLITE_LOAD_VERSIONS.format(
                    marks=",".join("?" * len(chunk))), (self._name, *chunk)))
                continue
            rows = await conn.execute(sa.select(
                projection_streams_table.c.stream_id, projection_streams_table.c.version
            ).where(projection_streams_table.c.projection == self._name,
                    projection_streams_table.c.stream_id.in_(chunk)))
            found.update({r.stream_id: r.version for r in rows})
        return found

    async def _save_versions(self, conn: AsyncConnection, versions: dict[str, int]) -> None:
        if not versions:
            return
        if conn.dialect.name == "postgresql":
            await conn.execute(_PG_SAVE_VERSIONS, {"projection": self._name,
                                                   "ids": list(versions),
                                                   "versions": list(versions.values())})
            return
        sqlite = await sqlite_driver(conn)
        if sqlite is not None:
            await sqlite.executemany(SQLITE_SAVE_VERSIONS,
                                     [(self._name, s, v) for s, v in versions.items()])
            return
        await upsert(conn, projection_streams_table, [
            {"projection": self._name, "stream_id": s, "version": v}
            for s, v in versions.items()], ["projection", "stream_id"])

    async def _save_positions(self, conn: AsyncConnection, positions: dict[str, int],
                              now: datetime) -> None:
        if not positions:
            return
        sqlite = await sqlite_driver(conn)
        if sqlite is not None:  # the updated_at text SQLAlchemy's DateTime stores on SQLite
            stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
            await sqlite.executemany(SQLITE_SAVE_POSITION,
                                     [(self._name, s, p, stamp) for s, p in positions.items()])
            return
        await upsert(conn, projection_positions_table, [
            {"projection": self._name, "source": s, "position": p, "updated_at": now}
            for s, p in positions.items()], ["projection", "source"])

    async def _load_positions(self, conn: AsyncConnection, sources: set[str]) -> dict[str, int]:
        sqlite = await sqlite_driver(conn)
        if sqlite is not None:
            return dict(await _sqlite_rows(sqlite, _SQLITE_LOAD_POSITIONS.format(
                marks=",".join("?" * len(sources))), (self._name, *sources)))
        rows = await conn.execute(sa.select(
            projection_positions_table.c.source, projection_positions_table.c.position
        ).where(projection_positions_table.c.projection == self._name,
                projection_positions_table.c.source.in_(list(sources))))
        return {r.source: r.position for r in rows}

    async def _held_streams(self, conn: AsyncConnection) -> set[str]:
        sqlite = await sqlite_driver(conn)
        if sqlite is not None:
            return {row[0] for row in await _sqlite_rows(sqlite, _SQLITE_HELD_STREAMS,
                                                          (self._name,))}
        rows = await conn.execute(sa.select(dead_letters_table.c.stream_id).distinct().where(
            dead_letters_table.c.projection == self._name,
            dead_letters_table.c.status == "parked",
            dead_letters_table.c.stream_id.is_not(None)))
        return {r.stream_id for r in rows}

    async def _park(self, conn: AsyncConnection, delivery: Delivery, reason: str
                    ) -> dict[str, Any]:
        envelope = delivery.envelope
        payload: Any = envelope.model_dump_json() if envelope else delivery.raw
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", "replace")
        log.error("event_parked", projection=self._name, source=delivery.source,
                  position=delivery.position, reason=reason[:500],
                  event_id=envelope.id if envelope else None)
        letter = {
            "projection": self._name, "source": delivery.source, "position": delivery.position,
            "event_id": envelope.id if envelope else None,
            "stream_id": envelope.streamid if envelope else None,
            "stream_version": envelope.streamversion if envelope else None,
            "type": envelope.type if envelope else None,
            "reason": reason[:2000], "payload": payload or "", "parked_at": datetime.now(UTC),
            "status": "parked"}
        await conn.execute(dead_letters_table.insert().values(**letter))
        return letter
