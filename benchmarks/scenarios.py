"""The benchmark scenarios. Each returns a list of runs (dicts of figures); the driver takes
medians and ratios against the baselines measured in the same run of the program."""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from benchmarks.http import Connection, closed_loop, open_loop
from benchmarks.processes import REPO, Process, cpu_seconds, free_port, peak_rss_mb, postgres_cpu_by_database
from services.kernel.auth import TokenIssuer

SECRET = "bench-jwt-secret-0123456789abcdef0123456789"
KEY = "bench-personal-data-key-0123456789abcdef"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def summary(latencies: list[float], rate: float, **extra) -> dict:
    return {"rate": rate, "p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
            "n": len(latencies), **extra}


@dataclass
class Context:
    workdir: Path
    runs: int = 3
    seconds: float = 5.0
    concurrency: int = 16
    rss: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def record_rss(self, label: str, process: Process) -> None:
        process.sample_rss()
        if process.peak_mb:
            self.rss[label] = max(self.rss.get(label, 0), process.peak_mb)

    def env(self, var_dir: Path) -> dict[str, str]:
        return {"ZUGONG_ENVIRONMENT": "production", "ZUGONG_AUTH__JWT_SECRET": SECRET,
                "ZUGONG_PERSONAL_DATA_KEY": KEY, "ZUGONG_VAR_DIR": str(var_dir),
                "ZUGONG_LOG_LEVEL": "WARNING", "PYTHONPATH": str(REPO)}

    def embedded_env(self, var_dir: Path) -> dict[str, str]:
        from zugong.runtime import SERVICES

        urls = {f"ZUGONG_DATABASE__{name.upper()}_URL": f"sqlite+aiosqlite:///{var_dir}/{name}.db"
                for name in SERVICES}
        # ZUGONG_DEMO=0: `zugong run` would otherwise load the demo year through the API, in the
        # same process, while the benchmark measures it
        return {**self.env(var_dir), **urls, "ZUGONG_DEMO": "0",
                "ZUGONG_DATABASE__READMODEL_URL": f"sqlite+aiosqlite:///{var_dir}/readmodel.db"}


def token() -> str:
    return TokenIssuer(SECRET).mint("bench", "admin", ttl_seconds=24 * 3600)


def connector(port: int):
    auth = {"authorization": f"Bearer {token()}"}
    return lambda: Connection("127.0.0.1", port, auth)


def unit_body(n: int) -> dict:
    return {"name": f"基准单位{n}", "kind": "township",
            "establishment": {"administrative": 5, "institution": 5}}


async def register_unit(connection: Connection, n: int) -> int:
    status, _ = await connection.request("POST", "/api/v1/personnel/units", unit_body(n))
    return status


# --- servers ---------------------------------------------------------------------------------


@asynccontextmanager
async def embedded_platform(ctx: Context, var_dir: Path, label: str = "embedded platform"):
    port = free_port()
    await asyncio.to_thread(var_dir.mkdir, parents=True, exist_ok=True)
    process = Process(label.replace(" ", "-"), ["run", "--port", str(port)],
                      ctx.embedded_env(var_dir), ctx.workdir).start()
    try:
        await asyncio.to_thread(process.wait_http, f"http://127.0.0.1:{port}/healthz", 120)
        yield port, process
    finally:
        ctx.record_rss(label, process)
        process.stop()


@asynccontextmanager
async def bare_endpoint(ctx: Context):
    port = free_port()
    process = Process("bare-fastapi", ["--port", str(port)], ctx.env(ctx.workdir), ctx.workdir,
                      module="benchmarks.bare_app").start()
    try:
        await asyncio.to_thread(process.wait_http, f"http://127.0.0.1:{port}/healthz")
        yield port, process
    finally:
        ctx.record_rss("bare FastAPI endpoint", process)
        process.stop()


@dataclass
class Infra:
    kafka: object
    postgres: object


@asynccontextmanager
async def infrastructure(ctx: Context):
    from zugong.devinfra.kafka import LocalKafka
    from zugong.devinfra.postgres import LocalPostgres

    base = ctx.workdir / "infra"
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    kafka = LocalKafka(base / "kafka")
    postgres = LocalPostgres(base / "postgres")
    await asyncio.gather(asyncio.to_thread(kafka.start), asyncio.to_thread(postgres.start))
    try:
        yield Infra(kafka, postgres)
    finally:
        if kafka.pid and (value := peak_rss_mb(kafka.pid)):
            ctx.rss["Kafka broker (JVM, -Xmx512m)"] = value
        await asyncio.gather(asyncio.to_thread(kafka.stop), asyncio.to_thread(postgres.stop),
                             return_exceptions=True)


