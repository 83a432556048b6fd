"""The queries' inline SQLite engine: the AsyncConnection surface the query objects use, reads
what other connections have committed, and refuses to write."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from gateway.queries_engine import InlineSqliteReadEngine, create_query_engine

table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.String(20)))


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "read.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20))")
        conn.execute("INSERT INTO t VALUES (1, 'a')")
    return path


async def test_reads_through_the_async_connection_surface(database):
    engine = InlineSqliteReadEngine(f"sqlite+aiosqlite:///{database}")
    try:
        assert engine.dialect.name == "sqlite"
        async with engine.connect() as conn:
            assert (await conn.execute(sa.select(table))).mappings().all() == [
                {"id": 1, "name": "a"}]
            assert await conn.scalar(sa.select(sa.func.count()).select_from(table)) == 1
        with sqlite3.connect(database) as writer:
            writer.execute("INSERT INTO t VALUES (2, 'b')")
        async with engine.connect() as conn:
            assert (await conn.scalars(sa.select(table.c.name).order_by(table.c.id))).all() == [
                "a", "b"], "a commit by another connection is visible to the next read"
    finally:
        await engine.dispose()


async def test_refuses_to_write(database):
    engine = InlineSqliteReadEngine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.connect() as conn:
            with pytest.raises(sa.exc.OperationalError, match="readonly"):
                await conn.execute(table.insert().values(id=3, name="c"))
    finally:
        await engine.dispose()


def test_only_for_sqlite_files(tmp_path):
    assert isinstance(create_query_engine(f"sqlite+aiosqlite:///{tmp_path}/x.db"),
                      InlineSqliteReadEngine)
    assert create_query_engine("sqlite+aiosqlite://") is None
    assert create_query_engine("sqlite+aiosqlite:///:memory:") is None
    assert create_query_engine("postgresql+asyncpg://u@localhost/read") is None
