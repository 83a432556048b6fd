"""The distributed pipeline under fault: a PostgreSQL event store, the relay (in-process), a
real Kafka broker, the projector (its own `zugong projector` process) and a PostgreSQL read
model — with a load generator and the checks every fault test ends with:

- every accepted append is in the store, and every stored event is in the read model exactly
  once (each slot-occupied event adds one to its unit's counter, so a double apply over-counts
  and a loss under-counts; every stream's applied version equals its head);
- no event parked (unless the test parks one on purpose);
- the read model equals a fresh rebuild from the Kafka topics (``zugong projections rebuild
  --dry-run``), and ``zugong store verify`` finds every stored event on its topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from contracts.personnel import Establishment, EstablishmentSlotOccupied, UnitRegistered
from gateway.readmodels.personnel import units as units_table
from services.kernel.db import create_engine
from services.kernel.eventstore import CommandMetadata, EventStore, StreamWrite, events_table
from services.kernel.kafka_admin import ensure_topics
from services.kernel.metrics import Metrics
from services.kernel.relay import Relay
from services.kernel.settings import Settings
from services.kernel.subscription import dead_letters_table, projection_streams_table
from tests.support.processes import ZugongProcess
from zugong.ops.rebuild import rebuild
from zugong.ops.verify import verify_stores

SLOT = EstablishmentSlotOccupied.event_type
SECRET = "fault-test-secret-0123456789abcdef0123"
KEY = "fault-test-personal-data-key-0123456789"


def meta() -> CommandMetadata:
    return CommandMetadata(actor="load", correlation_id=str(uuid.uuid4()),
                           causation_id=str(uuid.uuid4()))


async def eventually(predicate: Callable[[], Awaitable[bool]], seconds: float, what: str,
                     diagnostics: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if await predicate():
                return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}\n{diagnostics()}")


class Pipeline:
    def __init__(self, broker, pg, tmp_path: Path, *, partitions: int = 3,
                 batch_size: int = 200, metrics_port: int | None = None) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.broker, self.pg, self.tmp_path = broker, pg, tmp_path
        store_db, read_db = f"store_{suffix}", f"read_{suffix}"
        pg.create_database(store_db)
        pg.create_database(read_db)
        kafka = {"bootstrap_servers": broker.bootstrap_servers, "partitions": partitions,
                 "topic_prefix": f"f{suffix}", "projector_group": f"projector-{suffix}",
                 "session_timeout": 2.0}
        database = {"personnel_url": pg.url(store_db), "readmodel_url": pg.url(read_db)}
        self.settings = Settings(environment="test", auth={"jwt_secret": SECRET},
                                 personal_data_key=KEY, var_dir=tmp_path / "var",
                                 kafka=kafka, database=database)
        self.env = {
            "ZUGONG_ENVIRONMENT": "test", "ZUGONG_AUTH__JWT_SECRET": SECRET,
            "ZUGONG_PERSONAL_DATA_KEY": KEY, "ZUGONG_VAR_DIR": str(tmp_path / "var"),
            "ZUGONG_LOG_LEVEL": "INFO",
            **({"ZUGONG_METRICS_PORT": str(metrics_port)} if metrics_port else {}),
            **{f"ZUGONG_KAFKA__{k.upper()}": str(v) for k, v in kafka.items()},
            **{f"ZUGONG_DATABASE__{k.upper()}": v for k, v in database.items()},
        }
        self.store = EventStore(create_engine(database["personnel_url"]), service="personnel")
        self.read_engine = create_engine(database["readmodel_url"])
        self.batch_size = batch_size
        self.versions: dict[str, int] = {}  # unit id -> stream version
        self.accepted: list[tuple[str, int]] = []
        self.rejected = 0
        self.relay: Relay | None = None
        self._relay_task: asyncio.Task | None = None
        self._relay_stop = asyncio.Event()
        self.projector: ZugongProcess | None = None
        self._projectors = itertools.count()

    # -- processes --------------------------------------------------------------------------

    async def start(self, *, units: int = 20, relay_class: type[Relay] = Relay) -> Pipeline:
        await self.store.create_schema()
        await ensure_topics(self.broker.bootstrap_servers, self.settings.all_topics(),
                            self.settings.kafka.partitions)
        await self.register_units(units)
        self.start_relay(relay_class)
        self.start_projector()
        return self

    async def wait_projecting(self, seconds: float = 60) -> None:
        """Until the projector has applied something new (it is up and consuming)."""
        before = await self.applied_streams()
        await eventually(lambda: self.progressed(before), seconds, "projector progress",
                         self.logs)

    async def applied_streams(self) -> dict[str, int]:
        try:
            return (await self.read_state())[1]
        except Exception:  # the projector has not created its tables yet
            return {}

    async def progressed(self, before: dict[str, int]) -> bool:
        now = await self.applied_streams()
        return any(v > before.get(s, 0) for s, v in now.items())

    def start_relay(self, relay_class: type[Relay] = Relay) -> Relay:
        self.relay = relay_class(
            "personnel", self.store, bootstrap_servers=self.broker.bootstrap_servers,
            topic_for=lambda kind: self.settings.topic("personnel", kind), metrics=Metrics(),
            batch_size=self.batch_size)
        self._relay_stop = asyncio.Event()
        self._relay_task = asyncio.create_task(self.relay.run(self._relay_stop))
        return self.relay

    async def kill_relay(self) -> None:
        """The relay process dies: no cleanup runs past the point it reached."""
        if self._relay_task is not None:
            self._relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._relay_task
            self._relay_task = None

    def start_projector(self) -> ZugongProcess:
        name = f"projector{next(self._projectors)}"
        self.projector = ZugongProcess(name, ["projector"], self.env, self.tmp_path).start()
        return self.projector

    def kill_projector(self) -> None:
        if self.projector is not None:
            self.projector.kill()

    def projector_metrics(self) -> dict[tuple[str, tuple], float]:
        """The projector's /metrics: (sample name, sorted labels) -> value."""
        import httpx
        from prometheus_client.parser import text_string_to_metric_families

        port = self.env["ZUGONG_METRICS_PORT"]
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    def logs(self) -> str:
        return self.projector.log_tail(60) if self.projector else ""

    async def close(self) -> None:
        self._relay_stop.set()
        if self._relay_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._relay_task, 20)
        if self.projector is not None:
            self.projector.stop()
        await self.store.engine.dispose()
        await self.read_engine.dispose()

    # -- load -------------------------------------------------------------------------------

    async def register_units(self, count: int) -> None:
        for _ in range(count):
            unit_id = str(uuid.uuid4())
            event = UnitRegistered(unit_id=unit_id, name=f"单位{unit_id[:6]}", kind="institution",
                                   establishment=Establishment(administrative=0,
                                                               institution=100_000))
            await self.store.append([StreamWrite(f"unit-{unit_id}", "unit", 0, [event])], meta())
            self.versions[unit_id] = 1
            self.accepted.append((f"unit-{unit_id}", 1))

    async def occupy(self, unit_id: str, count: int = 1, category: str = "institution_staff"
                     ) -> bool:
        """One command: ``count`` slot-occupied events on a unit. False when not accepted."""
        version = self.versions[unit_id]
        events = [EstablishmentSlotOccupied.model_construct(
            unit_id=unit_id, cadre_id=f"c{version + n}", category=category,
            effective_on=date(2024, 1, 1)) for n in range(count)]
        try:
            result = await self.store.append(
                [StreamWrite(f"unit-{unit_id}", "unit", version, events)], meta())
        except Exception:
            self.rejected += 1
            # the outcome of an append whose connection broke is unknown: re-read the head
            with contextlib.suppress(Exception):
                self.versions[unit_id] = await self.store.stream_version(f"unit-{unit_id}")
            return False
        self.versions[unit_id] = result.versions[f"unit-{unit_id}"]
        self.accepted.append((f"unit-{unit_id}", self.versions[unit_id]))
        return True

    async def load(self, stop: asyncio.Event, *, pause: float = 0.005) -> None:
        """Commands on random units until ``stop``; failures (database down) are tolerated."""
        rng = random.Random(7)
        units = list(self.versions)
        while not stop.is_set():
            if not await self.occupy(rng.choice(units), rng.randint(1, 3)):
                await asyncio.sleep(0.1)
            await asyncio.sleep(pause)

    @contextlib.asynccontextmanager
    async def loaded(self, pause: float = 0.005):
        stop = asyncio.Event()
        task = asyncio.create_task(self.load(stop, pause=pause))
        try:
            yield
        finally:
            stop.set()
            await task

    # -- state and checks ---------------------------------------------------------------------

    async def stored_state(self) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
        """From the store: unit id -> (slot events, head version); stream -> head version."""
        query = sa.select(
            events_table.c.stream_id,
            sa.func.count().filter(events_table.c.type.like(f"{SLOT}%")),
            sa.func.max(events_table.c.version)).group_by(events_table.c.stream_id)
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        units = {s.removeprefix("unit-"): (n, v) for s, n, v in rows if s.startswith("unit-")}
        return units, {s: v for s, _, v in rows}

    async def read_state(self) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
        async with self.read_engine.connect() as conn:
            units = {r.unit_id: (r.occupied_institution, r.version) for r in await conn.execute(
                sa.select(units_table.c.unit_id, units_table.c.occupied_institution,
                          units_table.c.version))}
            streams = dict((await conn.execute(sa.select(
                projection_streams_table.c.stream_id, projection_streams_table.c.version).where(
                projection_streams_table.c.projection == "personnel"))).all())
        return units, streams

    async def converged(self) -> bool:
        if self.relay is not None and await self.relay.position() < await self.store.head_position():
            return False
        return await self.read_state() == await self.stored_state()

    async def wait_converged(self, seconds: float = 90) -> None:
        await eventually(self.converged, seconds, "the read model to catch up with the store",
                         self.logs)

    async def dead_letters(self) -> list:
        async with self.read_engine.connect() as conn:
            return (await conn.execute(sa.select(dead_letters_table).order_by(
                dead_letters_table.c.id))).all()

    async def check(self, *, parked: int = 0) -> None:
        """The end of every fault test (see the module docstring)."""
        await self.wait_converged()
        await asyncio.sleep(1.0)  # duplicates still in flight must change nothing
        stored_units, stored_streams = await self.stored_state()
        read_units, read_streams = await self.read_state()
        assert read_units == stored_units, _diff(stored_units, read_units)
        assert read_streams == stored_streams
        for stream, version in self.accepted:
            assert stored_streams[stream] >= version, (stream, version)
        letters = [r for r in await self.dead_letters() if r.status == "parked"]
        assert len(letters) == parked, letters

        [report] = await rebuild(self.settings, ["personnel"], swap=False,
                                 allow_dead_letters=bool(parked))
        assert not report.problems, report.problems
        assert report.differences == {}, report.differences
        [verified] = await verify_stores(self.settings, "personnel")
        assert verified.ok, verified.checks
        assert {c.name: c.status for c in verified.checks}["topics"] == "ok"


def _diff(expected: dict, actual: dict) -> str:
    wrong = {k: (expected.get(k), actual.get(k)) for k in set(expected) | set(actual)
             if expected.get(k) != actual.get(k)}
    return f"{len(wrong)} units differ (store, read model): {dict(list(wrong.items())[:5])}"