@asynccontextmanager
async def distributed_platform(ctx: Context, infra: Infra, name: str):
    """Every service, its relay, the projector and the gateway as processes."""
    from zugong.runtime import SERVICES

    suffix = uuid.uuid4().hex[:6]
    env = ctx.env(ctx.workdir / f"var-{name}")
    env.update({"ZUGONG_KAFKA__BOOTSTRAP_SERVERS": infra.kafka.bootstrap_servers,
                "ZUGONG_KAFKA__PARTITIONS": "3", "ZUGONG_KAFKA__TOPIC_PREFIX": f"b{suffix}",
                "ZUGONG_KAFKA__PROJECTOR_GROUP": f"projector-{suffix}"})
    read_db = f"read_{suffix}"
    infra.postgres.create_database(read_db)
    env["ZUGONG_DATABASE__READMODEL_URL"] = infra.postgres.url(read_db)
    ports = {}
    for service in SERVICES:
        infra.postgres.create_database(f"{service}_{suffix}")
        env[f"ZUGONG_DATABASE__{service.upper()}_URL"] = infra.postgres.url(f"{service}_{suffix}")
        ports[service] = free_port()
        env[f"ZUGONG_GATEWAY__{service.upper()}_URL"] = f"http://127.0.0.1:{ports[service]}"
    gateway_port = free_port()
    processes: dict[str, Process] = {}
    for service, port in ports.items():
        processes[f"service ({service})"] = Process(
            f"{name}-{service}", ["serve", service, "--port", str(port)], env, ctx.workdir)
        processes[f"relay ({service})"] = Process(
            f"{name}-{service}-relay", ["relay", service],
            {**env, "ZUGONG_METRICS_PORT": str(free_port())}, ctx.workdir)
    processes["projector"] = Process(f"{name}-projector", ["projector"],
                                     {**env, "ZUGONG_METRICS_PORT": str(free_port())},
                                     ctx.workdir)
    processes["gateway"] = Process(f"{name}-gateway", ["gateway", "--port", str(gateway_port)],
                                   env, ctx.workdir)
    for process in processes.values():
        process.start()
    try:
        for service, port in ports.items():
            await asyncio.to_thread(processes[f"service ({service})"].wait_http,
                                    f"http://127.0.0.1:{port}/healthz")
        await asyncio.to_thread(processes["gateway"].wait_http,
                                f"http://127.0.0.1:{gateway_port}/healthz")
        yield gateway_port, processes, env
    finally:
        for label, process in processes.items():
            ctx.record_rss(label, process)
            process.stop()


# --- write path ------------------------------------------------------------------------------


async def write_path(ctx: Context, port: int, start: int = 0) -> list[dict]:
    runs = []
    for run in range(ctx.runs):
        result = await closed_loop(connector(port), register_unit, concurrency=ctx.concurrency,
                                   seconds=ctx.seconds, start=start + run * 1_000_000)
        if result.errors:
            ctx.notes.append(f"write path: {result.errors} errors {result.statuses}")
        runs.append(summary(result.latencies, result.rate))
    return runs


def eventsourcing_baseline(ctx: Context, synchronous: str) -> list[dict]:
    runs = []
    for run in range(ctx.runs):
        db = ctx.workdir / f"eventsourcing-{synchronous}-{run}.db"
        output = subprocess.run(
            [sys.executable, "-m", "benchmarks.es_baseline", "--db", str(db),
             "--seconds", str(ctx.seconds), "--synchronous", synchronous],
            cwd=REPO, capture_output=True, text=True, check=True).stdout
        result = json.loads(output.strip().splitlines()[-1])
        ctx.rss[f"eventsourcing baseline ({synchronous})"] = result["rss_mb"]
        runs.append(result)
    return runs


# --- freshness -------------------------------------------------------------------------------


