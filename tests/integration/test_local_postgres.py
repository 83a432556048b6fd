"""LocalPostgres against a real PostgreSQL server: queries, databases, crash and restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures.postgres import PostgresFactory
from zugong.devinfra.postgres import LocalPostgres

pytestmark = pytest.mark.postgres


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def test_server_answers_real_queries(postgres_server: LocalPostgres) -> None:
    assert postgres_server.is_running()
    conn = await asyncpg.connect(postgres_server.dsn("postgres"))
    try:
        assert await conn.fetchval("SELECT 40 + 2") == 42
        assert await conn.fetchval("SELECT current_user") == "postgres"
        assert await conn.fetchval("SHOW server_encoding") == "UTF8"
        assert await conn.fetchval("SHOW fsync") == "off"
        assert await conn.fetchval("SHOW max_connections") == "300"
        assert await conn.fetchval("SELECT $1::text", "组织部") == "组织部"
    finally:
        await conn.close()


def test_urls(postgres_server: LocalPostgres) -> None:
    port = postgres_server.port
    assert postgres_server.url("app") == f"postgresql+asyncpg://postgres@127.0.0.1:{port}/app"
    assert postgres_server.url("app", driver="psycopg").startswith("postgresql+psycopg://")
    assert postgres_server.dsn("app") == f"postgresql://postgres@127.0.0.1:{port}/app"


async def test_two_databases_are_created_idempotently_and_isolated(
    postgres_server: LocalPostgres,
) -> None:
    first, second = _unique("zg_a"), _unique("zg_b")
    for name in (first, second, first):  # creating twice is a no-op
        postgres_server.create_database(name)
    assert postgres_server.database_exists(first)
    assert postgres_server.database_exists(second)

    conn = await asyncpg.connect(postgres_server.dsn(first))
    try:
        await conn.execute("CREATE TABLE marker (v text); INSERT INTO marker VALUES ('first')")
    finally:
        await conn.close()
    conn = await asyncpg.connect(postgres_server.dsn(second))
    try:
        assert await conn.fetchval("SELECT current_database()") == second
        assert await conn.fetchval("SELECT to_regclass('marker')") is None
    finally:
        await conn.close()

    lingering = await asyncpg.connect(postgres_server.dsn(first))  # DROP ... WITH (FORCE)
    for name in (first, second, first):  # dropping twice is a no-op
        postgres_server.drop_database(name)
    assert not postgres_server.database_exists(first)
    assert not postgres_server.database_exists(second)
    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
        await lingering.fetchval("SELECT 1")  # its backend was terminated by the drop
    lingering.terminate()


async def test_postgres_url_fixture_gives_a_fresh_database(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql+asyncpg://postgres@127.0.0.1:")
    engine = create_async_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT current_database()"))).scalar_one() == (
                postgres_url.rsplit("/", 1)[1]
            )
            tables = await conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))
            assert tables.scalar_one() == 0
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def private_server(local_postgres_factory: PostgresFactory) -> Iterator[LocalPostgres]:
    """A cluster of its own: these tests kill and restart it."""
    server = local_postgres_factory.started("fault")
    yield server
    server.stop()


async def _rows(server: LocalPostgres, database: str) -> list[str]:
    conn = await asyncpg.connect(server.dsn(database))
    try:
        return [r["v"] for r in await conn.fetch("SELECT v FROM durable ORDER BY id")]
    finally:
        await conn.close()


async def test_kill_then_start_keeps_committed_data(private_server: LocalPostgres) -> None:
    server = private_server
    server.create_database("crashme")
    conn = await asyncpg.connect(server.dsn("crashme"))
    try:
        await conn.execute("CREATE TABLE durable (id serial PRIMARY KEY, v text NOT NULL)")
        await conn.executemany("INSERT INTO durable (v) VALUES ($1)", [("a",), ("b",), ("c",)])
        # An uncommitted transaction must vanish in the crash.
        await conn.execute("BEGIN; INSERT INTO durable (v) VALUES ('uncommitted')")
        port, old_pid = server.port, server.pid

        server.kill()
        assert not server.is_running()
    finally:
        conn.terminate()
    with pytest.raises(OSError):
        await asyncpg.connect(server.dsn("crashme"), timeout=5)

    server.start()  # crash recovery
    assert server.is_running()
    assert server.port == port
    assert server.pid != old_pid
    assert await _rows(server, "crashme") == ["a", "b", "c"]

    conn = await asyncpg.connect(server.dsn("crashme"))
    try:
        await conn.execute("INSERT INTO durable (v) VALUES ('after-crash')")
    finally:
        await conn.close()
    assert await _rows(server, "crashme") == ["a", "b", "c", "after-crash"]

    server.kill(flush_wal=False)  # harsher crash: the newest async commit may be lost
    server.start()
    assert (await _rows(server, "crashme"))[:3] == ["a", "b", "c"]


async def test_restart_keeps_data_and_port(private_server: LocalPostgres) -> None:
    server = private_server
    server.create_database("restartme")
    conn = await asyncpg.connect(server.dsn("restartme"))
    try:
        await conn.execute("CREATE TABLE durable (id serial PRIMARY KEY, v text NOT NULL)")
        await conn.execute("INSERT INTO durable (v) VALUES ('kept')")
    finally:
        await conn.close()
    port, old_pid = server.port, server.pid

    server.restart()
    assert server.is_running()
    assert (server.port, server.pid != old_pid) == (port, True)
    assert await _rows(server, "restartme") == ["kept"]

    server.start()  # already running: no-op
    server.stop()
    server.stop()  # idempotent
    assert not server.is_running()
    with server:  # context manager starts it again ...
        assert await _rows(server, "restartme") == ["kept"]
    assert not server.is_running()  # ... and stops it on exit
    server.start()
