"""Many-row INSERTs for projections: on SQLite straight through the DBAPI cursor, on
PostgreSQL through asyncpg's COPY.

SQLAlchemy's ``execute(table.insert(), rows)`` builds a parameter dict per row and runs every
column's bind processor through its generic machinery; for the hundreds of thousands of rows
of a rebuild that costs more than SQLite's own work. On SQLite the rows go to the driver's
``executemany`` with the same column types' bind processors applied (the same stored values
as Core). On PostgreSQL (the distributed projector) they go to asyncpg's
``copy_records_to_table`` with the same processors, in the transaction of the connection: one
COPY per batch instead of an INSERT per row (for the projector and for PostgreSQL, which
runs one statement instead of a thousand); ``upsert_many`` sends a batch's rows as one array
per column to ``INSERT … SELECT unnest(…) ON CONFLICT …``. Like Core's INSERT, a row whose
unique key exists already fails the statement (the caller filters what it has applied). The
table stays defined in its SQLAlchemy metadata: the statement is rendered from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.kernel.db import sqlite_driver

__all__ = ["insert_many", "upsert_many", "values_present"]

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
    if conn.dialect.name == "postgresql" and (pg := await _asyncpg_driver(conn)) is not None:
        await _pg_copy(conn, pg, table, columns, rows)
        return
    driver = await sqlite_driver(conn) if table.schema is None else None
    if driver is None:
        await conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    statement, _ = _plan(conn, table, columns)
    cursor = await driver.executemany(statement, _processed(conn, table, columns, rows))
    await cursor.close()


# --- PostgreSQL ------------------------------------------------------------------------------


async def _asyncpg_driver(conn: AsyncConnection) -> Any | None:
    """The asyncpg connection under ``conn``, when ``conn``'s transaction has begun on it
    (its statements then belong to that transaction); else None (Core is used)."""
    driver = (await conn.get_raw_connection()).driver_connection
    return driver if driver.is_in_transaction() else None


def _pg_schema(conn: AsyncConnection, table: sa.Table) -> str | None:
    """The table's schema after the connection's ``schema_translate_map`` (a rebuild's
    shadow schema)."""
    translate = conn.sync_connection.get_execution_options().get("schema_translate_map")
    return translate.get(table.schema, table.schema) if translate else table.schema


def _processed(conn: AsyncConnection, table: sa.Table, columns: tuple[str, ...],
               rows: list[tuple]) -> list[tuple]:
    """``rows`` with the columns' bind processors applied (JSON's serializer, …): the values
    Core would send."""
    _, processors = _plan(conn, table, columns)
    if not processors:
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for index, process in processors:
            values[index] = process(values[index])
        converted.append(tuple(values))
    return converted


async def _pg_copy(conn: AsyncConnection, driver: Any, table: sa.Table,
                   columns: tuple[str, ...], rows: list[tuple]) -> None:
    await driver.copy_records_to_table(table.name, records=_processed(conn, table, columns, rows),
                                       columns=list(columns), schema_name=_pg_schema(conn, table))


_UPSERTS: dict[tuple[sa.Table, tuple[str, ...], tuple[str, ...], str | None], str] = {}


def _pg_upsert_statement(conn: AsyncConnection, table: sa.Table, columns: tuple[str, ...],
                         keys: tuple[str, ...]) -> str:
    schema = _pg_schema(conn, table)
    cache_key = (table, columns, keys, schema)
    statement = _UPSERTS.get(cache_key)
    if statement is None:
        preparer = conn.dialect.identifier_preparer
        name = preparer.quote(table.name)
        if schema:
            name = f"{preparer.quote_schema(schema)}.{name}"
        arrays = ", ".join(
            f"${n}::{table.c[c].type.compile(dialect=conn.dialect)}[]"
            for n, c in enumerate(columns, 1))
        updates = [c for c in columns if c not in keys]
        conflict = f"ON CONFLICT ({', '.join(preparer.quote(k) for k in keys)}) " + (
            "DO UPDATE SET " + ", ".join(f"{preparer.quote(c)} = EXCLUDED.{preparer.quote(c)}"
                                         for c in updates) if updates else "DO NOTHING")
        statement = _UPSERTS[cache_key] = (
            f"INSERT INTO {name} ({', '.join(preparer.quote(c) for c in columns)}) "
            f"SELECT * FROM unnest({arrays}) {conflict}")
    return statement


_CORE_UPSERTS: dict[tuple[sa.Table, tuple[str, ...], tuple[str, ...], str], Any] = {}


def _core_upsert(conn: AsyncConnection, table: sa.Table, columns: tuple[str, ...],
                 keys: tuple[str, ...]) -> Any:
    """``services.kernel.db.upsert``'s statement, built once (building one costs more than
    running it)."""
    cache_key = (table, columns, keys, conn.dialect.name)
    statement = _CORE_UPSERTS.get(cache_key)
    if statement is None:
        if conn.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        statement = insert(table)
        updates = {c: statement.excluded[c] for c in columns if c not in keys}
        statement = _CORE_UPSERTS[cache_key] = \
            statement.on_conflict_do_update(index_elements=list(keys), set_=updates) \
            if updates else statement.on_conflict_do_nothing(index_elements=list(keys))
    return statement


async def upsert_many(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]],
                      keys: Sequence[str]) -> None:
    """INSERT ``rows`` (dicts with the same columns), updating the other columns of the rows
    whose ``keys`` exist already: ``services.kernel.db.upsert``, in one statement on
    PostgreSQL whatever the number of rows (an array per column)."""
    if not rows:
        return
    keys = tuple(keys)
    columns = tuple(c.name for c in table.columns if c.name in rows[0])
    distinct = len({tuple(row[k] for k in keys) for row in rows}) == len(rows)
    # one statement may not change a row twice: rows repeating a key go one by one (Core)
    driver = await _asyncpg_driver(conn) \
        if conn.dialect.name == "postgresql" and distinct and len(columns) == len(rows[0]) \
        else None
    if driver is None:
        await conn.execute(_core_upsert(conn, table, columns, keys), rows)
        return
    values = _processed(conn, table, columns, [tuple(row[c] for c in columns) for row in rows])
    await driver.execute(_pg_upsert_statement(conn, table, columns, keys),
                         *(list(column) for column in zip(*values, strict=True)))


_PRESENT: dict[tuple[sa.Column, str | None], str] = {}


async def values_present(conn: AsyncConnection, column: sa.Column, values: Sequence[Any]
                         ) -> set[Any]:
    """Which of ``values`` ``column`` holds: on PostgreSQL with one array parameter
    (``= ANY($1)``) instead of an ``IN`` list SQLAlchemy renders and binds value by value;
    elsewhere ``IN`` lists of 10,000 at most (within SQLite's limit of bound parameters)."""
    table = column.table
    driver = await _asyncpg_driver(conn) if conn.dialect.name == "postgresql" and values \
        else None
    if driver is None:
        found: set[Any] = set()
        ordered = sorted(values)
        for start in range(0, len(ordered), 10_000):
            found.update(await conn.scalars(sa.select(column).where(
                column.in_(ordered[start:start + 10_000]))))
        return found
    schema = _pg_schema(conn, table)
    statement = _PRESENT.get((column, schema))
    if statement is None:
        preparer = conn.dialect.identifier_preparer
        name = preparer.quote(table.name)
        if schema:
            name = f"{preparer.quote_schema(schema)}.{name}"
        quoted = preparer.quote(column.name)
        statement = _PRESENT[column, schema] = (
            f"SELECT {quoted} FROM {name} WHERE {quoted} = "
            f"ANY($1::{column.type.compile(dialect=conn.dialect)}[])")
    return {row[0] for row in await driver.fetch(statement, list(values))}