async def freshness(ctx: Context, port: int, read_url: str, *, rate: float = 500,
                    start: int = 0, poll: float = 0.001) -> list[dict]:
    """Commands at a steady ``rate``; each command's stream is watched in the read model the
    gateway reads (one query for all pending streams every ``poll`` s) until it appears.

    On PostgreSQL the watcher queries through one plain asyncpg connection (a prepared
    statement), on SQLite through one sqlite3 connection: through SQLAlchemy each look cost
    ≈ 0.3-0.5 ms of CPU (and 4 round trips on PostgreSQL), which at one look per millisecond
    took a large share of the two cores from the platform measured."""
    from services.kernel.db import create_engine
    from services.kernel.subscription import projection_streams_table as streams

    if read_url.startswith("postgresql"):
        import asyncpg
        from sqlalchemy.engine import make_url

        connection = await asyncpg.connect(make_url(read_url).set(drivername="postgresql")
                                           .render_as_string(hide_password=False))
        statement = await connection.prepare(
            f"SELECT stream_id FROM {streams.name} WHERE projection = 'personnel' "
            "AND stream_id = ANY($1::text[])")

        async def seen(ids: list[str]) -> list[str]:
            return [row[0] for row in await statement.fetch(ids)]

        try:
            return [await _freshness_run(ctx, port, seen, rate, start + run * 1_000_000, poll)
                    for run in range(ctx.runs)]
        finally:
            await connection.close()

    if read_url.startswith("sqlite"):
        # the same for a SQLite file: one sqlite3 connection, each look a statement in
        # autocommit (the newest committed state; ≈ 30 µs against ≈ 300 µs through SQLAlchemy)
        import sqlite3

        from sqlalchemy.engine import make_url

        reader = sqlite3.connect(f"file:{make_url(read_url).database}?mode=ro", uri=True,
                                 isolation_level=None)

        async def seen_sqlite(ids: list[str]) -> list[str]:
            marks = ",".join("?" * len(ids))
            return [row[0] for row in reader.execute(
                f"SELECT stream_id FROM {streams.name} WHERE projection = 'personnel' "
                f"AND stream_id IN ({marks})", ids)]

        try:
            return [await _freshness_run(ctx, port, seen_sqlite, rate, start + run * 1_000_000,
                                         poll) for run in range(ctx.runs)]
        finally:
            reader.close()

    engine = create_engine(read_url, pool_size=2)

    async def seen_sqlalchemy(ids: list[str]) -> list[str]:
        async with engine.connect() as conn:
            return (await conn.execute(sa.select(streams.c.stream_id).where(
                streams.c.projection == "personnel",
                streams.c.stream_id.in_(ids)))).scalars().all()

    try:
        return [await _freshness_run(ctx, port, seen_sqlalchemy, rate, start + run * 1_000_000,
                                     poll) for run in range(ctx.runs)]
    finally:
        await engine.dispose()


async def _freshness_run(ctx: Context, port: int, seen, rate: float, start: int,
                         poll: float) -> dict:
    pending: dict[str, float] = {}
    delays: list[float] = []
    done = asyncio.Event()

    async def command(connection: Connection, n: int) -> int:
        status, body = await connection.request("POST", "/api/v1/personnel/units", unit_body(n))
        if status == 201:
            pending[f"unit-{json.loads(body)['id']}"] = time.perf_counter()
        return status

    async def watch() -> None:
        while not (done.is_set() and not pending):
            if pending:
                visible = await seen(list(pending)[:500])
                now = time.perf_counter()
                for stream_id in visible:
                    delays.append(now - pending.pop(stream_id))
            await asyncio.sleep(poll)

    watcher = asyncio.create_task(watch())
    result = await open_loop(connector(port), command, rate=rate, seconds=ctx.seconds,
                             start=start)
    done.set()
    await asyncio.wait_for(watcher, 60)
    return summary(delays, result.rate, command_p99=percentile(result.latencies, 0.99))


# --- pipeline --------------------------------------------------------------------------------


