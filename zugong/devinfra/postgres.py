"""A throwaway local PostgreSQL cluster for tests and development.

``LocalPostgres`` drives the distribution's PostgreSQL server binaries directly (``initdb`` +
``postgres``); it needs no running system service, no Docker and no network access. The cluster
is tuned for speed, not durability (``fsync=off`` and friends) and trusts every local connection.

When the current process runs as root, the server-side programs (``initdb``, ``postgres``) run
as the ``postgres`` OS user via ``setpriv`` (PostgreSQL refuses to run as root). The postmaster
is a direct child of this process, so ``kill()`` can SIGKILL it and reap it even on machines
whose PID 1 never reaps orphans.

Typical use::

    with LocalPostgres(Path("/tmp/zugong-pg/data")) as pg:
        pg.create_database("app")
        engine = create_async_engine(pg.url("app"))
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

__all__ = [
    "LocalPostgres",
    "PostgresCommandError",
    "PostgresError",
    "PostgresNotAvailable",
    "PostgresStartError",
    "find_postgres_bindir",
]

logger = logging.getLogger(__name__)

_SERVER_BINARIES = ("initdb", "postgres")
_RESERVED_DATABASES = frozenset({"postgres", "template0", "template1"})
# Speed over durability (the cluster is throwaway), plus room for many pooled connections.
SERVER_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "128MB",
}
# sockaddr_un.sun_path is 108 bytes including the NUL; PostgreSQL also creates "<socket>.lock".
_MAX_SOCKET_DIR_LEN = 107 - len("/.s.PGSQL.65535.lock")


class PostgresError(RuntimeError):
    """Base class of every error raised by this module."""


class PostgresNotAvailable(PostgresError):
    """The PostgreSQL server binaries (or the ``postgres`` OS user) are missing."""


class PostgresStartError(PostgresError):
    """The cluster could not be initialised or started."""


class PostgresCommandError(PostgresError):
    """A SQL command sent through ``psql`` failed."""


def find_postgres_bindir() -> Path:
    """Return the directory holding ``initdb`` and ``postgres`` (newest major version first).

    Looks at ``$ZUGONG_PG_BINDIR``, then ``/usr/lib/postgresql/<major>/bin`` (Debian/Ubuntu),
    then ``pg_config --bindir``, then ``PATH``.
    """
    candidates: list[Path] = []
    override = os.environ.get("ZUGONG_PG_BINDIR")
    if override:
        candidates.append(Path(override))

    def _major(path: str) -> tuple[int, ...]:
        version = Path(path).parent.name
        return tuple(int(p) for p in re.findall(r"\d+", version)) or (0,)

    candidates.extend(
        Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major, reverse=True)
    )
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False
            )
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path:
        candidates.append(Path(initdb_on_path).resolve().parent)

    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in _SERVER_BINARIES):
            return bindir
    raise PostgresNotAvailable(
        "PostgreSQL server binaries (initdb, postgres) not found; looked in $ZUGONG_PG_BINDIR, "
        "/usr/lib/postgresql/*/bin, `pg_config --bindir` and PATH. Install them with "
        "`sudo bash infra/ensure-system-deps.sh` (Debian/Ubuntu package: postgresql)."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _proc_state(pid: int) -> str | None:
    """Linux process state letter, or ``None`` if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return stat.rpartition(")")[2].split()[0]


def _alive(pid: int) -> bool:
    state = _proc_state(pid)
    return state is not None and state not in ("Z", "X")


def _children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 1 and fields[1] == str(pid):
            children.append(int(entry.name))
    return children


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    remaining = [p for p in pids if _alive(p)]
    while remaining and time.monotonic() < deadline:
        time.sleep(0.05)
        remaining = [p for p in remaining if _alive(p)]
    return remaining


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _check_db_name(name: str) -> None:
    if not name or "\x00" in name or len(name.encode()) > 63:
        raise ValueError(f"invalid database name {name!r} (1..63 bytes, no NUL)")


