"""The embedded platform's SQLite logs are checkpointed from a thread, not inside commits."""

from __future__ import annotations

import sqlite3
import time

from services.kernel.db import WalCheckpointer


def _writer(path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")  # only the checkpointer copies the log
    connection.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, body TEXT)")
    return connection


def _fill(connection: sqlite3.Connection, rows: int) -> None:
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO t (body) VALUES (?)", [("x" * 500,)] * rows)
    connection.execute("COMMIT")


def test_the_log_reaches_the_database_file_while_the_writer_keeps_writing(tmp_path):
    path = tmp_path / "store.db"
    writer = _writer(path)
    _fill(writer, 2000)
    before = path.stat().st_size
    checkpointer = WalCheckpointer(str(path), interval=0.01).start()
    try:
        deadline = time.monotonic() + 10
        while path.stat().st_size <= before and time.monotonic() < deadline:
            _fill(writer, 10)  # a writer is never held up by a passive checkpoint
            time.sleep(0.01)
    finally:
        checkpointer.stop()
    assert path.stat().st_size > before + 500 * 1000  # the rows' pages are in the file now
    assert writer.execute("SELECT count(*) FROM t").fetchone()[0] >= 2000
    writer.close()


def test_without_it_the_log_stays_in_the_wal(tmp_path):
    path = tmp_path / "store.db"
    writer = _writer(path)
    _fill(writer, 2000)
    time.sleep(0.1)
    assert path.stat().st_size < 100_000
    assert (tmp_path / "store.db-wal").stat().st_size > 500 * 1000
    writer.close()


def test_a_missing_file_is_not_created(tmp_path):
    path = tmp_path / "later.db"
    checkpointer = WalCheckpointer(str(path), interval=0.01).start()
    time.sleep(0.1)
    checkpointer.stop()
    assert not path.exists()
