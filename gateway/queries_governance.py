"""Governance queries over the read models. Routes call one method here each.

Every method takes ``scope``: the township a township operator is confined to (None for
county-wide readers). A record of another township is 404; a list filter naming another
township is 403; a list is always confined to the scope.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.queries import _decode_cursor, _encode_cursor
from gateway.readmodels.governance import (
    communities,
    compounds,
    hires,
    rules,
    townships,
    villages,
)
from services.kernel.auth import Forbidden
from services.kernel.errors import NotFound

__all__ = ["GovernanceQueries", "Page"]

T = TypeVar("T")
HIRE_KINDS = ("institution_staff", "community_assistant", "grid_worker")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class Office(BaseModel):
    set_up_on: date
    staff_count: int | None
    document_number: str | None


class Hires(BaseModel):
    institution_staff: int = 0
    community_assistant: int = 0
    grid_worker: int = 0


class TownshipView(BaseModel):
    id: str
    name: str
    established_on: date | None
    party_building_office: Office | None
    hires: Hires = Field(description="Head-count hired, all time, by kind.")
    version: int


class VillageView(BaseModel):
    id: str
    township_id: str
    name: str
    version: int


class CommunityView(VillageView):
    pass


class CompoundView(BaseModel):
    id: str
    community_id: str
    township_id: str
    name: str
    households: int
    registered_on: date | None
    version: int


class RuleView(BaseModel):
    id: str
    township_id: str | None = Field(description="Null for a county-wide rule.")
    title: str
    document_number: str | None
    effective_on: date


class TownshipCapacity(BaseModel):
    township_id: str
    name: str
    party_building_office: bool = Field(description="Office set up on or before `to`.")
    office_set_up_on: date | None
    hires: Hires = Field(description="Hired within the period.")
    rules: int = Field(description="Rules the township adopted within the period.")


class CapacityOverview(BaseModel):
    period_from: date | None
    period_to: date | None
    townships: int
    townships_with_office: int
    hires: Hires = Field(description="Hired within the period, all townships in scope.")
    rules: int = Field(description="Rules effective within the period: county-wide and townships'.")
    county_rules: int
    by_township: list[TownshipCapacity]


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class GovernanceQueries:
    def __init__(self, engine: AsyncEngine, unseal: Callable[[str], str | None],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self._unseal = unseal
        self.clock = clock

    # --- scope helpers -----------------------------------------------------------------------

    @staticmethod
    def _visible(scope: str | None, township_id: str | None, what: str, record_id: str) -> None:
        if scope is not None and township_id != scope:
            raise NotFound(f"{what} {record_id} not found")

    @staticmethod
    def _township_filter(scope: str | None, township_id: str | None) -> str | None:
        """The township a list is confined to: the filter, checked against the scope."""
        if scope is not None and township_id is not None and township_id != scope:
            raise Forbidden(f"a township operator of {scope} may not list township {township_id}",
                            errors=[{"pointer": "query:township_id", "detail": "out of scope",
                                     "code": "out_of_scope"}])
        return township_id or scope

    async def _owner(self, table: sa.Table, key: str, record_id: str, scope: str | None,
                     what: str) -> str:
        """The township of a record named by a list filter; 404 if unknown or out of scope."""
        async with self.engine.connect() as conn:
            township_id = await conn.scalar(sa.select(table.c.township_id).where(
                table.c[key] == record_id))
        if township_id is None:
            raise NotFound(f"{what} {record_id} not found")
        self._visible(scope, township_id, what, record_id)
        return township_id

    async def _one(self, table: sa.Table, key: str, record_id: str, scope: str | None,
                   what: str):
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(table).where(table.c[key] == record_id))).first()
        if row is None:
            raise NotFound(f"{what} {record_id} not found")
        self._visible(scope, row.township_id, what, record_id)
        return row

    async def _page(self, query, sort: sa.ColumnElement, key: sa.ColumnElement, limit: int,
                    cursor: str | None, convert: Callable[[Any], Any]) -> Page:
        query = query.order_by(sort, key).limit(limit + 1)
        if cursor:
            first, last = _decode_cursor(cursor)
            query = query.where(sa.tuple_(sort, key) > (first, last))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        items = [convert(r) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last_row = rows[limit - 1]._mapping
            next_cursor = _encode_cursor([last_row[sort.name], last_row[key.name]])
        return Page(items=items, next_cursor=next_cursor)

    # --- geography and capacity -------------------------------------------------------------

    async def _hires_by_township(self, conn, township_ids: list[str], period_from: date | None = None,
                                 period_to: date | None = None) -> dict[str, Hires]:
        query = sa.select(hires.c.township_id, hires.c.kind, sa.func.sum(hires.c.count)).where(
            hires.c.township_id.in_(township_ids)).group_by(hires.c.township_id, hires.c.kind)
        if period_from:
            query = query.where(hires.c.hired_on >= period_from)
        if period_to:
            query = query.where(hires.c.hired_on <= period_to)
        out: dict[str, Hires] = {t: Hires() for t in township_ids}
        for township_id, kind, total in await conn.execute(query):
            setattr(out[township_id], kind, int(total))
        return out

    def _township(self, row, hired: Hires) -> TownshipView:
        office = (Office(set_up_on=row.office_set_up_on, staff_count=row.office_staff,
                         document_number=row.office_document)
                  if row.office_set_up_on else None)
        return TownshipView(id=row.township_id, name=row.name, established_on=row.established_on,
                            party_building_office=office, hires=hired, version=row.version)

    async def township(self, township_id: str, scope: str | None) -> TownshipView:
        row = await self._one(townships, "township_id", township_id, scope, "township")
        async with self.engine.connect() as conn:
            hired = await self._hires_by_township(conn, [township_id])
        return self._township(row, hired[township_id])

    async def townships(self, scope: str | None, limit: int, cursor: str | None) -> Page:
        query = sa.select(townships)
        if scope is not None:
            query = query.where(townships.c.township_id == scope)
        page = await self._page(query, townships.c.name, townships.c.township_id, limit, cursor,
                                lambda r: r)
        async with self.engine.connect() as conn:
            hired = await self._hires_by_township(conn, [r.township_id for r in page.items])
        page.items = [self._township(r, hired[r.township_id]) for r in page.items]
        return page

    async def village(self, village_id: str, scope: str | None) -> VillageView:
        row = await self._one(villages, "village_id", village_id, scope, "village")
        return VillageView(id=row.village_id, township_id=row.township_id, name=row.name,
                           version=row.version)

    async def villages(self, scope: str | None, township_id: str | None, limit: int,
                       cursor: str | None) -> Page:
        query = sa.select(villages)
        if township := self._township_filter(scope, township_id):
            query = query.where(villages.c.township_id == township)
        return await self._page(query, villages.c.name, villages.c.village_id, limit, cursor,
                                lambda r: VillageView(id=r.village_id, township_id=r.township_id,
                                                      name=r.name, version=r.version))

    async def community(self, community_id: str, scope: str | None) -> CommunityView:
        row = await self._one(communities, "community_id", community_id, scope, "community")
        return CommunityView(id=row.community_id, township_id=row.township_id, name=row.name,
                             version=row.version)

    async def communities(self, scope: str | None, township_id: str | None, limit: int,
                          cursor: str | None) -> Page:
        query = sa.select(communities)
        if township := self._township_filter(scope, township_id):
            query = query.where(communities.c.township_id == township)
        return await self._page(query, communities.c.name, communities.c.community_id, limit,
                                cursor, lambda r: CommunityView(
                                    id=r.community_id, township_id=r.township_id, name=r.name,
                                    version=r.version))

    def _compound(self, row) -> CompoundView:
        return CompoundView(id=row.compound_id, community_id=row.community_id,
                            township_id=row.township_id, name=row.name, households=row.households,
                            registered_on=row.registered_on, version=row.version)

    async def compound(self, compound_id: str, scope: str | None) -> CompoundView:
        return self._compound(await self._one(compounds, "compound_id", compound_id, scope,
                                              "compound"))

    async def compounds(self, scope: str | None, township_id: str | None,
                        community_id: str | None, limit: int, cursor: str | None) -> Page:
        query = sa.select(compounds)
        if township := self._township_filter(scope, township_id):
            query = query.where(compounds.c.township_id == township)
        if community_id:
            await self._owner(communities, "community_id", community_id, scope, "community")
            query = query.where(compounds.c.community_id == community_id)
        return await self._page(query, compounds.c.name, compounds.c.compound_id, limit, cursor,
                                self._compound)

    async def rules(self, scope: str | None, township_id: str | None, limit: int,
                    cursor: str | None) -> Page:
        """County-wide rules are visible to everyone; a township's only within its scope."""
        query = sa.select(rules)
        township = self._township_filter(scope, township_id)
        if township_id:
            query = query.where(rules.c.township_id == township)
        elif scope is not None:
            query = query.where(sa.or_(rules.c.township_id.is_(None), rules.c.township_id == scope))
        return await self._page(query, rules.c.title, rules.c.rule_id, limit, cursor,
                                lambda r: RuleView(id=r.rule_id, township_id=r.township_id,
                                                   title=r.title, document_number=r.document_number,
                                                   effective_on=r.effective_on))

    async def capacity_overview(self, scope: str | None, period_from: date | None,
                                period_to: date | None) -> CapacityOverview:
        """Party-building offices (set up by the end of the period), hires by kind and rules
        adopted within the period, per township and in total."""
        async with self.engine.connect() as conn:
            query = sa.select(townships).order_by(townships.c.name, townships.c.township_id)
            if scope is not None:
                query = query.where(townships.c.township_id == scope)
            rows = (await conn.execute(query)).all()
            ids = [r.township_id for r in rows]
            hired = await self._hires_by_township(conn, ids, period_from, period_to)
            rule_query = sa.select(rules.c.township_id, sa.func.count()).group_by(rules.c.township_id)
            if period_from:
                rule_query = rule_query.where(rules.c.effective_on >= period_from)
            if period_to:
                rule_query = rule_query.where(rules.c.effective_on <= period_to)
            rule_counts = {t: n for t, n in await conn.execute(rule_query)}
        per = []
        for row in rows:
            has_office = row.office_set_up_on is not None and (
                period_to is None or row.office_set_up_on <= period_to)
            per.append(TownshipCapacity(
                township_id=row.township_id, name=row.name, party_building_office=has_office,
                office_set_up_on=row.office_set_up_on, hires=hired[row.township_id],
                rules=rule_counts.get(row.township_id, 0)))
        total = Hires(**{k: sum(getattr(p.hires, k) for p in per) for k in HIRE_KINDS})
        county_rules = rule_counts.get(None, 0)
        return CapacityOverview(
            period_from=period_from, period_to=period_to, townships=len(per),
            townships_with_office=sum(p.party_building_office for p in per), hires=total,
            rules=county_rules + sum(p.rules for p in per), county_rules=county_rules,
            by_township=per)
