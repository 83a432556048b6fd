"""A real single-node Apache Kafka broker (KRaft) run as a plain ``java`` process.

For local development and integration tests only: no Docker, no Kafka distribution. The
broker's jars come from Maven (``infra/kafka/pom.xml``, fetched once into a cache dir), and
the broker runs as one combined broker+controller node with every replication factor at 1.

    with LocalKafka(tmp_dir) as kafka:
        ...  # connect aiokafka to kafka.bootstrap_servers

Jar list: infra/kafka/pom.xml; broker logging: infra/kafka/log4j.properties.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import fcntl
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, TypeVar

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "DEV_JVM_OPTIONS",
    "KafkaStartError",
    "LocalKafka",
    "cache_dir",
    "create_topics",
    "infra_dir",
]

log = logging.getLogger(__name__)

DEFAULT_KAFKA_VERSION = "3.9.1"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies"
READY_LINE = "Kafka Server started"
DEV_JVM_OPTIONS = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
"""JVM flags of the dev/test broker, which lives for seconds to minutes. Only the quick (C1)
JIT: with the default tiered JIT, the C2 compiler threads were still compiling the request
path minutes after start at the platform's request rates (tens to hundreds per second), and
took half of the broker's CPU in the distributed benchmark (≈ 0.8 of 1.6 ms per command at
200 commands/s; 12.7% of a core idle) while the request threads took the same with or
without C2. A long-running production broker keeps Kafka's defaults: there C2's compile cost
is paid once and its faster code pays back."""
_T = TypeVar("_T")


class KafkaStartError(RuntimeError):
    """The broker could not be fetched, formatted or started (message holds the log tail)."""

    def __init__(self, message: str, *, port_conflict: bool = False) -> None:
        super().__init__(message)
        self.port_conflict = port_conflict


def cache_dir() -> Path:
    """``$ZUGONG_CACHE_DIR`` or ``~/.cache/zugong``."""
    env = os.environ.get("ZUGONG_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "zugong"


def infra_dir() -> Path:
    """``infra/kafka`` of the source tree (pom.xml and log4j.properties)."""
    candidates = [Path(__file__).resolve().parents[2] / "infra" / "kafka"]
    candidates.append(Path.cwd() / "infra" / "kafka")
    for candidate in candidates:
        if (candidate / "pom.xml").is_file():
            return candidate
    raise KafkaStartError(
        "cannot find infra/kafka/pom.xml (looked in "
        + ", ".join(str(c) for c in candidates)
        + "); run from a zugong source checkout"
    )


def _free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (all sockets held open until all are picked)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _random_cluster_id() -> str:
    """Same format as ``StorageTool random-uuid``: URL-safe base64 of 16 bytes, no padding."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _run_coro_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` on a fresh loop in a worker thread.

    Never in the calling thread: ``asyncio.run`` there would fail inside a running loop and,
    outside one, reset the thread's current event loop (which pytest-asyncio relies on).
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="localkafka") as pool:
        return pool.submit(asyncio.run, coro).result()


