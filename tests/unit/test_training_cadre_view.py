"""Training's own view of cadres, fed by personnel events through the SubscriptionRunner, and
what enrolment does while that view lags (SQLite files, no broker)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from pydantic import Field

from contracts.api.training import EnrolTrainee, ScheduleClass
from contracts.personnel import CadreRecruited, Establishment, UnitRegistered
from contracts.registry import DomainEvent
from services.kernel.db import create_engine
from services.kernel.errors import DomainRuleViolation
from services.kernel.eventstore import CommandMetadata, EventStore, StreamWrite
from services.kernel.metrics import Metrics
from services.kernel.personal_data import PersonalDataVault
from services.kernel.sources import StoreTailSource
from services.kernel.subscription import SubscriptionRunner, dead_letters_table
from services.training import handlers
from services.training.bootstrap import consumer_runners
from services.training.cadre_view import (
    CadreDirectory,
    CadreNotYetKnown,
    CadreReferenceView,
    known_cadres,
)
from services.training.handlers import TrainingDeps

VAULT = PersonalDataVault("unit-test-key")


class FutureCadreExchanged(DomainEvent):
    """A personnel event type training's code has never seen (not registered)."""

    event_type = "zugong.personnel.cadre_exchanged"
    stream_kind = "cadre"
    cadre_id: str = Field(description="-")
    from_unit_id: str = Field(description="-")
    to_unit_id: str = Field(description="-")
    effective_on: date = Field(description="-")


class FutureCadreDeparted(DomainEvent):
    event_type = "zugong.personnel.cadre_departed"
    stream_kind = "cadre"
    cadre_id: str = Field(description="-")
    reason: str = Field(description="-")
    effective_on: date = Field(description="-")


class FutureCadreNote(DomainEvent):
    """A malformed future event: no cadre id."""

    event_type = "zugong.personnel.cadre_noted"
    stream_kind = "cadre"
    note: str = Field(description="-")


def meta() -> CommandMetadata:
    return CommandMetadata(actor="test", correlation_id=str(uuid.uuid4()),
                           causation_id=str(uuid.uuid4()))


def recruited(cadre_id: str, name: str = "李娜", unit_id: str = "u1") -> CadreRecruited:
    return CadreRecruited(
        cadre_id=cadre_id, name=name, gender="female", birth_date=date(1990, 1, 1),
        national_id=VAULT.seal("national_id", "140624199001010020"), category="civil_servant",
        unit_id=unit_id, channel="exam_recruitment", effective_on=date(2024, 1, 2))


async def append(store: EventStore, stream_id: str, *events: DomainEvent, kind="cadre") -> None:
    version = await store.stream_version(stream_id)
    await store.append([StreamWrite(stream_id, kind, version, list(events))], meta())


@pytest.fixture
async def stores(tmp_path):
    personnel = EventStore(create_engine(f"sqlite+aiosqlite:///{tmp_path}/personnel.db"),
                           service="personnel")
    training = EventStore(create_engine(f"sqlite+aiosqlite:///{tmp_path}/training.db"),
                          service="training")
    for store in (personnel, training):
        await store.create_schema()
    yield personnel, training
    for store in (personnel, training):
        await store.engine.dispose()


async def view_rows(engine) -> dict[str, tuple]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(known_cadres).order_by(known_cadres.c.cadre_id))
        return {r.cadre_id: (r.name, r.unit_id, r.status, r.left_on, r.version) for r in rows}


async def test_view_follows_recruitment_exchange_and_departure_once_each(stores):
    personnel, training = stores
    [runner] = consumer_runners(training, Metrics())
    await runner.create_schema()
    source = StoreTailSource("personnel", personnel)
    await append(personnel, "unit-u1", UnitRegistered(
        unit_id="u1", name="组织部", kind="party_government_organ", effective_on=None,
        establishment=Establishment(administrative=5, institution=0)), kind="unit")
    await append(personnel, "cadre-a", recruited("a"))
    await append(personnel, "cadre-b", recruited("b", name="王强"))
    await source.catch_up(runner)
    assert await view_rows(training.engine) == {
        "a": ("李娜", "u1", "active", None, 1), "b": ("王强", "u1", "active", None, 1)}

    await append(personnel, "cadre-a", FutureCadreExchanged(
        cadre_id="a", from_unit_id="u1", to_unit_id="u2", effective_on=date(2024, 6, 1)))
    await append(personnel, "cadre-b", FutureCadreDeparted(
        cadre_id="b", reason="retired", effective_on=date(2024, 9, 30)))
    await source.catch_up(runner)
    expected = {"a": ("李娜", "u2", "active", None, 2),
                "b": ("王强", "u1", "departed", date(2024, 9, 30), 2)}
    assert await view_rows(training.engine) == expected

    # a redelivery (relay duplicate, restart) changes nothing
    everything = await personnel.read_all(0)
    from services.kernel.subscription import Delivery
    replay = [Delivery("kafka:zugong.personnel.cadre:0", n, e.to_envelope("personnel"))
              for n, e in enumerate(everything)]
    await runner.handle(replay)
    assert await view_rows(training.engine) == expected
    assert await runner.stream_version("cadre-a") == 2


