"""Training's view of cadres follows personnel through Kafka, with no shared database:
personnel store (PostgreSQL) → relay → real broker → `zugong consume training` (a faust worker,
its own process) → the view in training's own database (PostgreSQL).

While the consumer is down the view lags: enrolling a cadre recruited meanwhile is refused
with the retryable 409, and accepted once the consumer is back. A relay that re-publishes
everything changes nothing in the view.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date

import httpx
import pytest
import sqlalchemy as sa
from pydantic import Field

from contracts.personnel import CadreRecruited
from contracts.registry import DomainEvent
from services.kernel.auth import TokenIssuer
from services.kernel.db import create_engine
from services.kernel.eventstore import CommandMetadata, EventStore, StreamWrite
from services.kernel.kafka_admin import ensure_topics
from services.kernel.metrics import Metrics
from services.kernel.personal_data import PersonalDataVault
from services.kernel.relay import Relay, relay_checkpoint_table
from services.kernel.settings import Settings
from services.kernel.subscription import projection_streams_table
from services.training import bootstrap as training_bootstrap
from services.training.cadre_view import known_cadres
from tests.support.processes import ZugongProcess

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

SECRET = "kafka-cadre-view-secret-0123456789abcdef"
VAULT = PersonalDataVault("kafka-cadre-view-personal-data-key")


class CadreDeparted(DomainEvent):
    """A departure as personnel may publish it (training applies it by convention)."""

    event_type = "zugong.personnel.cadre_departed"
    stream_kind = "cadre"
    cadre_id: str = Field(description="-")
    reason: str = Field(description="-")
    effective_on: date = Field(description="-")


def meta() -> CommandMetadata:
    return CommandMetadata(actor="test", correlation_id=str(uuid.uuid4()),
                           causation_id=str(uuid.uuid4()))


def recruited(n: int) -> CadreRecruited:
    return CadreRecruited(
        cadre_id=f"cadre-{n:03d}", name=f"干部{n:03d}", gender="male",
        birth_date=date(1988, 1, 1), national_id=VAULT.seal("national_id", f"14062419880101{n:03d}1"),
        category="civil_servant", unit_id="unit-1", channel="exam_recruitment",
        effective_on=date(2024, 3, 1))


async def recruit(store: EventStore, numbers: range) -> None:
    for n in numbers:
        await store.append([StreamWrite(f"cadre-cadre-{n:03d}", "cadre", 0, [recruited(n)])], meta())


async def view(engine) -> dict[str, tuple[str, str]]:
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(sa.select(known_cadres.c.cadre_id, known_cadres.c.status,
                                                known_cadres.c.name))
            return {r.cadre_id: (r.status, r.name) for r in rows}
    except sa.exc.ProgrammingError:
        return {}


async def wait_for(predicate, seconds: float, what: str, diagnostics=lambda: ""):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{diagnostics()}")


async def test_training_cadre_view_follows_personnel_through_kafka(kafka_broker, postgres_server,
                                                                   tmp_path):
    suffix = uuid.uuid4().hex[:8]
    personnel_db, training_db = f"personnel_{suffix}", f"training_{suffix}"
    for name in (personnel_db, training_db):
        postgres_server.create_database(name)
    topic_prefix = f"tv{suffix}"
    settings = Settings(environment="test", auth={"jwt_secret": SECRET},
                        personal_data_key="kafka-cadre-view-personal-data-key",
                        database={"training_url": postgres_server.url(training_db)},
                        kafka={"topic_prefix": topic_prefix,
                               "bootstrap_servers": kafka_broker.bootstrap_servers})
    env = {
        "ZUGONG_ENVIRONMENT": "test", "ZUGONG_AUTH__JWT_SECRET": SECRET,
        "ZUGONG_PERSONAL_DATA_KEY": "kafka-cadre-view-personal-data-key",
        "ZUGONG_VAR_DIR": str(tmp_path / "var"),
        "ZUGONG_KAFKA__BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "ZUGONG_KAFKA__PARTITIONS": "2", "ZUGONG_KAFKA__TOPIC_PREFIX": topic_prefix,
        "ZUGONG_KAFKA__PROJECTOR_GROUP": f"group-{suffix}",
        "ZUGONG_DATABASE__TRAINING_URL": postgres_server.url(training_db),
    }
    personnel = EventStore(create_engine(postgres_server.url(personnel_db)), service="personnel")
    await personnel.create_schema()
    await ensure_topics(kafka_broker.bootstrap_servers, settings.all_topics("personnel"), 2)
    relay = Relay("personnel", personnel, bootstrap_servers=kafka_broker.bootstrap_servers,
                  topic_for=lambda kind: settings.topic("personnel", kind), metrics=Metrics(),
                  batch_size=50)

    # the training service itself, in-process, on its own PostgreSQL database
    training_app = training_bootstrap.create_app(settings, metrics=Metrics())
    training_engine = create_engine(postgres_server.url(training_db))
    admin = {"Authorization": f"Bearer {TokenIssuer(SECRET).mint('t', 'admin')}"}
    stop = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stop))
    consumer = None
    async with training_app.router.lifespan_context(training_app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=training_app),
                                   base_url="http://training")
        try:
            cls = await client.post("/api/v1/training/classes", headers=admin, json={
                "name": "2024年进修班", "kind": "advanced", "mode": "offline",
                "starts_on": "2024-05-06", "ends_on": "2024-05-17", "planned_hours": 40,
                "capacity": 100})
            assert cls.status_code == 201, cls.text
            enrolments = f"/api/v1/training/classes/{cls.json()['id']}/enrolments"

            consumer = ZugongProcess("consumer", ["consume", "training"], env, tmp_path).start()
            await recruit(personnel, range(0, 40))
            await personnel.append([StreamWrite("cadre-cadre-003", "cadre", 1, [CadreDeparted(
                cadre_id="cadre-003", reason="retired", effective_on=date(2024, 4, 30))])], meta())
            expected = {f"cadre-{n:03d}": ("active", f"干部{n:03d}") for n in range(40)}
            expected["cadre-003"] = ("departed", "干部003")
            await wait_for(lambda: _equals(training_engine, expected), 120, "the view",
                           consumer.log_tail)
            assert (await client.post(enrolments, headers=admin,
                                      json={"cadre_id": "cadre-001"})).status_code == 201
            departed = await client.post(enrolments, headers=admin, json={"cadre_id": "cadre-003"})
            assert departed.status_code == 422 and "cadre_departed" in departed.text

            # the consumer goes down: recruitments published meanwhile are not known yet
            consumer.kill()
            await recruit(personnel, range(40, 50))
            await wait_for(lambda: _relayed(personnel, relay), 60, "relay caught up")
            late = await client.post(enrolments, headers={**admin, "Idempotency-Key": "late-45"},
                                     json={"cadre_id": "cadre-045"})
            assert late.status_code == 409, late.text
            assert late.headers["content-type"] == "application/problem+json"
            assert late.json()["type"].endswith("/cadre-not-yet-known")

            consumer = ZugongProcess("consumer2", ["consume", "training"], env, tmp_path).start()
            expected.update({f"cadre-{n:03d}": ("active", f"干部{n:03d}") for n in range(40, 50)})
            await wait_for(lambda: _equals(training_engine, expected), 120, "the view after restart",
                           consumer.log_tail)
            retried = await client.post(enrolments, headers={**admin, "Idempotency-Key": "late-45"},
                                        json={"cadre_id": "cadre-045"})
            assert retried.status_code == 201, retried.text

            # the relay re-publishes everything: the view and its versions do not change
            async with personnel.engine.begin() as conn:
                await conn.execute(relay_checkpoint_table.update().values(position=0))
            await wait_for(lambda: _relayed(personnel, relay), 60, "relay re-published")
            await asyncio.sleep(3)
            assert await view(training_engine) == expected
            async with training_engine.connect() as conn:
                versions = dict((await conn.execute(sa.select(
                    projection_streams_table.c.stream_id, projection_streams_table.c.version)
                    .where(projection_streams_table.c.projection == "training_cadre_view"))).all())
            assert versions == {f"cadre-cadre-{n:03d}": 2 if n == 3 else 1 for n in range(50)}
        finally:
            stop.set()
            await relay_task
            if consumer:
                consumer.stop()
            await client.aclose()
            await personnel.engine.dispose()
            await training_engine.dispose()


async def _equals(engine, expected) -> bool:
    return await view(engine) == expected


async def _relayed(store: EventStore, relay: Relay) -> bool:
    return await relay.position() >= await store.head_position()
