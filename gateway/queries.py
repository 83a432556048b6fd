"""Personnel queries over the read models. Routes call one function here each."""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.readmodels.personnel import cadres, units
from services.kernel.errors import NotFound, ZugongError

__all__ = ["CadreView", "Page", "PersonnelQueries", "UnitView"]


class BadCursor(ZugongError):
    status, title, type_slug = 400, "Invalid cursor", "bad-cursor"


class UnitRef(BaseModel):
    id: str
    name: str | None


class CadreView(BaseModel):
    id: str
    name: str
    gender: str
    birth_date: date
    national_id: str = Field(description="Masked unless the caller may read personal data.")
    category: str
    unit: UnitRef
    channel: str
    recruited_on: date
    status: str
    version: int


class Slots(BaseModel):
    administrative: int
    institution: int


class UnitView(BaseModel):
    id: str
    name: str
    kind: str
    registered_on: date | None
    establishment: Slots
    occupied: Slots
    vacancies: Slots
    version: int


class Page(BaseModel):
    items: list[CadreView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


def _encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not (isinstance(values, list) and len(values) == 2):
            raise ValueError
        return values
    except ValueError:
        raise BadCursor("the cursor is not one this API returned",
                        errors=[{"pointer": "query:cursor", "detail": "malformed"}]) from None


class PersonnelQueries:
    def __init__(self, engine: AsyncEngine, unseal) -> None:
        self.engine = engine
        self._unseal = unseal

    def _cadre(self, row, reveal: bool) -> CadreView:
        national_id = row.national_id_masked
        if reveal:
            national_id = self._unseal(row.national_id_sealed) or national_id
        return CadreView(
            id=row.cadre_id, name=row.name, gender=row.gender, birth_date=row.birth_date,
            national_id=national_id, category=row.category,
            unit=UnitRef(id=row.unit_id, name=row.unit_name), channel=row.channel,
            recruited_on=row.recruited_on, status=row.status, version=row.version)

    def _cadre_select(self):
        return sa.select(cadres, units.c.name.label("unit_name")).select_from(
            cadres.outerjoin(units, units.c.unit_id == cadres.c.unit_id))

    async def cadre(self, cadre_id: str, *, reveal: bool) -> CadreView:
        async with self.engine.connect() as conn:
            row = (await conn.execute(
                self._cadre_select().where(cadres.c.cadre_id == cadre_id))).first()
        if row is None:
            raise NotFound(f"cadre {cadre_id} not found")
        return self._cadre(row, reveal)

    async def cadres(self, *, unit_id: str | None, q: str | None, limit: int,
                     cursor: str | None, reveal: bool) -> Page:
        query = self._cadre_select().order_by(cadres.c.name, cadres.c.cadre_id).limit(limit + 1)
        if unit_id:
            query = query.where(cadres.c.unit_id == unit_id)
        if q:
            escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(cadres.c.name.like(f"%{escaped}%", escape="\\"))
        if cursor:
            name, last_id = _decode_cursor(cursor)
            query = query.where(sa.tuple_(cadres.c.name, cadres.c.cadre_id) > (name, last_id))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        items = [self._cadre(r, reveal) for r in rows[:limit]]
        next_cursor = (_encode_cursor([rows[limit - 1].name, rows[limit - 1].cadre_id])
                       if len(rows) > limit else None)
        return Page(items=items, next_cursor=next_cursor)

    async def unit(self, unit_id: str) -> UnitView:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(units).where(units.c.unit_id == unit_id))).first()
        if row is None or not row.name:
            raise NotFound(f"unit {unit_id} not found")
        est = Slots(administrative=row.established_administrative,
                    institution=row.established_institution)
        occ = Slots(administrative=row.occupied_administrative,
                    institution=row.occupied_institution)
        return UnitView(
            id=row.unit_id, name=row.name, kind=row.kind, registered_on=row.registered_on,
            establishment=est, occupied=occ,
            vacancies=Slots(administrative=max(0, est.administrative - occ.administrative),
                            institution=max(0, est.institution - occ.institution)),
            version=row.version)