async def test_a_future_event_about_an_unseen_cadre_makes_it_known(stores):
    personnel, training = stores
    runner = SubscriptionRunner(CadreReferenceView(), training.engine, Metrics())
    await runner.create_schema()
    await append(personnel, "cadre-x", FutureCadreExchanged(
        cadre_id="x", from_unit_id="u1", to_unit_id="u3", effective_on=date(2024, 6, 1)))
    await StoreTailSource("personnel", personnel).catch_up(runner)
    assert (await view_rows(training.engine))["x"][1:3] == ("u3", "active")


async def test_a_cadre_event_without_a_cadre_id_is_parked_and_the_rest_flows(stores):
    personnel, training = stores
    runner = SubscriptionRunner(CadreReferenceView(), training.engine, Metrics())
    await runner.create_schema()
    await append(personnel, "cadre-odd", FutureCadreNote(note="?"))
    await append(personnel, "cadre-a", recruited("a"))
    await StoreTailSource("personnel", personnel).catch_up(runner)
    assert set(await view_rows(training.engine)) == {"a"}
    async with training.engine.connect() as conn:
        parked = (await conn.execute(sa.select(dead_letters_table.c.type))).scalars().all()
    assert parked == ["zugong.personnel.cadre_noted.v1"]


# -- enrolment while the view lags ---------------------------------------------------------------

def class_body(**extra) -> ScheduleClass:
    return ScheduleClass(name="2024年进修班", kind="advanced", mode="offline",
                         starts_on=date(2024, 5, 6), ends_on=date(2024, 5, 17), planned_hours=40,
                         capacity=10, **extra)


async def test_enrolment_is_refused_retryably_until_the_view_has_the_cadre(stores):
    personnel, training = stores
    [runner] = consumer_runners(training, Metrics())
    await runner.create_schema()
    deps = TrainingDeps(store=training, cadres=CadreDirectory(training.engine),
                        today=lambda: date(2024, 12, 31))
    class_id = (await handlers.schedule_class(class_body(), meta(), deps)).id
    await append(personnel, "cadre-a", recruited("a"))  # recruited, not yet delivered
    head = await training.head_position()
    with pytest.raises(CadreNotYetKnown) as error:
        await handlers.enrol_trainee(class_id, EnrolTrainee(cadre_id="a"), meta(), deps)
    assert error.value.status == 409 and error.value.type_slug == "cadre-not-yet-known"
    assert error.value.errors[0]["code"] == "cadre_not_yet_known"
    assert "retry" in error.value.detail
    assert await training.head_position() == head

    await StoreTailSource("personnel", personnel).catch_up(runner)
    outcome = await handlers.enrol_trainee(class_id, EnrolTrainee(cadre_id="a"), meta(), deps)
    assert outcome.version == 2
    assert await training.head_position() == head + 2  # class and trainee streams


async def test_a_departed_cadre_cannot_join_a_class_starting_after_departure(stores):
    personnel, training = stores
    [runner] = consumer_runners(training, Metrics())
    await runner.create_schema()
    deps = TrainingDeps(store=training, cadres=CadreDirectory(training.engine),
                        today=lambda: date(2024, 12, 31))
    await append(personnel, "cadre-a", recruited("a"), FutureCadreDeparted(
        cadre_id="a", reason="retired", effective_on=date(2024, 5, 6)))
    await StoreTailSource("personnel", personnel).catch_up(runner)
    before = (await handlers.schedule_class(class_body(), meta(), deps)).id
    with pytest.raises(DomainRuleViolation) as error:
        await handlers.enrol_trainee(before, EnrolTrainee(cadre_id="a"), meta(), deps)
    assert error.value.errors[0]["code"] == "cadre_departed"
    earlier = await handlers.schedule_class(ScheduleClass(
        name="2024年主体班", kind="main_body", mode="offline", starts_on=date(2024, 3, 4),
        ends_on=date(2024, 3, 8), planned_hours=30, capacity=10), meta(), deps)
    assert (await handlers.enrol_trainee(earlier.id, EnrolTrainee(cadre_id="a"), meta(),
                                         deps)).version == 2
