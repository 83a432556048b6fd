"""Consistency tokens and the aggregate repository."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import date

import pytest

from contracts.personnel import Establishment, EstablishmentAdjusted, UnitRegistered
from contracts.registry import registry
from services.kernel.aggregate import Repository
from services.kernel.commands import ConsistencyToken
from services.kernel.db import create_engine
from services.kernel.errors import ConcurrencyConflict, NotFound
from services.kernel.eventstore import CommandMetadata, EventStore, StreamWrite
from services.personnel.domain.unit import Unit

# --- ConsistencyToken --------------------------------------------------------------------------


@pytest.mark.parametrize(("stream_id", "version"), [
    ("unit-0f5c2a", 1),
    ("cadre-1a2b3c4d-0000-4000-8000-000000000000", 123_456),
    ("unit-with@sign", 7),         # an "@" in the stream id: the version is after the last one
    ("unit-县委组织部", 2),
    ("x", 2**40),
])
def test_token_round_trip(stream_id: str, version: int) -> None:
    token = ConsistencyToken(stream_id, version)
    encoded = token.encode()
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded  # header/URL safe
    assert ConsistencyToken.decode(encoded) == token


def _b64(text: bytes) -> str:
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


@pytest.mark.parametrize("garbage", [
    "",
    "!!!!",
    "not a token",
    _b64(b"unit-abc"),                 # no version
    _b64(b"unit-abc@"),                # empty version
    _b64(b"unit-abc@seven"),           # not a number
    _b64(b"unit-abc@1.5"),
    _b64(b"\xff\xfe@3"),               # not UTF-8
    _b64(b"@3"),                       # no stream
    _b64(b"unit-abc@0"),               # no command produces version 0
    _b64(b"unit-abc@-4"),              # nor a negative one
    _b64(b"unit-abc@ 4"),              # not the canonical form this platform issues
    _b64(b"unit-abc@+4"),
    _b64(b"unit-abc@4_000"),
])
def test_garbage_tokens_are_rejected(garbage: str) -> None:
    with pytest.raises(ValueError, match="not a consistency token"):
        ConsistencyToken.decode(garbage)


# --- Repository --------------------------------------------------------------------------------


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[EventStore]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'events.db'}")
    event_store = EventStore(engine, service="personnel")
    await event_store.create_schema()
    try:
        yield event_store
    finally:
        await engine.dispose()


async def test_loading_an_unknown_stream_gives_a_new_aggregate(store: EventStore) -> None:
    repository = Repository(store, Unit, registry)
    unit = await repository.load("nobody")
    assert isinstance(unit, Unit)
    assert (unit.id, unit.stream_id) == ("nobody", "unit-nobody")
    assert unit.version == unit.loaded_version == 0
    assert not unit.exists
    assert unit.pending == []


async def test_getting_an_unknown_aggregate_is_not_found(store: EventStore) -> None:
    repository = Repository(store, Unit, registry)
    with pytest.raises(NotFound, match="unit nobody does not exist") as raised:
        await repository.get("nobody")
    assert raised.value.status == 404
    with pytest.raises(NotFound, match=r"^单位 nobody does not exist$"):
        await repository.get("nobody", what="单位")


async def test_loading_replays_the_stream_and_saving_expects_the_loaded_version(
    store: EventStore,
) -> None:
    repository = Repository(store, Unit, registry)
    before = Establishment(administrative=5, institution=1)
    after = Establishment(administrative=8, institution=1)
    await store.append([StreamWrite("unit-u1", "unit", 0, [
        UnitRegistered(unit_id="u1", name="乡政府", kind="township", establishment=before,
                       effective_on=date(2001, 1, 1)),
        EstablishmentAdjusted(unit_id="u1", establishment=after, previous=before,
                              effective_on=date(2020, 1, 1)),
    ])], CommandMetadata("tester", "corr", "cause"))

    unit = await repository.get("u1")
    assert unit.exists and (unit.version, unit.loaded_version) == (2, 2)
    assert (unit.name, unit.establishment, unit.established_on) == (
        "乡政府", after, date(2001, 1, 1))
    assert unit.pending == []

    unit.occupy_slot("c1", "civil_servant", date(2024, 1, 1))
    write = unit.to_write()
    assert (write.stream_id, write.stream_type, write.expected_version) == ("unit-u1", "unit", 2)
    assert unit.version == 3 and len(write.events) == 1
    await store.append([write], CommandMetadata("tester", "corr", "cause"))

    reloaded = await repository.load("u1")
    assert (reloaded.version, reloaded.loaded_version) == (3, 3)
    assert reloaded.occupied == {"administrative": 1, "institution": 0}


async def test_a_new_aggregate_is_not_read_and_cannot_overwrite_a_stream(store: EventStore) -> None:
    repository = Repository(store, Unit, registry)
    establishment = Establishment(administrative=5, institution=1)
    fresh = repository.new("u2")
    assert (fresh.id, fresh.version, fresh.loaded_version, fresh.pending) == ("u2", 0, 0, [])
    fresh.register("乡政府", "township", establishment, date(2001, 1, 1))
    await store.append([fresh.to_write()], CommandMetadata("tester", "corr", "cause"))
    assert (await repository.get("u2")).name == "乡政府"

    again = repository.new("u2")  # the id exists after all: the append fails on the version
    again.register("另一个", "township", establishment, date(2002, 1, 1))
    with pytest.raises(ConcurrencyConflict):
        await store.append([again.to_write()], CommandMetadata("tester", "corr", "cause"))
    assert (await repository.get("u2")).name == "乡政府"
