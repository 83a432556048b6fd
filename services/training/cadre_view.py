"""Training's own reference view of cadres, built from the personnel events it consumes.

Training never reads personnel's store or database. It subscribes to the personnel cadre
events (``zugong.personnel.cadre_*``) and keeps the little it needs — who exists, their
name and unit, whether they have left — in a table of its OWN database, next to its event
store. Embedded, ``services.kernel.sources.StoreFanOut`` feeds it from the personnel store
in-process; distributed, ``zugong consume training`` feeds it from the personnel cadre topic
(a faust worker). The SubscriptionRunner makes it exactly-once in effect in both.

The view lags behind personnel by the delivery latency. An enrolment of a cadre the view does
not know (yet) is refused with a retryable 409 ``cadre-not-yet-known``: nothing is recorded,
and the same request (same Idempotency-Key) succeeds once the view has caught up.

Events of types this code does not know yet (personnel grows: exchanges, departures, ...)
are applied by convention rather than parked: any ``cadre_*`` event makes its cadre known,
``to_unit_id`` / ``unit_id`` in the payload moves the cadre, and the departure types below
mark the cadre departed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts import registry
from contracts.envelope import EventEnvelope
from contracts.personnel import CadreRecruited
from services.kernel.db import upsert
from services.kernel.errors import ZugongError

__all__ = [
    "DEPARTURE_TYPES",
    "PERSONNEL_CADRE_PREFIX",
    "CadreDirectory",
    "CadreNotYetKnown",
    "CadreReferenceView",
    "KnownCadre",
    "known_cadres",
]

PERSONNEL_CADRE_PREFIX = "zugong.personnel.cadre_"
DEPARTURE_TYPES = frozenset({"cadre_departed", "cadre_retired", "cadre_resigned",
                             "cadre_deceased", "cadre_transferred_out", "cadre_dismissed"})
"""Personnel event names (without prefix and version) after which a cadre cannot enrol."""

metadata = sa.MetaData()

known_cadres = sa.Table(
    "training_known_cadres", metadata,
    sa.Column("cadre_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("unit_id", sa.String(64), nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("joined_on", sa.Date, nullable=True),
    sa.Column("left_on", sa.Date, nullable=True),
    sa.Column("last_event_type", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)


class CadreNotYetKnown(ZugongError):
    """The cadre is not in training's view: unknown, or recruited so recently that the
    recruitment has not reached training yet. Retryable."""

    status, title, type_slug = 409, "Cadre not (yet) known", "cadre-not-yet-known"

    def __init__(self, cadre_id: str) -> None:
        detail = (f"cadre {cadre_id} is not (yet) known to the training service; if the cadre "
                  "was just recruited, retry in a few seconds (the same Idempotency-Key is safe)")
        super().__init__(detail, errors=[{"pointer": "#/cadre_id", "detail": detail,
                                          "code": "cadre_not_yet_known"}])


def _event_name(wire_type: str) -> str:
    return wire_type.removeprefix("zugong.personnel.").rsplit(".v", 1)[0]


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


class CadreReferenceView:
    """Projection of personnel cadre events into ``training_known_cadres``."""

    name = "training_cadre_view"
    metadata = metadata

    def handles(self, event_type: str) -> bool:
        return event_type.startswith(PERSONNEL_CADRE_PREFIX)

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        if event.type in registry and registry.spec(event.type).model is CadreRecruited:
            data = registry.decode(event.type, event.data)
            await upsert(conn, known_cadres, [{
                "cadre_id": data.cadre_id, "name": data.name, "unit_id": data.unit_id,
                "status": "active", "joined_on": data.effective_on, "left_on": None,
                "last_event_type": event.type, "version": event.streamversion}], ["cadre_id"])
        else:
            await self._apply_by_convention(conn, event)

    @staticmethod
    async def _apply_by_convention(conn: AsyncConnection, event: EventEnvelope) -> None:
        cadre_id = event.data.get("cadre_id")
        if not isinstance(cadre_id, str) or not cadre_id:
            raise ValueError(f"{event.type} carries no cadre_id")
        row = (await conn.execute(sa.select(known_cadres).where(
            known_cadres.c.cadre_id == cadre_id))).first()
        values = dict(row._mapping) if row else {
            "cadre_id": cadre_id, "name": str(event.data.get("name", "")), "unit_id": None,
            "status": "active", "joined_on": _date(event.effectiveon), "left_on": None}
        unit = event.data.get("to_unit_id") or event.data.get("unit_id")
        if isinstance(unit, str) and unit:
            values["unit_id"] = unit
        if _event_name(event.type) in DEPARTURE_TYPES:
            values["status"] = "departed"
            values["left_on"] = _date(event.effectiveon)
        values.update(last_event_type=event.type, version=event.streamversion)
        await upsert(conn, known_cadres, [values], ["cadre_id"])


@dataclass(frozen=True)
class KnownCadre:
    cadre_id: str
    name: str
    unit_id: str | None
    status: str
    left_on: date | None


class CadreDirectory:
    """Reads training's view of cadres (in training's own database)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def find(self, cadre_id: str) -> KnownCadre | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(known_cadres).where(
                known_cadres.c.cadre_id == cadre_id))).first()
        if row is None:
            return None
        return KnownCadre(row.cadre_id, row.name, row.unit_id, row.status, row.left_on)
