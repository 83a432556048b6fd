"""The engine the gateway's queries read through.

On PostgreSQL (or any non-SQLite URL) it is the ordinary async engine. On SQLite it is
``InlineSqliteReadEngine``: the same ``connect()`` / ``execute`` / ``scalar`` surface, but the
statements run in the event loop's thread through SQLAlchemy's synchronous ``sqlite3`` driver,
on read-only connections. A query is a few indexed statements of tens of microseconds each;
through aiosqlite every statement (and the connection's checkout and reset) crosses to a worker
thread and back, several hundred microseconds each on a small machine, which made most of a
query's time. The projector keeps its own (aiosqlite) writer engine: nothing here writes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url

from services.kernel.db import sqlite_path

__all__ = ["InlineSqliteReadEngine", "create_query_engine"]


class _InlineConnection:
    """An ``AsyncConnection`` look-alike over a synchronous connection (reads only)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    async def __aenter__(self) -> _InlineConnection:
        self._conn = self._engine.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    @property
    def dialect(self):
        return self._engine.dialect

    async def execute(self, statement, parameters: Any = None):
        return self._conn.execute(statement, parameters)

    async def scalar(self, statement, parameters: Any = None):
        return self._conn.scalar(statement, parameters)

    async def scalars(self, statement, parameters: Any = None):
        return self._conn.scalars(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None):
        return self._conn.exec_driver_sql(statement, parameters)


class InlineSqliteReadEngine:
    """Read-only SQLite connections used from the event loop's thread (see the module doc).

    A statement blocks the loop while it runs, so this suits indexed point and page reads;
    the long aggregates (the dashboard's) are cached by their callers."""

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        parsed = make_url(url)
        self.url = parsed
        self.sync_engine = sa.create_engine(
            parsed.set(drivername="sqlite"), pool_size=pool_size, max_overflow=2 * pool_size,
            connect_args={"check_same_thread": False, "timeout": 5})

        @event.listens_for(self.sync_engine, "connect")
        def _read_only(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    @property
    def dialect(self):
        return self.sync_engine.dialect

    def connect(self) -> _InlineConnection:
        return _InlineConnection(self.sync_engine)

    async def dispose(self) -> None:
        self.sync_engine.dispose()


def create_query_engine(url: str) -> InlineSqliteReadEngine | None:
    """A separate engine for the gateway's queries over the SQLite file at ``url``; None for
    other databases (and in-memory SQLite), where the queries share the read engine."""
    if sqlite_path(url) is not None:
        return InlineSqliteReadEngine(url)
    return None
