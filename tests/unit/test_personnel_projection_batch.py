"""apply_batch leaves exactly the rows that ``apply`` on each event would (personnel, audit).

Random personnel histories (every event type, a few units, cadres, reserve entries and posts,
business dates that tie and go backwards, events of a unit that was never registered) are fed
through two runners into two read models: one whose projection only has ``apply`` (event by
event), one with the real projection in random batch splits. Every rm_ table, the stream
versions and the dead letters must be equal, row by row.
"""

from __future__ import annotations

import contextlib
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import personnel as events_module
from contracts.envelope import EventEnvelope
from contracts.registry import DomainEvent
from gateway.readmodels import audit
from gateway.readmodels.personnel import PersonnelProjection, metadata
from services.kernel.db import create_engine
from services.kernel.metrics import Metrics
from services.kernel.subscription import (
    Delivery,
    SubscriptionRunner,
    dead_letters_table,
    projection_streams_table,
)
from zugong.ops.rebuild import diff_tables

SOURCE = "store:personnel"
UNITS = ["u1", "u2", "u3"]
MISSING_UNIT = "u-never-registered"
CADRES = ["c1", "c2", "c3", "c4"]
DAYS = [date(2020, 1, 1) + timedelta(days=d) for d in range(0, 12, 3)]

EVENT_TYPES: list[type[DomainEvent]] = [
    getattr(events_module, name) for name in events_module.__all__
    if isinstance(getattr(events_module, name), type)
    and issubclass(getattr(events_module, name), DomainEvent)]
UNIT_TYPES = [t for t in EVENT_TYPES if t.stream_kind == "unit"
              and t is not events_module.UnitRegistered]
CADRE_TYPES = [t for t in EVENT_TYPES if t.stream_kind == "cadre"]


class PerEventProjection:
    """A projection without ``apply_batch``: the runner applies event by event."""

    def __init__(self, inner: Any = None) -> None:
        self._inner = inner or PersonnelProjection()
        self.name, self.metadata = self._inner.name, self._inner.metadata

    def handles(self, event_type: str) -> bool:
        return self._inner.handles(event_type)

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        await self._inner.apply(conn, event)


def _instance(schema: dict, defs: dict, rng: random.Random, name: str = "") -> Any:
    """A random value of a (pydantic-generated) JSON schema, small pools for the ids."""
    if "$ref" in schema:
        return _instance(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, rng, name)
    if "anyOf" in schema:
        options = schema["anyOf"]
        return _instance(rng.choice(options), defs, rng, name)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "null":
        return None
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        high = schema.get("maximum", schema.get("exclusiveMaximum", 21) - 1)
        return rng.randint(max(low, 0), min(high, low + 20 if low > 0 else 20))
    if kind == "string":
        if schema.get("format") == "date":
            return rng.choice(DAYS).isoformat()
        if schema.get("format") == "date-time":
            return datetime(2020, 1, 1, tzinfo=UTC).isoformat()
        pools = {"unit_id": UNITS, "to_unit_id": UNITS, "from_unit_id": UNITS,
                 "entry_id": ["e1", "e2"], "post_id": ["P1", "P2", "P3"]}
        if name in pools:
            return rng.choice(pools[name])
        low, high = schema.get("minLength", 1), schema.get("maxLength", 8)
        return "".join(rng.choice("甲乙丙abc") for _ in range(rng.randint(low, min(high, low + 6))))
    if kind == "array":
        low = schema.get("minItems", 0)
        high = schema.get("maxItems", low + 2)
        return [_instance(schema["items"], defs, rng, name) for _ in range(rng.randint(low, high))]
    if kind == "object" and "properties" in schema:
        required = set(schema.get("required", ()))
        return {key: _instance(sub, defs, rng, key) for key, sub in schema["properties"].items()
                if key in required or rng.random() < 0.6}
    if kind == "object":
        keys = schema.get("propertyNames", {}).get("enum", ["k1", "k2"])
        return {k: _instance(schema["additionalProperties"], defs, rng, name)
                for k in rng.sample(keys, rng.randint(0, min(3, len(keys))))}
    raise AssertionError(f"schema not covered by the generator: {schema}")


def _event(model: type[DomainEvent], rng: random.Random, **fixed: Any) -> DomainEvent | None:
    schema = model.model_json_schema()
    for _ in range(20):
        data = {**_instance(schema, schema.get("$defs", {}), rng), **fixed}
        try:
            return model.model_validate(data)
        except ValueError:
            continue
    return None


def history(seed: int, size: int = 120) -> list[Delivery]:
    rng = random.Random(seed)
    versions: dict[str, int] = {}
    out: list[Delivery] = []
    registered: set[str] = set()
    while len(out) < size:
        roll = rng.random()
        if roll < 0.45:
            unit = MISSING_UNIT if rng.random() < 0.03 else rng.choice(UNITS)
            first = unit not in registered and unit != MISSING_UNIT and rng.random() < 0.95
            model = events_module.UnitRegistered if first \
                else rng.choice([*UNIT_TYPES, events_module.UnitRegistered])
            if unit == MISSING_UNIT and model is events_module.UnitRegistered:
                continue
            data = _event(model, rng, unit_id=unit)
            if data is None:
                continue
            if model is events_module.UnitRegistered:
                registered.add(unit)
            stream, subject = f"unit-{unit}", f"unit/{unit}"
            payload = data.model_dump(mode="json")
        else:
            cadre = rng.choice(CADRES)
            model = rng.choice([events_module.CadreRecruited, events_module.CadreRegistered]) \
                if f"cadre-{cadre}" not in versions and rng.random() < 0.8 \
                else rng.choice(CADRE_TYPES)
            data = _event(model, rng, cadre_id=cadre)
            if data is None:
                continue
            stream, subject = f"cadre-{cadre}", f"cadre/{cadre}"
            payload = data.model_dump(mode="json")
            if rng.random() < 0.02:  # poison: a valid envelope, data the contract rejects
                payload = {"cadre_id": cadre}
        version = versions[stream] = versions.get(stream, 0) + 1
        position = len(out) + 1
        out.append(Delivery(SOURCE, position, EventEnvelope(
            id=str(uuid.uuid4()), source="/zugong/personnel", type=data.wire_type(),
            time=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=position),
            subject=subject, streamid=stream, streamversion=version, position=position,
            schemaversion=1, correlationid="c", causationid="c", actor="test",
            data=payload)))
    return out


