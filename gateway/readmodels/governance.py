"""Governance read models and the projection that maintains them.

Every row of a township's record carries ``township_id``: queries confine township operators
with one filter. Rows are keyed by natural ids (or stream id + stream version), never by
autoincrement, so a rebuild from the events gives the same rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import registry
from contracts.envelope import EventEnvelope
from contracts.governance import (
    CommunityRegistered,
    CompoundRegistered,
    InstitutionalRuleAdopted,
    PartyBuildingOfficeSetUp,
    StaffHired,
    TownshipRegistered,
    VillageRegistered,
)
from contracts.registry import DomainEvent

__all__ = ["GovernanceProjection", "metadata"]

metadata = sa.MetaData()
_ID = 64

townships = sa.Table(
    "rm_governance_townships", metadata,
    sa.Column("township_id", sa.String(_ID), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("established_on", sa.Date, nullable=True),
    sa.Column("office_set_up_on", sa.Date, nullable=True),
    sa.Column("office_staff", sa.Integer, nullable=True),
    sa.Column("office_document", sa.String(100), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

hires = sa.Table(
    "rm_governance_hires", metadata,
    sa.Column("township_id", sa.String(_ID), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, doc="Version of the township stream."),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("hired_on", sa.Date, nullable=False, index=True),
    sa.Column("note", sa.String(500), nullable=True),
)

villages = sa.Table(
    "rm_governance_villages", metadata,
    sa.Column("village_id", sa.String(_ID), primary_key=True),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

communities = sa.Table(
    "rm_governance_communities", metadata,
    sa.Column("community_id", sa.String(_ID), primary_key=True),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

compounds = sa.Table(
    "rm_governance_compounds", metadata,
    sa.Column("compound_id", sa.String(_ID), primary_key=True),
    sa.Column("community_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("township_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("households", sa.Integer, nullable=False),
    sa.Column("registered_on", sa.Date, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
)

rules = sa.Table(
    "rm_governance_rules", metadata,
    sa.Column("rule_id", sa.String(_ID), primary_key=True),
    sa.Column("township_id", sa.String(_ID), nullable=True, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("document_number", sa.String(100), nullable=True),
    sa.Column("effective_on", sa.Date, nullable=False),
)


async def _update(conn: AsyncConnection, table: sa.Table, key: str, value: str,
                  values: dict) -> None:
    result = await conn.execute(table.update().where(table.c[key] == value).values(**values))
    if result.rowcount != 1:
        raise LookupError(f"{table.name}: no row {key}={value} (event before its record)")


class GovernanceProjection:
    """Townships and their capacity, villages, communities, compounds, rules, complaints, alerts,
    rectification cases, reserve candidates and the published lists."""

    name = "governance"
    metadata = metadata

    def handles(self, event_type: str) -> bool:
        return event_type.startswith("zugong.governance.")

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        data = registry.decode(event.type, event.data)
        await self._apply(conn, data, event)

    async def _apply(self, conn: AsyncConnection, data: DomainEvent, event: EventEnvelope) -> None:
        version = event.streamversion
        match data:
            case TownshipRegistered():
                await conn.execute(townships.insert().values(
                    township_id=data.township_id, name=data.name,
                    established_on=data.effective_on, version=version))
            case PartyBuildingOfficeSetUp():
                await _update(conn, townships, "township_id", data.township_id, {
                    "office_set_up_on": data.effective_on, "office_staff": data.staff_count,
                    "office_document": data.document_number, "version": version})
            case StaffHired():
                await conn.execute(hires.insert().values(
                    township_id=data.township_id, seq=version, kind=data.kind, count=data.count,
                    hired_on=data.effective_on, note=data.note))
                await _update(conn, townships, "township_id", data.township_id,
                              {"version": version})
            case VillageRegistered():
                await conn.execute(villages.insert().values(
                    village_id=data.village_id, township_id=data.township_id, name=data.name,
                    version=version))
            case CommunityRegistered():
                await conn.execute(communities.insert().values(
                    community_id=data.community_id, township_id=data.township_id,
                    name=data.name, version=version))
            case CompoundRegistered():
                await conn.execute(compounds.insert().values(
                    compound_id=data.compound_id, community_id=data.community_id,
                    township_id=data.township_id, name=data.name, households=data.households,
                    registered_on=data.effective_on, version=version))
            case InstitutionalRuleAdopted():
                await conn.execute(rules.insert().values(
                    rule_id=data.rule_id, township_id=data.township_id, title=data.title,
                    document_number=data.document_number, effective_on=data.effective_on))
