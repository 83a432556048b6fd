"""Relay → real Kafka broker → faust projector (its own process) → read model on PostgreSQL,
with the projector SIGKILLed mid-stream and the relay re-publishing everything: every event is
in the read model exactly once, none missing."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import sqlalchemy as sa

from contracts.personnel import Establishment, EstablishmentSlotOccupied, UnitRegistered
from gateway.readmodels.personnel import units
from services.kernel.db import create_engine
from services.kernel.eventstore import CommandMetadata, EventStore, StreamWrite
from services.kernel.metrics import Metrics
from services.kernel.relay import Relay, relay_checkpoint_table
from services.kernel.subscription import projection_streams_table
from tests.support.processes import ZugongProcess

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

UNITS = 60
OCCUPATIONS = 12  # slot-occupied events per unit: a double-applied one over-counts


def meta() -> CommandMetadata:
    return CommandMetadata(actor="test", correlation_id=str(uuid.uuid4()),
                           causation_id=str(uuid.uuid4()))


async def write_units(store: EventStore, unit_ids: list[str], start: int, count: int) -> None:
    for unit_id in unit_ids:
        events = []
        if start == 0:
            events.append(UnitRegistered(unit_id=unit_id, name=f"单位{unit_id[:4]}",
                                         kind="institution", effective_on=None,
                                         establishment=Establishment(administrative=0,
                                                                     institution=1000)))
        events += [EstablishmentSlotOccupied(unit_id=unit_id, cadre_id=f"c{n}",
                                             category="institution_staff",
                                             effective_on="2024-01-01")
                   for n in range(start, start + count)]
        version = 0 if start == 0 else 1 + start
        await store.append([StreamWrite(f"unit-{unit_id}", "unit", version, events)], meta())


async def read_model_state(engine) -> dict[str, tuple[int, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(units.c.unit_id, units.c.occupied_institution,
                                            units.c.version))
        return {r.unit_id: (r.occupied_institution, r.version) for r in rows}


async def wait_for(predicate, seconds: float, what: str, diagnostics=lambda: ""):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{diagnostics()}")


async def test_relay_kafka_projector_exactly_once_through_kills(kafka_broker, postgres_server,
                                                                tmp_path):
    suffix = uuid.uuid4().hex[:8]
    store_db, read_db = f"store_{suffix}", f"read_{suffix}"
    postgres_server.create_database(store_db)
    postgres_server.create_database(read_db)
    store = EventStore(create_engine(postgres_server.url(store_db)), service="personnel")
    await store.create_schema()
    read_engine = create_engine(postgres_server.url(read_db))
    topic_prefix = f"t{suffix}"
    env = {
        "ZUGONG_ENVIRONMENT": "test", "ZUGONG_AUTH__JWT_SECRET": "x" * 40,
        "ZUGONG_PERSONAL_DATA_KEY": "y" * 40, "ZUGONG_VAR_DIR": str(tmp_path / "var"),
        "ZUGONG_KAFKA__BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "ZUGONG_KAFKA__PARTITIONS": "3",
        "ZUGONG_KAFKA__PROJECTOR_GROUP": f"projector-{suffix}",
        "ZUGONG_KAFKA__TOPIC_PREFIX": topic_prefix,
        "ZUGONG_DATABASE__READMODEL_URL": postgres_server.url(read_db),
        "ZUGONG_LOG_LEVEL": "INFO",
    }
    from services.kernel.settings import Settings
    settings = Settings(environment="test", auth={"jwt_secret": "x" * 40},
                        personal_data_key="y" * 40, kafka={"topic_prefix": topic_prefix,
                                                           "bootstrap_servers": "x"})
    relay = Relay("personnel", store, bootstrap_servers=kafka_broker.bootstrap_servers,
                  topic_for=lambda kind: settings.topic("personnel", kind), metrics=Metrics(),
                  batch_size=100)
    from services.kernel.kafka_admin import ensure_topics
    await ensure_topics(kafka_broker.bootstrap_servers, settings.all_topics(), 3)

    unit_ids = [str(uuid.uuid4()) for _ in range(UNITS)]
    projector = ZugongProcess("projector", ["projector"], env, tmp_path).start()
    stop = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stop))
    try:
        await write_units(store, unit_ids, 0, 4)
        kills = 0
        for start in range(4, OCCUPATIONS, 4):
            # let the projector make some progress, then kill it mid-stream
            await wait_for(lambda: _some_progress(read_engine), 90, "projector progress",
                           projector.log_tail)
            await write_units(store, unit_ids, start, 4)
            await asyncio.sleep(0.3)
            projector.kill()
            kills += 1
            projector = ZugongProcess(f"projector{kills}", ["projector"], env, tmp_path).start()
        total_events = UNITS * (1 + OCCUPATIONS)
        await wait_for(lambda: _relayed(store, relay, total_events), 60, "relay caught up")

        # the relay "crashed" before recording its checkpoint: it publishes everything again
        async with store.engine.begin() as conn:
            await conn.execute(relay_checkpoint_table.update().values(position=0))
        await wait_for(lambda: _relayed(store, relay, total_events), 60, "relay re-published")

        expected = {u: (OCCUPATIONS, 1 + OCCUPATIONS) for u in unit_ids}
        await wait_for(lambda: _state_is(read_engine, expected), 120, "read model complete",
                       projector.log_tail)
        await asyncio.sleep(2)  # duplicates still in flight must change nothing
        assert await read_model_state(read_engine) == expected
        async with read_engine.connect() as conn:
            versions = dict((await conn.execute(sa.select(
                projection_streams_table.c.stream_id, projection_streams_table.c.version))).all())
        assert versions == {f"unit-{u}": 1 + OCCUPATIONS for u in unit_ids}
        assert kills >= 2
    finally:
        stop.set()
        await relay_task
        projector.stop()
        await store.engine.dispose()
        await read_engine.dispose()


async def _some_progress(engine) -> bool:
    try:
        return bool(await read_model_state(engine))
    except sa.exc.ProgrammingError:
        return False


async def _relayed(store: EventStore, relay: Relay, total: int) -> bool:
    return await relay.position() >= total and await store.head_position() == total


async def _state_is(engine, expected) -> bool:
    try:
        return await read_model_state(engine) == expected
    except sa.exc.ProgrammingError:
        return False