def splits(deliveries: list[Delivery], rng: random.Random) -> list[list[Delivery]]:
    batches, start = [], 0
    while start < len(deliveries):
        size = rng.choice([1, 2, 3, 5, 8, 13, 40, 200])
        batches.append(deliveries[start:start + size])
        start += size
    return batches


@contextlib.asynccontextmanager
async def applied_both_ways(tmp_path, per_event, batched_projection, deliveries: list[Delivery],
                            seed: int, rng: random.Random, *, redeliver: float = 0.0):
    """The same history applied event by event (in one random split) and in batches (in
    another, each batch redelivered with probability ``redeliver``); yields the two engines."""
    engines = [create_engine(f"sqlite+aiosqlite:///{tmp_path / name}.db")
               for name in ("single", "batched")]
    try:
        single = SubscriptionRunner(per_event, engines[0], Metrics())
        batched = SubscriptionRunner(batched_projection, engines[1], Metrics())
        for runner in (single, batched):
            await runner.create_schema()
        for batch in splits(deliveries, random.Random(seed)):
            await single.handle(batch)
        for batch in splits(deliveries, rng):
            await batched.handle(batch)
            if redeliver and rng.random() < redeliver:  # a redelivery changes nothing
                await batched.handle(batch)
        yield engines
    finally:
        for engine in engines:
            await engine.dispose()


async def _rows(engine, table: sa.Table, skip: tuple[str, ...] = ()) -> list[tuple]:
    columns = [c for c in table.columns if c.name not in skip]
    async with engine.connect() as conn:
        return sorted(tuple(map(repr, r)) for r in await conn.execute(sa.select(*columns)))


@pytest.mark.parametrize("seed", range(24))
async def test_batches_leave_the_same_rows_as_event_by_event(tmp_path, seed: int) -> None:
    deliveries = history(seed)
    rng = random.Random(1000 + seed)
    async with applied_both_ways(tmp_path, PerEventProjection(), PersonnelProjection(),
                                 deliveries, seed, rng, redeliver=0.2) as engines:
        assert await diff_tables(engines[0], engines[1], metadata) == {}
        for table in metadata.sorted_tables:
            assert await _rows(engines[0], table) == await _rows(engines[1], table), table.name
        assert await _rows(engines[0], projection_streams_table) == \
            await _rows(engines[1], projection_streams_table)
        letters = await _rows(engines[0], dead_letters_table, skip=("id", "parked_at"))
        assert letters == await _rows(engines[1], dead_letters_table, skip=("id", "parked_at"))


def test_the_histories_cover_every_event_type_and_poison_events() -> None:
    seen: set[str] = set()
    streams: set[str] = set()
    undecodable = 0
    for seed in range(24):
        for delivery in history(seed):
            seen.add(delivery.envelope.type)
            streams.add(delivery.envelope.streamid)
            undecodable += delivery.envelope.data == {"cadre_id": delivery.envelope.streamid[6:]}
    assert seen == {t.wire_type() for t in EVENT_TYPES}
    assert f"unit-{MISSING_UNIT}" in streams
    assert undecodable


async def test_a_subclass_that_changes_apply_is_applied_event_by_event(tmp_path) -> None:
    """apply_batch mirrors PersonnelProjection.apply only: an apply with side effects added
    by a subclass must still run for every event."""
    sent: list[int] = []

    class Notifying(PersonnelProjection):
        async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
            await super().apply(conn, event)
            sent.append(event.position)

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'read.db'}")
    try:
        runner = SubscriptionRunner(Notifying(), engine, Metrics())
        await runner.create_schema()
        applied = await runner.handle(history(3)[:40])
        assert applied and len(sent) == applied
    finally:
        await engine.dispose()


@pytest.mark.parametrize("seed", range(6))
async def test_audit_batches_leave_the_same_rows_as_event_by_event(tmp_path, seed: int) -> None:
    rng = random.Random(seed)
    deliveries = history(seed)
    for n, delivery in enumerate(deliveries):  # the same event id again, on another stream
        if n > 10 and rng.random() < 0.05:
            deliveries[n] = Delivery(delivery.source, delivery.position, delivery.envelope.model_copy(
                update={"id": deliveries[rng.randrange(n)].envelope.id}))
    async with applied_both_ways(tmp_path, PerEventProjection(audit.AuditProjection()),
                                 audit.AuditProjection(), deliveries, seed, rng) as engines:
        rows = await _rows(engines[0], audit.audit_events)
        assert len(rows) < len(deliveries)
        assert rows == await _rows(engines[1], audit.audit_events)
