"""Unified queries that combine several services' read models: the cadre 360 and the township
overview. Each part is read from its own read model by that service's query object; nothing
here reads another service's tables directly."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from pydantic import BaseModel, Field

from gateway.queries import CadreDetail, ReserveView
from gateway.queries_governance import (
    CompoundMetrics,
    Funnel,
    KpiReport,
    RectificationSummary,
    TownshipView,
    VillageView,
)
from gateway.readmodels.audit import audit_events
from gateway.readmodels.governance import GovernanceProjection
from gateway.readmodels.personnel import PersonnelProjection
from gateway.readmodels.talent import TalentProjection
from gateway.readmodels.training import TrainingProjection
from services.kernel.commands import ConsistencyToken
from services.kernel.errors import NotFound

__all__ = ["Cadre360", "TownshipOverview", "UnifiedQueries"]

TALENT_NOTE = ("the talent service does not link its records (experts, secondments, interns, "
               "studio leads) to cadres by id, so no talent roles can be attributed to a cadre")


class TrainingYear(BaseModel):
    year: int
    hours_in_year: int = Field(description="Credit hours of classes completed in the year.")
    hours_in_period: int = Field(description="Credit hours within the requirement's window "
                                 "ending with the year.")
    required_hours: int
    requirement_years: int
    met: bool
    shortfall: int


class TrainingPart(BaseModel):
    level: str = Field(description="The requirement level applied (`section`, `county`).")
    years: list[TrainingYear] = Field(description="From the cadre's first year in service (at "
                                      "most five years back) to `year`, oldest first.")
    note: str | None = None


class ReservePart(BaseModel):
    active: ReserveView | None = Field(description="The active young-cadre reserve entry.")
    history: list[ReserveView] = Field(description="Closed reserve entries.")


class TalentPart(BaseModel):
    roles: list[dict] = Field(description="Talent roles of the cadre (always empty, see note).")
    note: str


class Cadre360(BaseModel):
    cadre: CadreDetail = Field(description="The personnel record with its dated history.")
    training: TrainingPart | None = Field(description="Null when the role may not read training.")
    reserve: ReservePart
    talent: TalentPart | None = Field(description="Null when the role may not read talent.")
    omitted: dict[str, str] = Field(
        default_factory=dict, description="Parts left out, with the reason.")


class TownshipOverview(BaseModel):
    township: TownshipView
    villages: list[VillageView]
    rectification: RectificationSummary
    reserve_pipeline: Funnel
    compounds: CompoundMetrics = Field(description="Compounds, service-station and monitoring "
                                       "coverage.")
    complaints: KpiReport


class UnifiedQueries:
    """Multi-part reads. ``fresh`` turns a consistency token into a wait on exactly the
    projections that a token's change can affect."""

    PARTS = {"personnel": PersonnelProjection(), "training": TrainingProjection(),
             "talent": TalentProjection(), "governance": GovernanceProjection()}

    def __init__(self, ctx) -> None:
        self.ctx = ctx

    async def fresh(self, token: str | None, parts: list[str]) -> str | None:
        """Wait for the audit log (it sees every change) to learn the token's event type, then
        for each part whose projection handles that type. None without a token."""
        if not token:
            return None
        if await self.ctx.consistency.wait("audit", token) == "stale":
            return "stale"
        wanted = ConsistencyToken.decode(token)
        async with self.ctx.query_engine.connect() as conn:
            event_type = await conn.scalar(sa.select(audit_events.c.type).where(
                audit_events.c.stream_id == wanted.stream_id,
                audit_events.c.stream_version == wanted.version))
        states = [await self.ctx.consistency.wait(self.PARTS[p].name, token) for p in parts
                  if event_type and self.PARTS[p].handles(event_type)]
        return "stale" if "stale" in states else "fresh"

    async def cadre_360(self, cadre_id: str, *, reveal: bool, training: bool, talent: bool,
                        year: int, level: str | None) -> Cadre360:
        cadre = await self.ctx.personnel.cadre(cadre_id, reveal=reveal)
        omitted = {}
        training_part = None
        if training:
            first = max(cadre.recruited_on.year, year - 4)
            years, used_level, note = [], level or "section", None
            try:
                views = await self.ctx.training.credit_hours_years(
                    cadre_id, list(range(first, year + 1)), level) if first <= year else []
            except NotFound:
                note = "no training record for this cadre yet"
                views = []
            for view in views:
                used_level = view.level
                years.append(TrainingYear(
                    year=view.year, hours_in_year=view.hours_in_year,
                    hours_in_period=view.hours_in_period, required_hours=view.required_hours,
                    requirement_years=view.requirement_years, met=view.met,
                    shortfall=view.shortfall))
            training_part = TrainingPart(level=used_level, years=years, note=note)
        else:
            omitted["training"] = "the role may not read training"
        if not talent:
            omitted["talent"] = "the role may not read talent"
        return Cadre360(
            cadre=cadre, training=training_part,
            reserve=ReservePart(active=cadre.reserve, history=cadre.reserve_history),
            talent=TalentPart(roles=[], note=TALENT_NOTE) if talent else None, omitted=omitted)

    async def township_overview(self, township_id: str, scope: str | None, *,
                                period_from: date | None, period_to: date | None
                                ) -> TownshipOverview:
        g = self.ctx.governance
        township = await g.township(township_id, scope)
        villages, cursor = [], None
        while True:
            page = await g.villages(scope, township_id, 500, cursor)
            villages += page.items
            if not (cursor := page.next_cursor):
                break
        return TownshipOverview(
            township=township, villages=villages,
            rectification=await g.rectification_summary(scope, group_by="township",
                                                        township_id=township_id),
            reserve_pipeline=await g.reserve_funnel(scope, group_by="township",
                                                    township_id=township_id),
            compounds=await g.compound_metrics(scope, township_id=township_id,
                                               period_from=period_from, period_to=period_to),
            complaints=await g.complaint_kpis(scope, group_by="township", township_id=township_id,
                                              period_from=period_from, period_to=period_to))