def _utf8_c_locale_available() -> bool:
    locale_bin = shutil.which("locale")
    if not locale_bin:
        return False
    try:
        out = subprocess.run(
            [locale_bin, "-a"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return any(line.strip().lower() in ("c.utf8", "c.utf-8") for line in out.splitlines())


_live_instances: weakref.WeakSet[LocalPostgres] = weakref.WeakSet()
_atexit_lock = threading.Lock()
_atexit_registered = False


def _stop_all_at_exit() -> None:
    for pg in list(_live_instances):
        with contextlib.suppress(Exception):
            pg.stop(timeout=10)


def _register_for_exit(pg: LocalPostgres) -> None:
    global _atexit_registered
    with _atexit_lock:
        _live_instances.add(pg)
        if not _atexit_registered:
            atexit.register(_stop_all_at_exit)
            _atexit_registered = True


class LocalPostgres:
    """A private PostgreSQL cluster living in ``data_dir``, listening on ``127.0.0.1:<port>``.

    The superuser is ``postgres`` with trust authentication (no password). The server log is
    ``data_dir.parent / "postgres.log"``.
    """

    host = "127.0.0.1"
    user = "postgres"

    def __init__(self, data_dir: Path, *, port: int | None = None) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.bindir = find_postgres_bindir()
        self._port_fixed = port is not None
        self._port = port if port is not None else _free_port()
        self.log_path = self.data_dir.parent / "postgres.log"
        self._socket_dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        self._as_root = os.geteuid() == 0
        self._pg_uid = os.geteuid()
        self._pg_gid = os.getegid()
        self._pg_home: str | None = None
        self._setpriv: str | None = None
        if self._as_root:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresNotAvailable(
                    "running as root but there is no 'postgres' OS user to run the server as "
                    "(the Debian 'postgresql' package creates it; or run as a non-root user)"
                ) from None
            self._setpriv = shutil.which("setpriv")
            if self._setpriv is None:
                raise PostgresNotAvailable(
                    "running as root needs `setpriv` (util-linux) to drop to the postgres user"
                )
            self._pg_uid, self._pg_gid, self._pg_home = pw.pw_uid, pw.pw_gid, pw.pw_dir

    # ------------------------------------------------------------------ properties

    @property
    def port(self) -> int:
        return self._port

    @property
    def socket_dir(self) -> Path:
        if self._socket_dir is None:
            candidate = self.data_dir.parent / "socket"
            if len(str(candidate)) > _MAX_SOCKET_DIR_LEN:
                candidate = Path(tempfile.mkdtemp(prefix="zgpg-", dir="/tmp"))
            self._socket_dir = candidate
        return self._socket_dir

    @property
    def pid(self) -> int | None:
        """PID of the running postmaster, or ``None``."""
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        pid = self._pidfile_pid()
        return pid if pid is not None and _alive(pid) else None

    def is_running(self) -> bool:
        return self.pid is not None

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    # ------------------------------------------------------------------ URLs

    def url(self, database: str = "postgres", driver: str | None = "asyncpg") -> str:
        """SQLAlchemy URL, e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/app``."""
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{self.user}@{self.host}:{self._port}/{quote(database, safe='')}"

    def dsn(self, database: str = "postgres") -> str:
        """libpq/asyncpg DSN, e.g. ``postgresql://postgres@127.0.0.1:5432/app``."""
        return self.url(database, driver=None)

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 60) -> LocalPostgres:
        """Initialise the cluster if needed and start it; return once it accepts connections.

        A no-op if this instance's server is already running. After ``kill()`` this performs
        crash recovery before becoming ready.
        """
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return self
            deadline = time.monotonic() + timeout
            self._prepare_dirs()
            if not self.is_initialised():
                self._initdb(timeout=max(deadline - time.monotonic(), 1.0))
            attempts = 1 if self._port_fixed else 3
            for attempt in range(1, attempts + 1):
                try:
                    self._launch(deadline)
                    break
                except _PortInUse:
                    if attempt == attempts:
                        raise PostgresStartError(
                            f"port {self._port} on 127.0.0.1 is in use; see {self.log_path}"
                        ) from None
                    self._port = _free_port()
            self._port_fixed = True  # URLs handed out stay valid across kill()/restart()
            _register_for_exit(self)
            return self

    def stop(self, timeout: float = 60) -> None:
        """Fast shutdown (SIGINT: roll back open transactions, checkpoint, exit). Idempotent."""
        with self._lock:
            pid = self.pid
            if pid is None:
                self._reap()
                return
            self._signal(pid, signal.SIGINT)
            if not self._wait_exit(pid, timeout):
                logger.warning("postgres %s ignored fast shutdown; sending SIGQUIT", pid)
                self._signal(pid, signal.SIGQUIT)
                if not self._wait_exit(pid, 10):
                    self._signal(pid, signal.SIGKILL)
                    self._wait_exit(pid, 10)
            self._reap()

    def kill(self, *, flush_wal: bool = True) -> None:
        """SIGKILL the postmaster (simulated crash); ``start()`` afterwards runs crash recovery.

        The cluster runs with ``synchronous_commit=off``, so commits acknowledged within the last
        few hundred milliseconds may still sit in shared memory and would be lost. With
        ``flush_wal`` (the default) the WAL is flushed first, so - as on a production server with
        synchronous commits - every transaction committed before ``kill()`` survives and every
        open one is rolled back. Pass ``flush_wal=False`` for a harsher crash.

        Waits until the orphaned backends have exited too (they notice the postmaster's death
        within moments) so that the shared memory is free for the next ``start()``.
        """
        with self._lock:
            pid = self.pid
            if pid is None:
                self._reap()
                return
            if flush_wal:
                self._flush_wal()
            children = _children_of(pid)
            self._signal(pid, signal.SIGKILL)
            self._wait_exit(pid, 10)
            self._reap()
            leftovers = _wait_gone(children, 15)
            for child in leftovers:
                self._signal(child, signal.SIGKILL)
            _wait_gone(leftovers, 5)

    def restart(self, timeout: float = 60) -> LocalPostgres:
        self.stop(timeout=timeout)
        return self.start(timeout=timeout)

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<LocalPostgres {self.data_dir} 127.0.0.1:{self._port} {state}>"

    # ------------------------------------------------------------------ SQL helpers

    def psql(self, sql: str, database: str = "postgres", timeout: float = 60) -> str:
        """Run SQL through ``psql`` (unaligned, tuples only) and return its stdout."""
        psql = self.bindir / "psql"
        if not os.access(psql, os.X_OK):
            found = shutil.which("psql")
            if found is None:
                raise PostgresNotAvailable(f"psql not found in {self.bindir} or on PATH")
            psql = Path(found)
        argv = [str(psql), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", *self._conn_args(database)]
        env = self._env()
        env["PGCONNECT_TIMEOUT"] = "10"
        result = subprocess.run(
            argv, input=sql, capture_output=True, text=True, env=env, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise PostgresCommandError(
                f"psql failed (exit {result.returncode}) on database {database!r}: {result.stderr.strip()}"
            )
        return result.stdout

    def database_exists(self, name: str) -> bool:
        _check_db_name(name)
        out = self.psql(f"SELECT 1 FROM pg_database WHERE datname = {_quote_literal(name)};")
        return out.strip() == "1"

    def create_database(self, name: str) -> None:
        """Create database ``name`` (owned by ``postgres``) unless it already exists."""
        _check_db_name(name)
        if self.database_exists(name):
            return
        try:
            self.psql(f"CREATE DATABASE {_quote_ident(name)};")
        except PostgresCommandError as exc:
            if "already exists" not in str(exc):
                raise

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, terminating its open connections."""
        _check_db_name(name)
        if name in _RESERVED_DATABASES:
            raise ValueError(f"refusing to drop the {name!r} database")
        self.psql(f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE);")

    # ------------------------------------------------------------------ internals

    def _flush_wal(self) -> None:
        # A synchronous commit flushes the WAL up to its own commit record, i.e. also every
        # earlier asynchronous commit. The transaction must itself write WAL (a bare xid does
        # not), hence the transactional logical message. Best effort: a hung server is killed
        # regardless.
        with contextlib.suppress(PostgresError, OSError, subprocess.SubprocessError):
            self.psql(
                "BEGIN; SET LOCAL synchronous_commit = on;"
                " SELECT pg_logical_emit_message(true, 'zugong.devinfra', 'flush'); COMMIT;",
                timeout=5,
            )

    def _conn_args(self, database: str) -> list[str]:
        port = str(self._port)
        return ["-h", self.host, "-p", port, "-U", self.user, "-d", database]

    def _env(self) -> dict[str, str]:
        # Drop PG* variables of the caller (PGDATA, PGHOST, PGPASSWORD, ...): explicit args rule.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self._as_root and self._pg_home:
            env["HOME"] = self._pg_home
        return env

    def _as_pg(self, argv: list[str]) -> list[str]:
        if not self._as_root:
            return argv
        assert self._setpriv is not None
        return [
            self._setpriv,
            f"--reuid={self._pg_uid}",
            f"--regid={self._pg_gid}",
            "--init-groups",
            "--",
            *argv,
        ]

    def _pg_can_traverse(self, path: Path) -> bool:
        st = path.stat()
        if st.st_uid == self._pg_uid:
            return bool(st.st_mode & 0o100)
        if st.st_gid in os.getgrouplist("postgres", self._pg_gid):
            return bool(st.st_mode & 0o010)
        return bool(st.st_mode & 0o001)

    def _ensure_traversable(self, directory: Path) -> None:
        """Make sure the postgres OS user can reach ``directory`` (only matters as root).

        Directories under the system temp dir (e.g. pytest's 0700 ``/tmp/pytest-of-root``) get
        ``o+x`` added; anything else that blocks the way is reported instead of modified.
        """
        tmp_root = Path(tempfile.gettempdir()).resolve()
        for ancestor in [directory, *directory.parents]:
            if self._pg_can_traverse(ancestor):
                continue
            resolved = ancestor.resolve()
            if resolved != tmp_root and tmp_root in resolved.parents:
                os.chmod(ancestor, ancestor.stat().st_mode | 0o001)
                logger.info("chmod o+x %s so the postgres OS user can reach the cluster", ancestor)
                continue
            raise PostgresStartError(
                f"{ancestor} is not traversable by the postgres OS user; put the data dir under "
                f"{tmp_root} or make its parents world-executable (chmod o+x)"
            )

    def _prepare_dirs(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        self.log_path.touch(exist_ok=True)
        if self._as_root:
            self._ensure_traversable(self.data_dir.parent)
            self._ensure_traversable(self.socket_dir.parent)
            for path in (self.data_dir, self.socket_dir):
                st = path.stat()
                if (st.st_uid, st.st_gid) != (self._pg_uid, self._pg_gid):
                    os.chown(path, self._pg_uid, self._pg_gid)
        # PostgreSQL refuses data directories with group/other write or any "other" access.
        os.chmod(self.data_dir, 0o700)
        os.chmod(self.socket_dir, 0o700)

    def _initdb(self, timeout: float) -> None:
        if any(self.data_dir.iterdir()):
            raise PostgresStartError(
                f"{self.data_dir} is not empty but holds no PostgreSQL cluster (no PG_VERSION)"
            )
        locale_name = "C.UTF-8" if _utf8_c_locale_available() else "C"
        argv = [
            str(self.bindir / "initdb"),
            f"--pgdata={self.data_dir}",
            f"--username={self.user}",
            "--auth=trust",
            "--encoding=UTF8",
            f"--locale={locale_name}",
            "--no-sync",
        ]
        started = time.monotonic()
        try:
            result = subprocess.run(
                self._as_pg(argv),
                capture_output=True,
                text=True,
                env=self._env(),
                cwd="/",
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise PostgresStartError(f"initdb timed out after {timeout:.0f}s") from exc
        with self.log_path.open("a") as log:
            log.write(f"--- initdb ({' '.join(argv)})\n{result.stdout}{result.stderr}")
        if result.returncode != 0:
            raise PostgresStartError(f"initdb failed (exit {result.returncode}):\n{result.stderr.strip()}")
        logger.info("initdb %s took %.2fs", self.data_dir, time.monotonic() - started)

    def _launch(self, deadline: float) -> None:
        log_offset = self.log_path.stat().st_size
        settings = {
            "listen_addresses": self.host,
            "port": str(self._port),
            "unix_socket_directories": str(self.socket_dir),
            **SERVER_SETTINGS,
        }
        argv = [str(self.bindir / "postgres"), "-D", str(self.data_dir)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self._as_pg(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(),
                cwd="/",
                start_new_session=True,
            )
        proc = self._proc
        while True:
            if proc.poll() is not None:
                self._proc = None
                tail = self._log_since(log_offset)
                if "could not bind" in tail and not self._port_fixed:
                    raise _PortInUse
                raise PostgresStartError(
                    f"postgres exited with code {proc.returncode} during startup "
                    f"(log: {self.log_path}):\n{tail[-4000:]}"
                )
            if self._pidfile_status(proc.pid) == "ready" and self._accepts_connections():
                return
            if time.monotonic() > deadline:
                self._signal(proc.pid, signal.SIGQUIT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                self._proc = None
                raise PostgresStartError(
                    f"postgres did not accept connections on 127.0.0.1:{self._port} in time "
                    f"(log: {self.log_path}):\n{self._log_since(log_offset)[-4000:]}"
                )
            time.sleep(0.05)

    def _accepts_connections(self) -> bool:
        pg_isready = self.bindir / "pg_isready"
        if not os.access(pg_isready, os.X_OK):
            return True  # postmaster.pid already says "ready"
        result = subprocess.run(
            [str(pg_isready), "-q", "-t", "5", *self._conn_args("postgres")],
            env=self._env(),
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def _pidfile_lines(self) -> list[str]:
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (OSError, UnicodeDecodeError):
            return []

    def _pidfile_pid(self) -> int | None:
        lines = self._pidfile_lines()
        if lines and lines[0].strip().lstrip("-").isdigit():
            return abs(int(lines[0].strip()))
        return None

    def _pidfile_status(self, expected_pid: int) -> str | None:
        lines = self._pidfile_lines()
        if len(lines) < 8 or lines[0].strip() != str(expected_pid):
            return None
        return lines[7].strip()

    def _log_since(self, offset: int) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    @staticmethod
    def _signal(pid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        return not _wait_gone([pid], timeout)

    def _reap(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(1)
            if self._proc.poll() is not None:
                self._proc = None
        if self._proc is None:
            _live_instances.discard(self)


class _PortInUse(Exception):
    pass