async def create_topics(
    bootstrap_servers: str,
    names: Iterable[str],
    partitions: int = 1,
    *,
    replication_factor: int = 1,
    configs: dict[str, str] | None = None,
    timeout_ms: int = 30_000,
) -> None:
    """Create ``names`` (idempotent: topics that already exist are left as they are)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError, for_code

    topics = [
        NewTopic(
            name=name,
            num_partitions=partitions,
            replication_factor=replication_factor,
            topic_configs=dict(configs or {}),
        )
        for name in names
    ]
    if not topics:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=timeout_ms)
    await admin.start()
    try:
        response = await admin.create_topics(topics, timeout_ms=timeout_ms)
    finally:
        await admin.close()
    failures = []
    for topic, code, *rest in response.topic_errors:
        if code == 0:
            continue
        err = for_code(code)
        if err is TopicAlreadyExistsError:
            continue
        message = rest[0] if rest else None
        failures.append(f"{topic}: {err.__name__}{f' ({message})' if message else ''}")
    if failures:
        raise RuntimeError("could not create topics: " + "; ".join(failures))


class LocalKafka:
    """One combined broker+controller KRaft node listening on 127.0.0.1.

    ``home`` holds ``server.properties``, the data dir (``data/``) and ``broker.log``. Ports
    are picked at construction when not given and kept across :meth:`restart`.
    """

    def __init__(
        self,
        home: Path,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        version: str = DEFAULT_KAFKA_VERSION,
        heap: str = "512m",
        jvm_options: Iterable[str] = DEV_JVM_OPTIONS,
    ) -> None:
        self.home = Path(home).resolve()
        self.version = version
        self.heap = heap
        self.jvm_options = tuple(jvm_options)
        self._auto_ports = port is None and controller_port is None
        if port is None or controller_port is None:
            picked = iter(_free_ports(2))
            port = port if port is not None else next(picked)
            controller_port = controller_port if controller_port is not None else next(picked)
        if port == controller_port:
            raise ValueError("port and controller_port must differ")
        self.port = port
        self.controller_port = controller_port
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._atexit_registered = False

    # -- paths -----------------------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def properties_path(self) -> Path:
        return self.home / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.home / "broker.log"

    @property
    def lib_dir(self) -> Path:
        return cache_dir() / f"kafka-{self.version}" / "lib"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<LocalKafka {self.version} {self.bootstrap_servers} {state} home={self.home}>"

    # -- jars ------------------------------------------------------------------------------

    def ensure_jars(self) -> Path:
        """Fetch the broker's jars into the cache once; return the lib dir."""
        lib = self.lib_dir
        if lib.is_dir():
            return lib
        mvn = shutil.which("mvn")
        if mvn is None:
            raise KafkaStartError(
                "Maven ('mvn') is not on PATH: it is needed once to fetch the Kafka "
                f"{self.version} jars into {lib}"
            )
        pom = infra_dir() / "pom.xml"
        lib.parent.mkdir(parents=True, exist_ok=True)
        # One fetch at a time (parallel test sessions); re-check under the lock.
        with open(lib.parent / ".fetch.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if lib.is_dir():
                return lib
            tmp = lib.parent / f"lib.partial-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            print(
                f"zugong: fetching Apache Kafka {self.version} jars with Maven into {lib} "
                "(first time only, may take a few minutes)...",
                file=sys.stderr,
                flush=True,
            )
            started = time.monotonic()
            cmd = [
                mvn,
                "-B",
                "-q",
                "-f",
                str(pom),
                DEPENDENCY_PLUGIN,
                "-DincludeScope=runtime",
                f"-DoutputDirectory={tmp}",
                f"-Dkafka.version={self.version}",
            ]
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode != 0 or not any(tmp.glob("kafka_2.13-*.jar")):
                shutil.rmtree(tmp, ignore_errors=True)
                output = (result.stdout + result.stderr).strip()
                raise KafkaStartError(
                    f"fetching Kafka {self.version} jars failed (mvn exit {result.returncode}):\n"
                    + "\n".join(output.splitlines()[-40:])
                )
            tmp.rename(lib)
            log.info("fetched Kafka %s jars in %.0f s", self.version, time.monotonic() - started)
        return lib

    # -- lifecycle -------------------------------------------------------------------------

    def _server_properties(self) -> str:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            # Single node: the defaults of 3 leave group/transaction coordinators unavailable.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "num.partitions": "1",
            "auto.create.topics.enable": "true",
            "group.initial.rebalance.delay.ms": "0",
            # Lets fault tests run consumers with short sessions, so that a SIGKILLed
            # consumer's partitions are reassigned in a second or two, not ten.
            "group.min.session.timeout.ms": "1000",
            # After a kill, the restarted controller keeps the dead incarnation's registration
            # until its session times out (default 9 s, then registration backoff: ~14 s
            # to restart). Shorter heartbeats make kill+start take a few seconds.
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "3000",
        }
        lines = ["# Written by zugong.devinfra.kafka.LocalKafka; rewritten on every start."]
        lines += [f"{key}={value}" for key, value in props.items()]
        return "\n".join(lines) + "\n"

    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        if java_home and (Path(java_home) / "bin" / "java").is_file():
            return str(Path(java_home) / "bin" / "java")
        java = shutil.which("java")
        if java is None:
            raise KafkaStartError("'java' is not on PATH (Java 17+ is needed to run Kafka)")
        return java

    def _java_cmd(self, lib: Path, main_class: str, *args: str, heap: str | None = None) -> list[str]:
        cmd = [self._java()]
        if heap:
            cmd.append(f"-Xmx{heap}")
        cmd += [
            *self.jvm_options,
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{infra_dir() / 'log4j.properties'}",
            "-cp",
            f"{lib}/*",  # the JVM expands the wildcard (no shell involved)
            main_class,
            *args,
        ]
        return cmd

    def _format_storage(self, lib: Path) -> None:
        if (self.data_dir / "meta.properties").is_file():
            return  # already formatted (restart): keep the cluster id and data
        cmd = self._java_cmd(
            lib,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            _random_cluster_id(),
            "-c",
            str(self.properties_path),
            "--ignore-formatted",
            heap="256m",
        )
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise KafkaStartError(
                f"kafka.tools.StorageTool format failed (exit {result.returncode}):\n"
                + (result.stdout + result.stderr).strip()
            )

    def start(self, timeout: float = 120) -> None:
        """Start the broker and wait (up to ``timeout`` s, jar fetch not included) until a
        client can talk to it. No-op when already running."""
        if self.is_running:
            return
        lib = self.ensure_jars()
        # Auto-picked ports can be taken by someone else before the JVM binds them: on the
        # very first start (nothing on disk refers to the ports yet) pick new ones and retry.
        attempts = 3 if self._auto_ports and not self.data_dir.exists() else 1
        for attempt in range(1, attempts + 1):
            try:
                self._start_once(lib, timeout)
                return
            except KafkaStartError as exc:
                if attempt == attempts or not exc.port_conflict:
                    raise
                log.warning("Kafka ports %s taken; retrying with new ports", self._ports())
                shutil.rmtree(self.data_dir, ignore_errors=True)
                self.port, self.controller_port = _free_ports(2)

    def _ports(self) -> str:
        return f"{self.port}/{self.controller_port}"

    def _start_once(self, lib: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self.home.mkdir(parents=True, exist_ok=True)
        fresh = not self.data_dir.exists()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.properties_path.write_text(self._server_properties())
        try:
            self._format_storage(lib)
        except BaseException:
            if fresh:
                shutil.rmtree(self.data_dir, ignore_errors=True)
            raise

        cmd = self._java_cmd(lib, "kafka.Kafka", str(self.properties_path), heap=self.heap)
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"\n==== zugong LocalKafka start {time.ctime()} ====\n".encode())
        self._log_file.flush()
        log_offset = self._log_file.tell()
        self._proc = subprocess.Popen(
            cmd,
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: Ctrl-C in a terminal does not hit it
        )
        self._register_atexit()
        log.info("started Kafka broker pid %s on %s", self._proc.pid, self.bootstrap_servers)
        try:
            self._wait_ready(log_offset, deadline)
        except BaseException:
            self.kill()
            raise
        log.info("Kafka broker on %s is ready", self.bootstrap_servers)

    def _wait_ready(self, log_offset: int, deadline: float) -> None:
        assert self._proc is not None
        started_line_seen = False
        last_error: BaseException | None = None
        while True:
            code = self._proc.poll()
            if code is not None:
                new_output = self._read_log(log_offset)
                first_error = next((line for line in new_output.splitlines() if "ERROR" in line), None)
                summary = f"\nfirst error: {first_error}" if first_error else ""
                raise KafkaStartError(
                    f"Kafka broker exited with code {code} during start{summary}\n"
                    f"tail of {self.log_path}:\n{self.log_tail()}",
                    port_conflict="Address already in use" in new_output,
                )
            if not started_line_seen:
                started_line_seen = READY_LINE in self._read_log(log_offset)
            if started_line_seen:
                try:
                    _run_coro_sync(self._probe())
                    return
                except Exception as exc:  # not ready yet
                    last_error = exc
            if time.monotonic() >= deadline:
                what = "a client call failed" if started_line_seen else f"no {READY_LINE!r} line"
                detail = f" (last client error: {last_error!r})" if last_error else ""
                raise KafkaStartError(
                    f"Kafka broker not ready in time: {what}{detail}; "
                    f"tail of {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def _read_log(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    async def _probe(self) -> None:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, request_timeout_ms=5_000)
        try:
            await asyncio.wait_for(admin.start(), 5)
            await asyncio.wait_for(admin.list_topics(), 5)
        finally:
            await admin.close()

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines of ``broker.log``."""
        try:
            text = self.log_path.read_bytes()[-200_000:].decode(errors="replace")
        except FileNotFoundError:
            return "(no broker.log)"
        return "\n".join(text.splitlines()[-lines:])

    def _signal(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)  # pgid == pid (start_new_session)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (controlled shutdown), then SIGKILL after ``timeout`` seconds."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("Kafka broker pid %s ignored SIGTERM; killing it", self._proc.pid)
                self._signal(signal.SIGKILL)
                self._proc.wait()
        self._cleanup()

    def kill(self) -> None:
        """SIGKILL right away (simulates a crash; data written so far stays on disk)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._signal(signal.SIGKILL)
        self._proc.wait()
        self._cleanup()

    def restart(self, timeout: float = 120) -> None:
        """Stop and start again with the same ports and data dir."""
        self.stop()
        self.start(timeout=timeout)

    def _cleanup(self) -> None:
        self._proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _register_atexit(self) -> None:
        # Do not leave an orphan JVM when the interpreter exits without calling stop().
        if self._atexit_registered:
            return
        ref = weakref.ref(self)

        def _stop_at_exit() -> None:
            kafka = ref()
            if kafka is not None and kafka.is_running:
                kafka.stop(timeout=10)

        atexit.register(_stop_at_exit)
        self._atexit_registered = True

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def run_foreground(self) -> None:
        """Start, block until Ctrl-C (or SIGTERM) or until the broker dies, then stop."""
        stop_requested = threading.Event()

        def _on_sigterm(signum: int, frame: object) -> None:
            stop_requested.set()

        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            started = time.monotonic()
            self.start()
            print(
                f"Kafka {self.version} ready on {self.bootstrap_servers} "
                f"in {time.monotonic() - started:.1f} s (home {self.home}); Ctrl-C to stop",
                file=sys.stderr,
                flush=True,
            )
            while not stop_requested.is_set():
                if not self.is_running:
                    raise KafkaStartError(
                        f"Kafka broker exited unexpectedly; tail of {self.log_path}:\n" + self.log_tail()
                    )
                stop_requested.wait(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            if self.is_running:
                print("stopping Kafka...", file=sys.stderr, flush=True)
            self.stop()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    # -- helpers ---------------------------------------------------------------------------

    async def create_topics(self, names: Iterable[str], partitions: int = 1) -> None:
        """Create topics on this broker (idempotent)."""
        await create_topics(self.bootstrap_servers, names, partitions)
