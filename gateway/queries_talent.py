"""Talent queries over the read models. Routes call one method here each.

Periods are inclusive and use each record's business date (certification, grant, visit,
publication, signing …); an open bound means "since the beginning" or "until now".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.queries import BadCursor, _decode_cursor, _encode_cursor
from gateway.readmodels.talent import (
    agreements,
    experts,
    follow_ups,
    grants,
    placements,
    positions,
    promotions,
    reviews,
    secondments,
    studios,
    universities,
    visits,
)
from services.kernel.errors import NotFound

__all__ = ["TalentQueries"]

STUDIO_FIELDS = ("teacher", "doctor", "expert", "craftsman")
EXPERT_KINDS = ("contact_expert", "native_elsewhere", "think_tank_expert", "doctoral_service_group")


class Period(BaseModel):
    from_: date | None = Field(alias="from", serialization_alias="from")
    to: date | None


class StudioLeadView(BaseModel):
    name: str
    title: str | None


class StudioView(BaseModel):
    id: str
    name: str
    field: str
    lead: StudioLeadView
    host_unit: str
    document_number: str | None
    certified_on: date
    status: str = Field(description="certified or revoked.")
    revoked_on: date | None
    funding_total_yuan: int = Field(description="All funding granted, integer yuan.")
    grants: int
    last_review_year: int | None
    last_review_grade: str | None
    version: int


class GrantView(BaseModel):
    id: str
    amount_yuan: int
    purpose: str | None
    granted_on: date


class ReviewView(BaseModel):
    year: int
    grade: str
    comment: str | None
    reviewed_on: date


class StudioDetail(StudioView):
    revocation_reason: str | None
    grant_history: list[GrantView]
    reviews: list[ReviewView]


class StudioPage(BaseModel):
    items: list[StudioView]
    next_cursor: str | None


class StudioFieldFigures(BaseModel):
    field: str
    certified: int = Field(description="Studios certified in the period.")
    active_at_end: int = Field(description="Certified by the end of the period and not revoked then.")
    revoked: int = Field(description="Studios revoked in the period.")
    funded_studios: int = Field(description="Studios that received funding in the period.")
    funding_yuan: int = Field(description="Funding granted in the period, integer yuan.")


class StudioReport(BaseModel):
    period: Period
    by_field: list[StudioFieldFigures]
    total: StudioFieldFigures


class VisitKindFigures(BaseModel):
    kind: str
    visits: int
    experts_visited: int = Field(description="Distinct experts visited in the period.")
    issues_raised: int
    follow_ups_closed: int = Field(description="Of the issues raised in the period, how many are closed.")
    follow_ups_open: int


class VisitReport(BaseModel):
    period: Period
    by_kind: list[VisitKindFigures]
    total: VisitKindFigures


class FollowUpView(BaseModel):
    id: str
    expert_id: str
    expert_name: str
    expert_kind: str
    visit_id: str
    raised_on: date
    description: str
    action: str
    owner: str
    due_on: date
    status: str = Field(description="open or closed.")
    overdue: bool = Field(description="Open and past its due date on `as_of`.")
    closed_on: date | None
    resolution: str | None


class FollowUpPage(BaseModel):
    items: list[FollowUpView]
    next_cursor: str | None


class ExpertView(BaseModel):
    id: str
    name: str
    kind: str
    field: str | None
    affiliation: str | None
    hometown: str | None
    phone: str | None = Field(description="Masked unless the caller may read personal data.")
    registered_on: date
    term_ends_on: date | None
    visits: int
    last_visited_on: date | None
    version: int


class ExpertPage(BaseModel):
    items: list[ExpertView]
    next_cursor: str | None
    total: int = Field(description="How many match, over all pages.")


class VisitView(BaseModel):
    id: str
    visited_on: date
    visitors: list[str]
    occasion: str
    issues: int


class SecondmentView(BaseModel):
    id: str
    expert_id: str
    expert_name: str
    expert_kind: str
    host_unit: str
    post: str
    starts_on: date
    ends_on: date
    ended_on: date | None
    evaluation: str | None


class ExpertDetail(ExpertView):
    visit_history: list[VisitView]
    follow_ups: list[FollowUpView]
    secondments: list[SecondmentView]


class SecondmentPage(BaseModel):
    items: list[SecondmentView]
    next_cursor: str | None
    total: int = Field(description="How many match, over all pages.")


class PlacementView(BaseModel):
    id: str
    student_name: str
    school: str
    major: str | None
    placed_on: date
    status: str = Field(description="placed, withdrawn or completed.")
    withdrawn_on: date | None


class PositionView(BaseModel):
    id: str
    host_unit: str
    post: str
    season: str
    slots: int
    placed: int
    starts_on: date
    ends_on: date
    published_on: date
    status: str = Field(description="open or completed.")
    completed_on: date | None
    version: int


class PositionDetail(PositionView):
    placements: list[PlacementView]


class PositionPage(BaseModel):
    items: list[PositionView]
    next_cursor: str | None


class InternshipFigures(BaseModel):
    positions: int = Field(description="Postings published.")
    slots: int = Field(description="Internship positions offered (sum of slots).")
    placed: int = Field(description="Students placed and not withdrawn.")
    fill_rate: float = Field(description="placed / slots, 0 when no slots.")
    completed_positions: int


class HostUnitFigures(InternshipFigures):
    host_unit: str


class InternshipReport(BaseModel):
    period: Period
    season: str | None
    total: InternshipFigures
    by_host_unit: list[HostUnitFigures]


class PromotionView(BaseModel):
    id: str
    title: str
    held_on: date
    attendees: int
    positions_offered: int


class AgreementView(BaseModel):
    id: str
    university_id: str
    title: str
    scope: list[str]
    signed_on: date
    term_ends_on: date
    status: str = Field(description="signed or terminated.")
    terminated_on: date | None


class UniversityView(BaseModel):
    id: str
    name: str
    city: str | None
    version: int


class UniversityDetail(UniversityView):
    promotion_events: list[PromotionView]
    agreements: list[AgreementView]


class UniversityPage(BaseModel):
    items: list[UniversityView]
    next_cursor: str | None


class UniversityReport(BaseModel):
    period: Period
    promotion_events: int
    attendees: int
    positions_offered: int
    agreements_signed: int
    agreements_in_force_at_end: int
    universities_engaged: int = Field(description="Universities with an event or a signing in the period.")


def _between(column, start: date | None, end: date | None) -> list:
    clauses = []
    if start is not None:
        clauses.append(column >= start)
    if end is not None:
        clauses.append(column <= end)
    return clauses


# The period reports' statements, built once per shape (which bounds are given) with the bounds
# as parameters: the dashboard runs them for every new period, and building a select and its
# cache key cost more than running it.
_STATEMENTS: dict[tuple[str, bool, bool], tuple] = {}


def _statements(name: str, start: date | None, end: date | None, build) -> tuple:
    key = (name, start is not None, end is not None)
    built = _STATEMENTS.get(key)
    if built is None:
        built = _STATEMENTS[key] = build(
            sa.bindparam("start", type_=sa.Date) if start is not None else None,
            sa.bindparam("end", type_=sa.Date) if end is not None else None)
    return built


def _bounds(start: date | None, end: date | None) -> dict[str, date]:
    return {k: v for k, v in (("start", start), ("end", end)) if v is not None}


def _studio_report_statements(start, end) -> tuple:
    certified = sa.select(studios.c.field, sa.func.count()).where(
        *_between(studios.c.certified_on, start, end)).group_by(studios.c.field)
    active = sa.select(studios.c.field, sa.func.count()).where(
        *_between(studios.c.certified_on, None, end),
        sa.or_(studios.c.revoked_on.is_(None),
               *([studios.c.revoked_on > end] if end is not None else []))).group_by(studios.c.field)
    revoked = sa.select(studios.c.field, sa.func.count()).where(
        studios.c.revoked_on.is_not(None),
        *_between(studios.c.revoked_on, start, end)).group_by(studios.c.field)
    funded = sa.select(grants.c.field, sa.func.count(sa.distinct(grants.c.studio_id)),
                       sa.func.coalesce(sa.func.sum(grants.c.amount_yuan), 0)).where(
        *_between(grants.c.granted_on, start, end)).group_by(grants.c.field)
    return certified, active, revoked, funded


def _university_report_statements(start, end) -> tuple:
    held = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(promotions.c.attendees), 0),
                     sa.func.coalesce(sa.func.sum(promotions.c.positions_offered), 0)).where(
        *_between(promotions.c.held_on, start, end))
    signed = sa.select(sa.func.count()).select_from(agreements).where(
        *_between(agreements.c.signed_on, start, end))
    last_day = sa.func.coalesce(agreements.c.terminated_on, agreements.c.term_ends_on)
    in_force = sa.select(sa.func.count()).select_from(agreements).where(
        *_between(agreements.c.signed_on, None, end),
        *([last_day >= end] if end is not None else [agreements.c.status == "signed"]))
    engaged = sa.union(
        sa.select(promotions.c.university_id).where(*_between(promotions.c.held_on, start, end)),
        sa.select(agreements.c.university_id).where(*_between(agreements.c.signed_on, start,
                                                              end))).subquery()
    return held, signed, in_force, sa.select(sa.func.count()).select_from(engaged)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _after(cursor: str | None, first, second, parse: Callable[[Any], Any] = lambda v: v) -> list:
    if not cursor:
        return []
    value, last_id = _decode_cursor(cursor)
    try:
        value = parse(value)
    except (TypeError, ValueError):
        raise BadCursor("the cursor is not one this API returned",
                        errors=[{"pointer": "query:cursor", "detail": "malformed"}]) from None
    return [sa.tuple_(first, second) > (value, last_id)]


def _page(rows: list, limit: int, key: Callable[[Any], list]) -> tuple[list, str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_encode_cursor(key(rows[-1])) if more else None)


class TalentQueries:
    def __init__(self, engine: AsyncEngine, unseal: Callable[[str], str | None]) -> None:
        self.engine = engine
        self._unseal = unseal

    async def _all(self, query) -> list:
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).all())

    # studios -----------------------------------------------------------------------------

    @staticmethod
    def _studio_fields(row) -> dict:
        return dict(
            id=row.studio_id, name=row.name, field=row.field,
            lead=StudioLeadView(name=row.lead_name, title=row.lead_title),
            host_unit=row.host_unit, document_number=row.document_number,
            certified_on=row.certified_on, status=row.status, revoked_on=row.revoked_on,
            funding_total_yuan=row.funding_total, grants=row.grants,
            last_review_year=row.last_review_year, last_review_grade=row.last_review_grade,
            version=row.version)

    async def studios(self, *, field: str | None, status: str | None, limit: int,
                      cursor: str | None) -> StudioPage:
        query = sa.select(studios).order_by(studios.c.name, studios.c.studio_id).limit(limit + 1)
        if field:
            query = query.where(studios.c.field == field)
        if status:
            query = query.where(studios.c.status == status)
        query = query.where(*_after(cursor, studios.c.name, studios.c.studio_id))
        rows, next_cursor = _page(await self._all(query), limit,
                                  lambda r: [r.name, r.studio_id])
        return StudioPage(items=[StudioView(**self._studio_fields(r)) for r in rows],
                          next_cursor=next_cursor)

    async def studio(self, studio_id: str) -> StudioDetail:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(studios).where(
                studios.c.studio_id == studio_id))).first()
            if row is None:
                raise NotFound(f"studio {studio_id} not found")
            grant_rows = (await conn.execute(sa.select(grants).where(
                grants.c.studio_id == studio_id).order_by(grants.c.granted_on,
                                                          grants.c.grant_id))).all()
            review_rows = (await conn.execute(sa.select(reviews).where(
                reviews.c.studio_id == studio_id).order_by(reviews.c.year))).all()
        return StudioDetail(
            **self._studio_fields(row), revocation_reason=row.revocation_reason,
            grant_history=[GrantView(id=g.grant_id, amount_yuan=g.amount_yuan, purpose=g.purpose,
                                     granted_on=g.granted_on) for g in grant_rows],
            reviews=[ReviewView(year=r.year, grade=r.grade, comment=r.comment,
                                reviewed_on=r.reviewed_on) for r in review_rows])

    async def studio_report(self, start: date | None, end: date | None) -> StudioReport:
        certified, active, revoked, funded = _statements(
            "studio_report", start, end, _studio_report_statements)
        bounds = _bounds(start, end)
        async with self.engine.connect() as conn:
            counts = [dict((await conn.execute(q, bounds)).all())
                      for q in (certified, active, revoked)]
            money = {f: (n, int(total))
                     for f, n, total in (await conn.execute(funded, bounds)).all()}
        by_field = [StudioFieldFigures(
            field=f, certified=counts[0].get(f, 0), active_at_end=counts[1].get(f, 0),
            revoked=counts[2].get(f, 0), funded_studios=money.get(f, (0, 0))[0],
            funding_yuan=money.get(f, (0, 0))[1]) for f in STUDIO_FIELDS]
        total = StudioFieldFigures(field="all", **{
            name: sum(getattr(f, name) for f in by_field)
            for name in ("certified", "active_at_end", "revoked", "funded_studios",
                         "funding_yuan")})
        return StudioReport(period=Period(**{"from": start, "to": end}), by_field=by_field,
                            total=total)

    # experts, visits, follow-ups, secondments -------------------------------------------

    def _expert_fields(self, row, reveal: bool) -> dict:
        phone = row.phone_masked
        if reveal and row.phone_sealed:
            phone = self._unseal(row.phone_sealed) or phone
        return dict(id=row.expert_id, name=row.name, kind=row.kind, field=row.field,
                    affiliation=row.affiliation, hometown=row.hometown, phone=phone,
                    registered_on=row.registered_on, term_ends_on=row.term_ends_on,
                    visits=row.visits, last_visited_on=row.last_visited_on, version=row.version)

    async def experts(self, *, kind: str | None, q: str | None, on_roster: date | None,
                      limit: int, cursor: str | None, reveal: bool) -> ExpertPage:
        """Experts by name; ``on_roster`` keeps those registered by that date whose term
        (if any) has not ended."""
        filters = []
        if kind:
            filters.append(experts.c.kind == kind)
        if q:
            escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            filters.append(experts.c.name.like(f"%{escaped}%", escape="\\"))
        if on_roster:
            filters += [experts.c.registered_on <= on_roster,
                        sa.or_(experts.c.term_ends_on.is_(None),
                               experts.c.term_ends_on >= on_roster)]
        query = sa.select(experts).where(
            *filters, *_after(cursor, experts.c.name, experts.c.expert_id)).order_by(
            experts.c.name, experts.c.expert_id).limit(limit + 1)
        async with self.engine.connect() as conn:
            total = await conn.scalar(sa.select(sa.func.count()).select_from(experts).where(
                *filters))
            all_rows = list((await conn.execute(query)).all())
        rows, next_cursor = _page(all_rows, limit, lambda r: [r.name, r.expert_id])
        return ExpertPage(items=[ExpertView(**self._expert_fields(r, reveal)) for r in rows],
                          next_cursor=next_cursor, total=total or 0)

    async def expert(self, expert_id: str, *, reveal: bool) -> ExpertDetail:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(experts).where(
                experts.c.expert_id == expert_id))).first()
            if row is None:
                raise NotFound(f"expert {expert_id} not found")
            visit_rows = (await conn.execute(sa.select(visits).where(
                visits.c.expert_id == expert_id).order_by(visits.c.visited_on,
                                                          visits.c.visit_id))).all()
            follow_up_rows = (await conn.execute(sa.select(follow_ups).where(
                follow_ups.c.expert_id == expert_id).order_by(
                follow_ups.c.raised_on, follow_ups.c.follow_up_id))).all()
            secondment_rows = (await conn.execute(sa.select(secondments).where(
                secondments.c.expert_id == expert_id).order_by(secondments.c.starts_on))).all()
        return ExpertDetail(
            **self._expert_fields(row, reveal),
            visit_history=[VisitView(id=v.visit_id, visited_on=v.visited_on,
                                     visitors=v.visitors, occasion=v.occasion, issues=v.issues)
                           for v in visit_rows],
            follow_ups=[self._follow_up(f, None) for f in follow_up_rows],
            secondments=[self._secondment(s) for s in secondment_rows])

    async def visit_report(self, start: date | None, end: date | None) -> VisitReport:
        visited = sa.select(visits.c.expert_kind, sa.func.count(),
                            sa.func.count(sa.distinct(visits.c.expert_id)),
                            sa.func.coalesce(sa.func.sum(visits.c.issues), 0)).where(
            *_between(visits.c.visited_on, start, end)).group_by(visits.c.expert_kind)
        follow = sa.select(follow_ups.c.expert_kind, follow_ups.c.status, sa.func.count()).where(
            *_between(follow_ups.c.raised_on, start, end)).group_by(
            follow_ups.c.expert_kind, follow_ups.c.status)
        async with self.engine.connect() as conn:
            per_kind = {k: (n, d, int(i)) for k, n, d, i in (await conn.execute(visited)).all()}
            statuses = {(k, s): n for k, s, n in (await conn.execute(follow)).all()}
        by_kind = [VisitKindFigures(
            kind=k, visits=per_kind.get(k, (0, 0, 0))[0],
            experts_visited=per_kind.get(k, (0, 0, 0))[1],
            issues_raised=per_kind.get(k, (0, 0, 0))[2],
            follow_ups_closed=statuses.get((k, "closed"), 0),
            follow_ups_open=statuses.get((k, "open"), 0)) for k in EXPERT_KINDS]
        total = VisitKindFigures(kind="all", **{
            name: sum(getattr(f, name) for f in by_kind)
            for name in ("visits", "experts_visited", "issues_raised", "follow_ups_closed",
                         "follow_ups_open")})
        return VisitReport(period=Period(**{"from": start, "to": end}), by_kind=by_kind,
                           total=total)

    @staticmethod
    def _follow_up(row, as_of: date | None) -> FollowUpView:
        return FollowUpView(
            id=row.follow_up_id, expert_id=row.expert_id, expert_name=row.expert_name,
            expert_kind=row.expert_kind, visit_id=row.visit_id, raised_on=row.raised_on,
            description=row.description, action=row.action, owner=row.owner, due_on=row.due_on,
            status=row.status, overdue=bool(as_of and row.status == "open" and row.due_on < as_of),
            closed_on=row.closed_on, resolution=row.resolution)

    async def follow_ups(self, *, status: str | None, expert_kind: str | None,
                         overdue_on: date | None, as_of: date, limit: int,
                         cursor: str | None) -> FollowUpPage:
        """Follow-ups by due date. ``overdue_on`` keeps those still open and past due then."""
        query = sa.select(follow_ups).order_by(follow_ups.c.due_on,
                                               follow_ups.c.follow_up_id).limit(limit + 1)
        if status:
            query = query.where(follow_ups.c.status == status)
        if expert_kind:
            query = query.where(follow_ups.c.expert_kind == expert_kind)
        if overdue_on:
            query = query.where(follow_ups.c.status == "open", follow_ups.c.due_on < overdue_on)
        query = query.where(*_after(cursor, follow_ups.c.due_on, follow_ups.c.follow_up_id,
                                    date.fromisoformat))
        rows, next_cursor = _page(await self._all(query), limit,
                                  lambda r: [r.due_on.isoformat(), r.follow_up_id])
        return FollowUpPage(items=[self._follow_up(r, as_of) for r in rows],
                            next_cursor=next_cursor)

    @staticmethod
    def _secondment(row) -> SecondmentView:
        return SecondmentView(
            id=row.secondment_id, expert_id=row.expert_id, expert_name=row.expert_name,
            expert_kind=row.expert_kind, host_unit=row.host_unit, post=row.post,
            starts_on=row.starts_on, ends_on=row.ends_on, ended_on=row.ended_on,
            evaluation=row.evaluation)

    async def secondments(self, *, start: date | None, end: date | None,
                          expert_kind: str | None, limit: int, cursor: str | None
                          ) -> SecondmentPage:
        """Secondments that overlap the period, by start date."""
        last_day = sa.func.coalesce(secondments.c.ended_on, secondments.c.ends_on)
        filters = []
        if end is not None:
            filters.append(secondments.c.starts_on <= end)
        if start is not None:
            filters.append(last_day >= start)
        if expert_kind:
            filters.append(secondments.c.expert_kind == expert_kind)
        query = sa.select(secondments).where(
            *filters, *_after(cursor, secondments.c.starts_on, secondments.c.secondment_id,
                              date.fromisoformat)).order_by(
            secondments.c.starts_on, secondments.c.secondment_id).limit(limit + 1)
        async with self.engine.connect() as conn:
            total = await conn.scalar(sa.select(sa.func.count()).select_from(secondments).where(
                *filters))
            all_rows = list((await conn.execute(query)).all())
        rows, next_cursor = _page(all_rows, limit,
                                  lambda r: [r.starts_on.isoformat(), r.secondment_id])
        return SecondmentPage(items=[self._secondment(r) for r in rows], next_cursor=next_cursor,
                              total=total or 0)

    async def secondment(self, expert_id: str, secondment_id: str) -> SecondmentView:
        rows = await self._all(sa.select(secondments).where(
            secondments.c.secondment_id == secondment_id, secondments.c.expert_id == expert_id))
        if not rows:
            raise NotFound(f"secondment {secondment_id} not found")
        return self._secondment(rows[0])

    async def visit(self, expert_id: str, visit_id: str) -> VisitView:
        rows = await self._all(sa.select(visits).where(
            visits.c.visit_id == visit_id, visits.c.expert_id == expert_id))
        if not rows:
            raise NotFound(f"visit {visit_id} not found")
        v = rows[0]
        return VisitView(id=v.visit_id, visited_on=v.visited_on, visitors=v.visitors,
                         occasion=v.occasion, issues=v.issues)

    # internships -------------------------------------------------------------------------

    @staticmethod
    def _position_fields(row) -> dict:
        return dict(id=row.position_id, host_unit=row.host_unit, post=row.post, season=row.season,
                    slots=row.slots, placed=row.placed, starts_on=row.starts_on,
                    ends_on=row.ends_on, published_on=row.published_on, status=row.status,
                    completed_on=row.completed_on, version=row.version)

    @staticmethod
    def _placement(row) -> PlacementView:
        return PlacementView(id=row.placement_id, student_name=row.student_name, school=row.school,
                             major=row.major, placed_on=row.placed_on, status=row.status,
                             withdrawn_on=row.withdrawn_on)

    async def positions(self, *, season: str | None, status: str | None, host_unit: str | None,
                        limit: int, cursor: str | None) -> PositionPage:
        query = sa.select(positions).order_by(positions.c.host_unit,
                                              positions.c.position_id).limit(limit + 1)
        for column, value in ((positions.c.season, season), (positions.c.status, status),
                              (positions.c.host_unit, host_unit)):
            if value:
                query = query.where(column == value)
        query = query.where(*_after(cursor, positions.c.host_unit, positions.c.position_id))
        rows, next_cursor = _page(await self._all(query), limit,
                                  lambda r: [r.host_unit, r.position_id])
        return PositionPage(items=[PositionView(**self._position_fields(r)) for r in rows],
                            next_cursor=next_cursor)

    async def position(self, position_id: str) -> PositionDetail:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(positions).where(
                positions.c.position_id == position_id))).first()
            if row is None:
                raise NotFound(f"internship position {position_id} not found")
            placement_rows = (await conn.execute(sa.select(placements).where(
                placements.c.position_id == position_id).order_by(
                placements.c.placed_on, placements.c.placement_id))).all()
        return PositionDetail(**self._position_fields(row),
                              placements=[self._placement(p) for p in placement_rows])

    async def placement(self, position_id: str, placement_id: str) -> PlacementView:
        rows = await self._all(sa.select(placements).where(
            placements.c.placement_id == placement_id, placements.c.position_id == position_id))
        if not rows:
            raise NotFound(f"placement {placement_id} not found")
        return self._placement(rows[0])

    async def internship_report(self, start: date | None, end: date | None,
                                season: str | None) -> InternshipReport:
        filters = _between(positions.c.published_on, start, end)
        if season:
            filters.append(positions.c.season == season)
        completed = sa.func.sum(sa.case((positions.c.status == "completed", 1), else_=0))
        query = sa.select(positions.c.host_unit, sa.func.count(), sa.func.sum(positions.c.slots),
                          sa.func.sum(positions.c.placed), completed).where(*filters).group_by(
            positions.c.host_unit).order_by(positions.c.host_unit)
        by_unit = [HostUnitFigures(host_unit=u, positions=n, slots=int(s), placed=int(p),
                                   fill_rate=_rate(int(p), int(s)), completed_positions=int(c))
                   for u, n, s, p, c in await self._all(query)]
        slots = sum(u.slots for u in by_unit)
        placed = sum(u.placed for u in by_unit)
        total = InternshipFigures(positions=sum(u.positions for u in by_unit), slots=slots,
                                  placed=placed, fill_rate=_rate(placed, slots),
                                  completed_positions=sum(u.completed_positions for u in by_unit))
        return InternshipReport(period=Period(**{"from": start, "to": end}), season=season,
                                total=total, by_host_unit=by_unit)

    # universities ------------------------------------------------------------------------

    @staticmethod
    def _agreement(row) -> AgreementView:
        return AgreementView(id=row.agreement_id, university_id=row.university_id,
                             title=row.title, scope=row.scope, signed_on=row.signed_on,
                             term_ends_on=row.term_ends_on, status=row.status,
                             terminated_on=row.terminated_on)

    async def universities(self, *, limit: int, cursor: str | None) -> UniversityPage:
        query = sa.select(universities).where(
            *_after(cursor, universities.c.name, universities.c.university_id)).order_by(
            universities.c.name, universities.c.university_id).limit(limit + 1)
        rows, next_cursor = _page(await self._all(query), limit,
                                  lambda r: [r.name, r.university_id])
        return UniversityPage(items=[UniversityView(id=r.university_id, name=r.name, city=r.city,
                                                    version=r.version) for r in rows],
                              next_cursor=next_cursor)

    async def university(self, university_id: str) -> UniversityDetail:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(universities).where(
                universities.c.university_id == university_id))).first()
            if row is None:
                raise NotFound(f"university {university_id} not found")
            promotion_rows = (await conn.execute(sa.select(promotions).where(
                promotions.c.university_id == university_id).order_by(
                promotions.c.held_on, promotions.c.promotion_id))).all()
            agreement_rows = (await conn.execute(sa.select(agreements).where(
                agreements.c.university_id == university_id).order_by(
                agreements.c.signed_on))).all()
        return UniversityDetail(
            id=row.university_id, name=row.name, city=row.city, version=row.version,
            promotion_events=[PromotionView(id=p.promotion_id, title=p.title, held_on=p.held_on,
                                            attendees=p.attendees,
                                            positions_offered=p.positions_offered)
                              for p in promotion_rows],
            agreements=[self._agreement(a) for a in agreement_rows])

    async def agreement(self, university_id: str, agreement_id: str) -> AgreementView:
        rows = await self._all(sa.select(agreements).where(
            agreements.c.agreement_id == agreement_id,
            agreements.c.university_id == university_id))
        if not rows:
            raise NotFound(f"agreement {agreement_id} not found")
        return self._agreement(rows[0])

    async def university_report(self, start: date | None, end: date | None) -> UniversityReport:
        held, signed, in_force, engaged = _statements(
            "university_report", start, end, _university_report_statements)
        bounds = _bounds(start, end)
        async with self.engine.connect() as conn:
            events, attendees, offered = (await conn.execute(held, bounds)).one()
            return UniversityReport(
                period=Period(**{"from": start, "to": end}), promotion_events=events,
                attendees=int(attendees), positions_offered=int(offered),
                agreements_signed=await conn.scalar(signed, bounds) or 0,
                agreements_in_force_at_end=await conn.scalar(in_force, bounds) or 0,
                universities_engaged=await conn.scalar(engaged, bounds) or 0)