async def pipeline(ctx: Context, infra: Infra, events: int) -> tuple[list[dict], list[dict]]:
    """Store → relay → Kafka → projector → read model, in steady state (10%→100% of the
    events applied; process start-up excluded); and raw aiokafka produce+consume of the same
    payloads on the same broker."""
    from benchmarks.data import fill_store
    from services.kernel.db import create_engine
    from services.kernel.eventstore import EventStore
    from services.kernel.kafka_admin import ensure_topics
    from services.kernel.relay import relay_checkpoint_table  # noqa: F401  (in the schema)
    from services.kernel.subscription import projection_positions_table as positions
    from zugong.runtime import PROJECTIONS

    projection_names = [projection().name for projection in PROJECTIONS]

    store_db = f"pipeline_{uuid.uuid4().hex[:6]}"
    infra.postgres.create_database(store_db)
    store = EventStore(create_engine(infra.postgres.url(store_db)), service="personnel")
    await fill_store(store, events, cadres=events // 5, units=max(10, events // 100), key=KEY)
    payloads = [e.to_envelope("personnel").model_dump_json().encode()
                for e in await store.read_all(0, 2000)]
    ours, raw = [], []
    for run in range(ctx.runs):
        suffix = uuid.uuid4().hex[:6]
        relay_alone = await _relay_alone(ctx, infra, store, events, run)
        read_db = f"read_{suffix}"
        infra.postgres.create_database(read_db)
        env = ctx.env(ctx.workdir / f"var-pipeline-{run}")
        env.update({"ZUGONG_KAFKA__BOOTSTRAP_SERVERS": infra.kafka.bootstrap_servers,
                    "ZUGONG_KAFKA__PARTITIONS": "3", "ZUGONG_KAFKA__TOPIC_PREFIX": f"p{suffix}",
                    "ZUGONG_KAFKA__PROJECTOR_GROUP": f"projector-{suffix}",
                    "ZUGONG_DATABASE__PERSONNEL_URL": infra.postgres.url(store_db),
                    "ZUGONG_DATABASE__READMODEL_URL": infra.postgres.url(read_db)})
        from services.kernel.settings import Settings

        settings = Settings(environment="production", auth={"jwt_secret": SECRET},
                            personal_data_key=KEY,
                            kafka={"bootstrap_servers": infra.kafka.bootstrap_servers,
                                   "topic_prefix": f"p{suffix}"})
        await ensure_topics(infra.kafka.bootstrap_servers, settings.all_topics(), 3)
        async with store.engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM relay_checkpoint"))
        read_engine = create_engine(infra.postgres.url(read_db), pool_size=1)
        projector = Process(f"pipeline-projector-{run}", ["projector"], env, ctx.workdir).start()
        relay = Process(f"pipeline-relay-{run}", ["relay", "personnel"], env, ctx.workdir).start()
        marks: dict[float, float] = {}
        counted: dict[float, int] = {}  # events applied when each mark was passed
        cpu: dict[float, dict[str, float]] = {}

        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                try:
                    async with read_engine.connect() as conn:
                        # offsets consumed per projection; done = the slowest projection's
                        rows = (await conn.execute(sa.select(
                            positions.c.projection, sa.func.sum(positions.c.position + 1)
                        ).group_by(positions.c.projection))).all()
                    per_projection = {name: int(total) for name, total in rows}
                    done = min(per_projection.get(name, 0) for name in projection_names)
                except Exception:
                    done = 0
                now = time.perf_counter()
                for mark in (0.1, 1.0):
                    if done >= mark * events and mark not in marks:
                        marks[mark] = now
                        counted[mark] = done
                        cpu[mark] = _pipeline_cpu(infra, projector, relay, read_db, store_db)
                if 1.0 in marks:
                    break
                projector.sample_rss()
                relay.sample_rss()
                await asyncio.sleep(0.05)
            else:
                raise TimeoutError(f"pipeline did not finish:\n{projector.log_tail()}")
        finally:
            ctx.record_rss("projector (pipeline)", projector)
            ctx.record_rss("relay (pipeline)", relay)
            projector.stop()
            relay.stop()
            await read_engine.dispose()
        # CPU per event of each process in the same window (PostgreSQL: its backends, by
        # database); the relay may finish early, its share still counts per event
        # the events applied between the marks as counted (a batch may carry the count past
        # 10% by more than a few events)
        window = counted[1.0] - counted[0.1]
        if window <= 0:
            raise ValueError(f"{events} events were applied in one batch: give more events")
        per_event = {name: (cpu[1.0][name] - cpu[0.1][name]) / window * 1e6 for name in cpu[1.0]}
        ours.append({"rate": window / (marks[1.0] - marks[0.1]), "relay": relay_alone,
                     "cpu_us": per_event})
        raw.append({"rate": await raw_kafka(infra.kafka.bootstrap_servers, payloads, events)})
    await store.engine.dispose()
    return ours, raw


def _pipeline_cpu(infra: Infra, projector: Process, relay: Process, read_db: str,
                  store_db: str) -> dict[str, float]:
    """CPU seconds used so far by each process of the pipeline."""
    databases = postgres_cpu_by_database(infra.postgres.pid)
    return {"projector": cpu_seconds(projector.pid, with_children=True),
            "relay": cpu_seconds(relay.pid, with_children=True),
            "broker": cpu_seconds(infra.kafka.pid),
            "PostgreSQL (read model)": databases.get(read_db, 0.0),
            "PostgreSQL (store)": databases.get(store_db, 0.0)}


async def _relay_alone(ctx: Context, infra: Infra, store, events: int, run: int) -> float:
    """The relay alone (no projector) publishing the stored events to topics of its own:
    what it can feed the projector with, 10%→100% of the events acknowledged."""
    from services.kernel.relay import relay_checkpoint_table as checkpoints

    suffix = uuid.uuid4().hex[:6]
    env = ctx.env(ctx.workdir / f"var-relay-alone-{run}")
    env.update({"ZUGONG_KAFKA__BOOTSTRAP_SERVERS": infra.kafka.bootstrap_servers,
                "ZUGONG_KAFKA__PARTITIONS": "3", "ZUGONG_KAFKA__TOPIC_PREFIX": f"r{suffix}",
                "ZUGONG_DATABASE__PERSONNEL_URL": store.engine.url.render_as_string(
                    hide_password=False)})
    async with store.engine.begin() as conn:
        await conn.execute(sa.delete(checkpoints))
    relay = Process(f"relay-alone-{run}", ["relay", "personnel"], env, ctx.workdir).start()
    marks: dict[float, float] = {}
    try:
        deadline = time.monotonic() + 300
        while 1.0 not in marks:
            if time.monotonic() > deadline:
                raise TimeoutError(f"relay did not finish:\n{relay.log_tail()}")
            async with store.engine.connect() as conn:
                done = await conn.scalar(sa.select(sa.func.max(checkpoints.c.position))) or 0
            now = time.perf_counter()
            for mark in (0.1, 1.0):
                if done >= mark * events and mark not in marks:
                    marks[mark] = now
            await asyncio.sleep(0.01)
    finally:
        relay.stop()
    return 0.9 * events / (marks[1.0] - marks[0.1])


async def raw_kafka(bootstrap: str, payloads: list[bytes], events: int) -> float:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"raw-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 3, 1)])
    await admin.close()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"g{topic}",
                                auto_offset_reset="earliest", enable_auto_commit=True)
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all",
                                linger_ms=5, max_batch_size=512 * 1024)
    await producer.start()
    received = 0
    marks: dict[float, float] = {}
    counted: dict[float, int] = {}

    async def consume() -> None:
        nonlocal received
        while received < events:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            received += sum(len(m) for m in batch.values())
            now = time.perf_counter()
            for mark in (0.1, 1.0):
                if received >= mark * events and mark not in marks:
                    marks[mark] = now
                    counted[mark] = received

    consuming = asyncio.create_task(consume())
    futures = []
    for n in range(events):
        futures.append(await producer.send(topic, payloads[n % len(payloads)],
                                           key=str(n % 5000).encode()))
        if len(futures) >= 5000:
            await asyncio.gather(*futures)
            futures = []
    await asyncio.gather(*futures)
    await asyncio.wait_for(consuming, 300)
    await producer.stop()
    await consumer.stop()
    # as the pipeline's: the events received between the marks as counted
    return (counted[1.0] - counted[0.1]) / (marks[1.0] - marks[0.1])


