"""Engine construction from a database URL, tuned per dialect. Nothing connects at import."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["LOOP_WRITER_AUTOCHECKPOINT_PAGES", "PG_SCHEMA_LOCK", "WalCheckpointer", "create_engine",
           "create_tables", "is_sqlite", "sqlite_driver", "sqlite_path", "upsert"]


class _InlineSqlite:
    """aiosqlite without its thread hop: statements run in the calling (event loop) thread.

    Each aiosqlite call otherwise crosses to its worker thread and back (two context
    switches, and an event-loop turn), which dominates when a batch job runs thousands of
    small statements; a batch job that owns its loop loses nothing by blocking it for the
    microseconds a statement takes. Not for servers: a slow query would stall every request.
    """

    @staticmethod
    def connection_class():
        import aiosqlite

        class InlineConnection(aiosqlite.Connection):
            async def _execute(self, fn, *args, **kwargs):
                if not self._running or not self._connection:
                    raise ValueError("Connection closed")
                return fn(*args, **kwargs)

        return InlineConnection


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, *, pool_size: int = 10, inline_sqlite: bool = False,
                  pre_ping: bool = True) -> AsyncEngine:
    """An async engine for ``url`` (``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://…``).

    SQLite runs in WAL mode with a busy timeout so that readers never block the writer;
    the parent folder of a SQLite file is created. ``inline_sqlite`` runs SQLite statements
    in the event loop's thread (batch jobs such as rebuilds only; see ``_InlineSqlite``).
    ``pre_ping`` (PostgreSQL): test each pooled connection with a round trip before use.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if inline_sqlite:
            import sqlite3

            connection_class = _InlineSqlite.connection_class()
            database = parsed.database or ":memory:"

            async def creator():
                return await connection_class(
                    lambda: sqlite3.connect(database, timeout=30, check_same_thread=False), 64)

            engine = create_async_engine(url, async_creator=creator)
        else:
            engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=pre_ping
    )


async def sqlite_driver(conn) -> Any | None:
    """The aiosqlite connection under ``conn`` (an ``AsyncConnection``), for statements that
    skip SQLAlchemy's per-statement work on hot paths; None unless it is SQLite with plain
    table names (a PostgreSQL rebuild's shadow schema is translated; a SQLite shadow is a
    file of its own). Its statements run in ``conn``'s transaction."""
    if conn.dialect.name != "sqlite" or \
            conn.sync_connection.get_execution_options().get("schema_translate_map"):
        return None
    return (await conn.get_raw_connection()).driver_connection


async def upsert(conn, table, rows: list[dict], keys: list[str]) -> None:
    """Insert rows, updating the non-key columns of rows whose keys already exist."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    statement = insert(table)
    updates = {c: statement.excluded[c] for c in rows[0] if c not in keys}
    statement = statement.on_conflict_do_update(index_elements=keys, set_=updates) \
        if updates else statement.on_conflict_do_nothing(index_elements=keys)
    await conn.execute(statement, rows)


PG_SCHEMA_LOCK = 7_240_213  # arbitrary constant: one schema change at a time per database


async def create_tables(conn, *metadatas) -> None:
    """Create the missing tables of ``metadatas`` inside the caller's transaction.

    Processes that start together (a service, its relay, the projector) all create their
    tables; on PostgreSQL two concurrent ``CREATE TABLE`` of one name make one of them fail,
    so they queue on an advisory lock first. SQLite's writer lock serialises them already."""
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_SCHEMA_LOCK})")
    for metadata in metadatas:
        await conn.run_sync(metadata.create_all)


LOOP_WRITER_AUTOCHECKPOINT_PAGES = 10_000
"""``wal_autocheckpoint`` of the SQLite connections that write in the event loop's thread (the
embedded event stores and projector). SQLite's default (1,000 pages) makes the commit that
crosses it copy the log into the database file and sync both, 5-15 ms on the benchmark machine,
during which the loop answers nothing; ``WalCheckpointer`` does that work from a thread of its
own, and this larger threshold (≈ 40 MB of log) only applies if it is not running."""


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


class WalCheckpointer:
    """Checkpoints a SQLite file's write-ahead log every ``interval`` seconds from a thread of
    its own (``PRAGMA wal_checkpoint(PASSIVE)``: never waits for, nor blocks, readers and
    writers; the sqlite3 module releases the GIL while SQLite copies and syncs), so that
    the writers in the event loop's thread never do it inside a commit."""

    def __init__(self, path: str, *, interval: float = 0.2) -> None:
        self.path, self.interval = path, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> WalCheckpointer:
        self._thread = threading.Thread(target=self._run, name=f"wal-checkpoint:{self.path}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.interval):
                try:
                    if connection is None:  # once the file exists: never create it here
                        if not Path(self.path).exists():
                            continue
                        connection = sqlite3.connect(self.path, timeout=0, isolation_level=None,
                                                     check_same_thread=False)
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # busy (another checkpoint), or not a database yet
                    continue
        finally:
            if connection is not None:
                connection.close()
