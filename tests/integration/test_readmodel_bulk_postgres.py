"""gateway.readmodels.bulk on PostgreSQL: rows written by COPY (``insert_many``) and by one
``unnest`` statement (``upsert_many``) equal what Core writes, in the caller's transaction,
in a rebuild's shadow schema too; a row whose unique key exists fails the batch like Core."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from gateway.readmodels.bulk import insert_many, upsert_many, values_present
from services.kernel.db import create_engine

metadata = sa.MetaData()
table = sa.Table("t", metadata, sa.Column("seq", sa.BigInteger, primary_key=True,
                                          autoincrement=True),
                 sa.Column("key", sa.String(20), nullable=False, unique=True),
                 sa.Column("at", sa.DateTime(timezone=True)), sa.Column("on", sa.Date),
                 sa.Column("data", sa.JSON), sa.Column("n", sa.Integer))
COLUMNS = ("key", "at", "on", "data", "n")
ROWS = [(f"k{n}", datetime(2024, 1, 1, 8, n, tzinfo=timezone(timedelta(hours=n))) if n else None,
         date(2024, 1, 1 + n), {"n": n, "名": [n, None]} if n != 2 else None, n)
        for n in range(5)]


async def stored(conn, schema: str = "public") -> list[tuple]:
    return (await conn.exec_driver_sql(
        f'SELECT seq, key, at, "on", data::text, n FROM {schema}.t ORDER BY seq')).all()


async def started(conn) -> None:
    """Begins the driver's transaction (the bulk paths use it once it has begun)."""
    await conn.exec_driver_sql("SELECT 1")


async def test_copy_and_unnest_store_what_core_stores(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        results = []
        for bulk in (False, True):
            async with engine.begin() as conn:
                await conn.exec_driver_sql("TRUNCATE t RESTART IDENTITY")
                if bulk:
                    await insert_many(conn, table, COLUMNS, ROWS)
                else:
                    await conn.execute(table.insert(), [dict(zip(COLUMNS, r, strict=True))
                                                        for r in ROWS])
                changed = [{"key": "k1", "at": None, "on": date(2025, 1, 1), "data": [1],
                            "n": 10}, {"key": "k9", "at": datetime(2024, 5, 1, tzinfo=UTC),
                                       "on": None, "data": {"new": True}, "n": 9}]
                if bulk:
                    await upsert_many(conn, table, changed, ["key"])
                else:
                    from sqlalchemy.dialects.postgresql import insert
                    statement = insert(table)
                    await conn.execute(statement.on_conflict_do_update(
                        index_elements=["key"],
                        set_={c: statement.excluded[c] for c in COLUMNS[1:]}), changed)
                results.append(await stored(conn))
        assert results[0] == results[1] and len(results[0]) == 6
        assert [r[1] for r in results[0][:5]] == [f"k{n}" for n in range(5)]  # seq follows rows
    finally:
        await engine.dispose()


async def test_bulk_writes_belong_to_the_transaction_and_follow_the_shadow_schema(
        postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    shadow = engine.execution_options(schema_translate_map={None: "shadow"})
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE SCHEMA shadow")
        async with shadow.begin() as conn:
            await conn.run_sync(metadata.create_all)
        with pytest.raises(RuntimeError):
            async with shadow.begin() as conn:
                await started(conn)
                await insert_many(conn, table, COLUMNS, ROWS)
                await upsert_many(conn, table, [{"key": "k0", "n": 7}], ["key"])
                raise RuntimeError("rolled back")
        async with shadow.begin() as conn:
            assert await stored(conn, "shadow") == []
            await started(conn)
            await insert_many(conn, table, COLUMNS, ROWS)
            await upsert_many(conn, table, [{"key": "k0", "n": 7}], ["key"])
            assert await values_present(conn, table.c.key, {"k1", "k4", "k5", "x"}) == \
                {"k1", "k4"}
        async with engine.connect() as conn:
            rows = await stored(conn, "shadow")
            assert [r[-1] for r in rows] == [7, 1, 2, 3, 4]
            assert not await conn.scalar(sa.text("SELECT to_regclass('public.t') IS NOT NULL"))
    finally:
        await engine.dispose()


async def test_a_key_stored_already_fails_the_copy_as_it_fails_an_insert(
        postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await insert_many(conn, table, COLUMNS, ROWS[:2])
        with pytest.raises((IntegrityError, Exception)) as raised:
            async with engine.begin() as conn:
                await started(conn)
                await insert_many(conn, table, COLUMNS, ROWS[1:])
        assert "unique" in str(raised.value).lower() or "duplicate" in str(raised.value).lower()
        async with engine.connect() as conn:
            assert [r[1] for r in await stored(conn)] == ["k0", "k1"]
    finally:
        await engine.dispose()