# --- rebuild and queries -----------------------------------------------------------------------


async def build_history(ctx: Context, var_dir: Path, events: int, cadres: int) -> int:
    from benchmarks.data import fill_store
    from services.kernel.db import create_engine
    from services.kernel.eventstore import EventStore
    from zugong.runtime import SERVICES

    await asyncio.to_thread(var_dir.mkdir, parents=True, exist_ok=True)
    # the other services' stores exist, empty: the rebuild replays every store
    for service in SERVICES:
        if service != "personnel":
            other = EventStore(create_engine(f"sqlite+aiosqlite:///{var_dir}/{service}.db"),
                               service=service)
            await other.create_schema()
            await other.engine.dispose()
    store = EventStore(create_engine(f"sqlite+aiosqlite:///{var_dir}/personnel.db"),
                       service="personnel")
    try:
        return await fill_store(store, events, cadres=cadres, units=2000, key=KEY)
    finally:
        await store.engine.dispose()


def rebuild(ctx: Context, var_dir: Path, runs: int) -> list[dict]:
    """`zugong projections rebuild` (its own process) from the store into a fresh shadow and
    swapped in: replay rate, and the wall time of the whole command."""
    import os

    results = []
    for run in range(runs):
        out = ctx.workdir / f"rebuild-{run}.json"
        with open(out, "wb") as stdout, open(ctx.workdir / f"rebuild-{run}.log", "wb") as log:
            started = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "zugong.cli", "projections", "rebuild", "--json"],
                cwd=ctx.workdir, env={**os.environ, **ctx.embedded_env(var_dir)},
                stdout=stdout, stderr=log)
            peak = 0.0
            workers: dict[int, float] = {}  # the replay processes it forks: their own peaks
            while proc.poll() is None:
                peak = max(peak, peak_rss_mb(proc.pid) or 0)
                for child in _children(proc.pid):
                    workers[child] = max(workers.get(child, 0.0), peak_rss_mb(child) or 0)
                time.sleep(0.2)
            peak += sum(workers.values())
            wall = time.perf_counter() - started
        ctx.rss["zugong projections rebuild"] = max(ctx.rss.get("zugong projections rebuild", 0),
                                                    peak)
        if proc.returncode != 0:
            raise RuntimeError(f"rebuild failed: {out.read_text()[-2000:]}")
        reports = json.loads(out.read_text())
        events, seconds = replay_of(reports)
        results.append({"rate": events / seconds if seconds else 0.0, "events": events,
                        "replay_seconds": seconds, "wall_seconds": wall,
                        "replay_cpu_seconds": max(r.get("cpu_seconds", 0.0) for r in reports),
                        "projections": len(reports),
                        "swap_ms": sum(r["swap_seconds"] for r in reports) * 1000})
    return results


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    except OSError:
        return []


