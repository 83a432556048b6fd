"""gateway.readmodels.bulk: rows inserted through the DBAPI hold what Core would store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from gateway.readmodels.bulk import _quicker, insert_many
from services.kernel.db import create_engine

VALUES = [
    None, datetime(2024, 2, 29, 23, 59, 59, 999_999), datetime(2024, 1, 1),
    datetime(2024, 1, 1, 8, 30, tzinfo=UTC),
    datetime(2024, 1, 1, 8, 30, 1, 5, tzinfo=timezone(timedelta(hours=8))),
    datetime(1, 1, 1), datetime(999, 12, 31, 1, 2, 3), date(2024, 3, 1), date(1, 1, 1),
]


def test_the_quicker_date_and_datetime_processors_write_the_dialects_text() -> None:
    dialect = sqlite.dialect()
    for column_type in (sa.DateTime(), sa.DateTime(timezone=True), sa.Date()):
        impl = column_type.dialect_impl(dialect)
        original = impl.bind_processor(dialect)
        quicker = _quicker(impl, original)
        assert quicker is not original
        for value in VALUES:  # datetimes in a date column and dates in a datetime one too
            assert quicker(value) == original(value), (column_type, value)


async def test_rows_inserted_in_bulk_equal_rows_inserted_by_core(tmp_path) -> None:
    metadata = sa.MetaData()
    table = sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("at", sa.DateTime(timezone=True)), sa.Column("on", sa.Date),
                     sa.Column("data", sa.JSON), sa.Column("name", sa.String(20)))
    rows = [(VALUES[n % 5], date(2024, 1, 1 + n), {"n": n, "名": [n, None]}, f"row{n}")
            for n in range(5)]
    engines = [create_engine(f"sqlite+aiosqlite:///{tmp_path}/{n}.db", inline_sqlite=True)
               for n in range(2)]
    try:
        stored = []
        for bulk, engine in zip((False, True), engines, strict=True):
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
                if bulk:
                    await insert_many(conn, table, ("at", "on", "data", "name"), rows)
                else:
                    await conn.execute(table.insert(), [
                        dict(zip(("at", "on", "data", "name"), r, strict=True)) for r in rows])
            async with engine.connect() as conn:  # the stored text, not the parsed values
                stored.append((await conn.exec_driver_sql(
                    "SELECT id, at, \"on\", data, name FROM t ORDER BY id")).all())
        assert stored[0] == stored[1] and len(stored[0]) == 5
    finally:
        for engine in engines:
            await engine.dispose()
