"""Personnel read models (units, cadres) and the projection that maintains them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import registry
from contracts.envelope import EventEnvelope
from contracts.personnel import (
    CadreRecruited,
    EstablishmentAdjusted,
    EstablishmentSlotOccupied,
    UnitRegistered,
)
from services.kernel.db import upsert

__all__ = ["PersonnelProjection", "cadres", "metadata", "units"]

metadata = sa.MetaData()

units = sa.Table(
    "rm_units", metadata,
    sa.Column("unit_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, default=""),
    sa.Column("kind", sa.String(40), nullable=False, default=""),
    sa.Column("established_administrative", sa.Integer, nullable=False, default=0),
    sa.Column("established_institution", sa.Integer, nullable=False, default=0),
    sa.Column("occupied_administrative", sa.Integer, nullable=False, default=0),
    sa.Column("occupied_institution", sa.Integer, nullable=False, default=0),
    sa.Column("registered_on", sa.Date, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

cadres = sa.Table(
    "rm_cadres", metadata,
    sa.Column("cadre_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("gender", sa.String(10), nullable=False),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("national_id_masked", sa.String(32), nullable=False),
    sa.Column("national_id_sealed", sa.Text, nullable=False),
    sa.Column("category", sa.String(30), nullable=False),
    sa.Column("unit_id", sa.String(64), nullable=False, index=True),
    sa.Column("channel", sa.String(30), nullable=False),
    sa.Column("recruited_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_rm_cadres_name_id", "name", "cadre_id"),
)

_SLOT_COLUMN = {"civil_servant": "occupied_administrative",
                "institution_staff": "occupied_institution"}


class PersonnelProjection:
    """Units with establishment and occupancy; cadres with their current unit."""

    name = "personnel"
    metadata = metadata

    def handles(self, event_type: str) -> bool:
        return event_type.startswith("zugong.personnel.")

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        data = registry.decode(event.type, event.data)
        version = event.streamversion
        match data:
            case UnitRegistered():
                await upsert(conn, units, [{
                    "unit_id": data.unit_id, "name": data.name, "kind": data.kind,
                    "established_administrative": data.establishment.administrative,
                    "established_institution": data.establishment.institution,
                    "registered_on": data.effective_on, "version": version}], ["unit_id"])
            case EstablishmentAdjusted():
                await self._update_unit(conn, data.unit_id, version, {
                    "established_administrative": data.establishment.administrative,
                    "established_institution": data.establishment.institution})
            case EstablishmentSlotOccupied():
                column = units.c[_SLOT_COLUMN[data.category]]
                await self._update_unit(conn, data.unit_id, version, {column.name: column + 1})
            case CadreRecruited():
                await conn.execute(cadres.insert().values(
                    cadre_id=data.cadre_id, name=data.name, gender=data.gender,
                    birth_date=data.birth_date, national_id_masked=data.national_id.masked,
                    national_id_sealed=data.national_id.ciphertext, category=data.category,
                    unit_id=data.unit_id, channel=data.channel, recruited_on=data.effective_on,
                    status="active", version=version))

    @staticmethod
    async def _update_unit(conn: AsyncConnection, unit_id: str, version: int,
                           values: dict) -> None:
        result = await conn.execute(units.update().where(units.c.unit_id == unit_id).values(
            version=version, **values))
        if result.rowcount != 1:
            raise LookupError(f"unit {unit_id} not in the read model (event before registration)")