def replay_of(reports: list[dict]) -> tuple[int, float]:
    """(events, seconds) of the replay of ALL the rebuilt projections: the history's events
    over the wall time of every replay the command ran (projections fed by one replay share
    its events and seconds; separate replays add up). The catch-ups just before a swap are
    not in it (the history is not growing in the benchmark)."""
    seen: set[tuple[str, ...]] = set()
    events, seconds = 0, 0.0
    for report in reports:
        group = tuple(report.get("replayed_with") or [report["projection"]])
        if group in seen:
            continue
        seen.add(group)
        events = max(events, report["events"])
        seconds += report["seconds"]
    return events, seconds


QUERY_TARGETS = {"dashboard": 0.050}
"""p99 targets (issue 7): 10 ms for the roster and cadre views, 50 ms for the dashboard."""


def query_target(label: str) -> float:
    return next((t for prefix, t in QUERY_TARGETS.items() if label.startswith(prefix)), 0.010)


async def wait_ready(port: int, limit: float = 600) -> float:
    """Waits for /readyz (every projection and consumer caught up): a platform still catching
    up on a fresh history would measure its own catch-up, not the queries."""
    from benchmarks.http import Connection

    started = time.perf_counter()
    connection = await Connection("127.0.0.1", port).open()
    try:
        while (status := (await connection.request("GET", "/readyz"))[0]) != 200:
            if time.perf_counter() - started > limit:
                raise TimeoutError(f"/readyz still {status} after {limit:.0f} s")
            await asyncio.sleep(0.5)
    finally:
        await connection.close()
    return time.perf_counter() - started


