"""Bulk history for the rebuild, query and pipeline benchmarks, written straight into a
store's events table (the same rows `EventStore.append` writes, validated by the contract
models for the first event of each type)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from contracts.personnel import (
    CadreRecruited,
    Establishment,
    EstablishmentAdjusted,
    EstablishmentSlotOccupied,
    UnitRegistered,
)
from services.kernel.eventstore import EventStore, events_table
from services.kernel.personal_data import PersonalDataVault

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国志文斌"


def _row(stream_id: str, stream_type: str, version: int, event_type: str, data: dict,
         effective_on: date | None, recorded_at: datetime) -> dict:
    return {"stream_id": stream_id, "stream_type": stream_type, "version": version,
            "event_id": str(uuid.uuid4()), "type": event_type, "schema_version": 1,
            "effective_on": effective_on, "recorded_at": recorded_at, "actor": "bench",
            "correlation_id": "bench", "causation_id": "bench", "data": data}


def history(total: int, cadres: int, units: int, key: str, seed: int = 1):
    """Event rows in position order: ``units`` registrations, then ``cadres`` recruitments
    (a CadreRecruited and its unit's EstablishmentSlotOccupied each) shuffled among
    establishment adjustments, ``total`` events in all. Deterministic for a given seed."""
    rng = random.Random(seed)
    vault = PersonalDataVault(key)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    unit_ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(units)]
    versions = dict.fromkeys(unit_ids, 0)
    establishment = Establishment(administrative=1000, institution=1000)
    samples = {}
    for n, unit_id in enumerate(unit_ids):
        event = UnitRegistered(unit_id=unit_id, name=f"单位{n:05d}", kind="institution",
                               establishment=establishment)
        versions[unit_id] = 1
        yield _row(f"unit-{unit_id}", "unit", 1, event.wire_type(), event.model_dump(mode="json"),
                   None, now)
    adjustments = max(0, total - units - 2 * cadres)
    kinds = ["cadre"] * cadres + ["adjust"] * adjustments
    rng.shuffle(kinds)
    cadre_n = 0
    for kind in kinds:
        now += timedelta(milliseconds=1)
        unit_id = unit_ids[rng.randrange(units)]
        if kind == "adjust":
            version = versions[unit_id] = versions[unit_id] + 1
            data = {"unit_id": unit_id, "establishment": {"administrative": 1000 + version,
                                                          "institution": 1000},
                    "previous": {"administrative": 999 + version, "institution": 1000},
                    "effective_on": "2024-06-01", "document_number": None}
            if "adjust" not in samples:
                samples["adjust"] = EstablishmentAdjusted.model_validate(data)
            yield _row(f"unit-{unit_id}", "unit", version, EstablishmentAdjusted.wire_type(),
                       data, date(2024, 6, 1), now)
            continue
        cadre_n += 1
        cadre_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        birth = date(1965 + rng.randrange(35), 1 + rng.randrange(12), 1 + rng.randrange(28))
        national_id = f"140624{birth:%Y%m%d}{cadre_n % 1000:03d}X"
        sealed = vault.seal("national_id", national_id).model_dump()
        category = "civil_servant" if cadre_n % 3 else "institution_staff"
        data = {"cadre_id": cadre_id,
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                "gender": rng.choice(("male", "female")), "birth_date": birth.isoformat(),
                "national_id": sealed, "category": category, "unit_id": unit_id,
                "channel": "exam_recruitment", "effective_on": "2020-09-01"}
        if "cadre" not in samples:
            samples["cadre"] = CadreRecruited.model_validate(data)
        yield _row(f"cadre-{cadre_id}", "cadre", 1, CadreRecruited.wire_type(), data,
                   date(2020, 9, 1), now)
        version = versions[unit_id] = versions[unit_id] + 1
        slot = {"unit_id": unit_id, "cadre_id": cadre_id, "category": category,
                "effective_on": "2020-09-01"}
        if "slot" not in samples:
            samples["slot"] = EstablishmentSlotOccupied.model_validate(slot)
        yield _row(f"unit-{unit_id}", "unit", version, EstablishmentSlotOccupied.wire_type(),
                   slot, date(2020, 9, 1), now)


async def fill_store(store: EventStore, total: int, *, cadres: int, units: int, key: str,
                     chunk: int = 20_000, progress=None) -> int:
    """Writes the history into ``store``; returns the number of events written."""
    await store.create_schema()
    written = 0
    rows: list[dict] = []
    async with store.engine.begin() as conn:
        for row in history(total, cadres, units, key):
            rows.append(row)
            if len(rows) >= chunk:
                await conn.execute(events_table.insert(), rows)
                written += len(rows)
                rows = []
                if progress:
                    progress(written)
        if rows:
            await conn.execute(events_table.insert(), rows)
            written += len(rows)
    return written
