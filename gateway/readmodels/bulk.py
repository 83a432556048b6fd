"""Many-row INSERTs for projections: on SQLite straight through the DBAPI cursor.

SQLAlchemy's ``execute(table.insert(), rows)`` builds a parameter dict per row and runs every
column's bind processor through its generic machinery; for the hundreds of thousands of rows
of a rebuild that costs more than SQLite's own work. On SQLite the rows go to the driver's
``executemany`` with the same column types' bind processors applied (the same stored values
as Core); elsewhere (PostgreSQL) through Core as before. The table stays defined in its
SQLAlchemy metadata: the statement is rendered from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.kernel.db import sqlite_driver

__all__ = ["insert_many"]

_Plan = tuple[str, tuple[tuple[int, Callable[[Any], Any]], ...]]
_PLANS: dict[tuple[sa.Table, tuple[str, ...], str], _Plan] = {}


def _plan(conn: AsyncConnection, table: sa.Table, columns: tuple[str, ...]) -> _Plan:
    key = (table, columns, conn.dialect.name)
    plan = _PLANS.get(key)
    if plan is None:
        if [c.name for c in table.columns if c.name in columns] != list(columns):
            raise ValueError(f"columns of {table.name} out of the table's order: {columns}")
        dialect = conn.dialect
        statement = str(table.insert().compile(dialect=dialect, column_keys=list(columns)))
        processors = []
        for index, name in enumerate(columns):
            column_type = table.c[name].type
            impl = column_type.dialect_impl(dialect)
            process = _quicker(impl, impl.bind_processor(dialect))
            if process is not None:
                processors.append((index, process))
        plan = _PLANS[key] = (statement, tuple(processors))
    return plan


def _quicker(impl: Any, process: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """SQLite's date and datetime processors with their default storage formats, for the
    exact types they are made for, as ``isoformat`` (the same text, a few times faster than
    their ``%`` formatting); anything else still goes to the dialect's own processor."""
    from sqlalchemy.dialects import sqlite

    if process is None:
        return None
    if isinstance(impl, sqlite.DATETIME) and impl._storage_format == _DATETIME_FORMAT:
        def datetime_text(value: Any) -> Any:
            # the dialect drops the zone without converting (so does this: the first 26)
            return value.isoformat(" ", "microseconds")[:26] if type(value) is datetime \
                else process(value)
        return datetime_text
    if isinstance(impl, sqlite.DATE) and impl._storage_format == _DATE_FORMAT:
        return lambda value: value.isoformat() if type(value) is date else process(value)
    return process


def _default_formats() -> tuple[str, str]:
    from sqlalchemy.dialects import sqlite

    return sqlite.DATETIME()._storage_format, sqlite.DATE()._storage_format


_DATETIME_FORMAT, _DATE_FORMAT = _default_formats()


async def insert_many(conn: AsyncConnection, table: sa.Table, columns: Sequence[str],
                      rows: list[tuple]) -> None:
    """INSERT ``rows`` (tuples of values in ``columns`` order) into ``table``, in the
    connection's transaction."""
    if not rows:
        return
    columns = tuple(columns)
    driver = await sqlite_driver(conn) if table.schema is None else None
    if driver is None:
        await conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    statement, processors = _plan(conn, table, columns)
    if processors:
        converted = []
        for row in rows:
            values = list(row)
            for index, process in processors:
                values[index] = process(values[index])
            converted.append(values)
        rows = converted
    cursor = await driver.executemany(statement, rows)
    await cursor.close()