async def queries(ctx: Context, port: int, var_dir: Path,
                  concurrencies: tuple[int, ...] = (1, 8)) -> dict[str, list[dict]]:
    """Each query alone (1 connection: unloaded latency) and under load (closed loop on
    ``concurrencies[-1]`` connections); labels end with the concurrency."""
    from gateway.queries import _encode_cursor
    from services.kernel.db import create_engine

    engine = create_engine(f"sqlite+aiosqlite:///{var_dir}/readmodel.db")
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text(
            "SELECT cadre_id, name, unit_id FROM rm_cadres"))).all()
    await engine.dispose()
    rng = random.Random(3)
    sample = rng.sample(rows, min(len(rows), 20_000))
    units = sorted({r.unit_id for r in rows})
    ctx.notes.append(f"query data: {len(rows):,} cadres in {len(units):,} units")
    waited = await wait_ready(port)
    ctx.notes.append(f"queries: platform ready (projections and consumers caught up) "
                     f"{waited:.0f} s after start")
    year = time.localtime().tm_year

    async def roster(connection: Connection, n: int) -> int:
        row = sample[n % len(sample)]
        cursor = _encode_cursor([row.name, row.cadre_id])
        return (await connection.request("GET", f"/api/v1/cadres?limit=50&cursor={cursor}"))[0]

    async def unit_roster(connection: Connection, n: int) -> int:
        unit_id = units[n % len(units)]
        return (await connection.request("GET", f"/api/v1/cadres?limit=50&unit_id={unit_id}"))[0]

    async def cadre(connection: Connection, n: int) -> int:
        return (await connection.request("GET", f"/api/v1/cadres/{sample[n % len(sample)][0]}"))[0]

    async def cadre_360(connection: Connection, n: int) -> int:
        cadre_id = sample[n % len(sample)][0]
        return (await connection.request("GET", f"/api/v1/cadres/{cadre_id}/360?year={year}"))[0]

    async def unit(connection: Connection, n: int) -> int:
        return (await connection.request("GET", f"/api/v1/units/{units[n % len(units)]}"))[0]

    async def dashboard_varied(connection: Connection, n: int) -> int:
        # the history's recruitments are effective in 2020: every period includes them all
        start = f"2020-01-{1 + n % 28:02d}"
        end = f"{2021 + n // 28 % 400}-12-31"
        return (await connection.request("GET", f"/api/v1/dashboard?from={start}&to={end}"))[0]

    async def dashboard_same(connection: Connection, n: int) -> int:
        return (await connection.request("GET", "/api/v1/dashboard?from=2020-01-01&to=2020-12-31"))[0]

    results: dict[str, list[dict]] = {}
    for label, request in (("roster page (cursor, 50)", roster),
                           ("unit roster (50)", unit_roster),
                           ("cadre view", cadre), ("cadre 360", cadre_360), ("unit view", unit),
                           ("dashboard, a new period each request", dashboard_varied),
                           ("dashboard, the same period again", dashboard_same)):
        for concurrency in concurrencies:
            runs = []
            for run in range(ctx.runs):
                result = await closed_loop(connector(port), request, concurrency=concurrency,
                                           seconds=ctx.seconds, start=run * 1_000_000)
                if result.errors:
                    ctx.notes.append(f"{label}: {result.errors} errors {result.statuses}")
                runs.append(summary(result.latencies, result.rate))
            plural = "s" if concurrency > 1 else ""
            results[f"{label}, {concurrency} connection{plural}"] = runs
    return results


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


# --- diagnostics: where the write path's time goes ------------------------------------------


async def sqlite_round_trips(ctx: Context, count: int = 2000) -> dict[str, dict]:
    """Appends and single-row reads on a SQLite store, through aiosqlite's worker thread (as
    the platform runs) and with the statements run in the event loop's thread."""
    from contracts.personnel import Establishment, UnitRegistered
    from services.kernel.db import create_engine
    from services.kernel.eventstore import CommandMetadata, EventStore, StreamWrite

    figures = {}
    establishment = Establishment(administrative=1, institution=1)
    for label, inline in (("aiosqlite worker thread", False), ("inline in the loop", True)):
        path = ctx.workdir / f"roundtrip-{int(inline)}.db"
        store = EventStore(create_engine(f"sqlite+aiosqlite:///{path}", inline_sqlite=inline),
                           service="personnel")
        await store.create_schema()
        started = time.perf_counter()
        for _ in range(count):
            unit = str(uuid.uuid4())
            await store.append([StreamWrite(f"unit-{unit}", "unit", 0, [UnitRegistered(
                unit_id=unit, name="x", kind="township", establishment=establishment)])],
                CommandMetadata("bench", "c", "c"))
        appends = count / (time.perf_counter() - started)
        started = time.perf_counter()
        for n in range(count):
            await store.stream_version(f"unit-{n}")
        reads = count / (time.perf_counter() - started)
        await store.engine.dispose()
        figures[label] = {"appends": appends, "reads": reads}
    import sqlite3

    connection = sqlite3.connect(ctx.workdir / "roundtrip-1.db")
    started = time.perf_counter()
    for n in range(count):
        connection.execute("SELECT max(version) FROM events WHERE stream_id = ?",
                           (f"unit-{n}",)).fetchone()
    figures["sqlite3 module directly (reference)"] = {
        "reads": count / (time.perf_counter() - started)}
    connection.close()
    return figures
