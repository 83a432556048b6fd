"""Governance queries over the read models. Routes call one method here each.

Every method takes ``scope``: the township a township operator is confined to (None for
county-wide readers). A record of another township is 404; a list filter naming another
township is 403; a list is always confined to the scope.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.governance import DEFAULT_SLA_POLICY, SlaPolicy
from gateway.queries import _decode_cursor, _encode_cursor
from gateway.readmodels.governance import (
    LOCAL_TZ,
    access_entries,
    alerts,
    communities,
    complaint_dispatches,
    complaints,
    compound_periods,
    compounds,
    hires,
    name_key,
    rect_case_categories,
    rect_cases,
    rect_measures,
    rect_problems,
    reserve_candidates,
    resp_items,
    resp_version_items,
    resp_versions,
    rules,
    sla_policy,
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
    service_station_open: bool
    monitoring_connected: bool
    devices: int
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


# --- complaints ----------------------------------------------------------------------------------

OPEN_CLOCK_STATES = ("dispatched", "signed", "return_requested")
KPI_GROUPS = ("handling_unit", "community", "category", "township", "channel", "month", "all")


class HandlingUnitView(BaseModel):
    kind: str
    id: str
    name: str


class Deadlines(BaseModel):
    sign_for_due: datetime | None
    response_due: datetime | None
    resolve_due: datetime | None
    paused: bool = Field(description="Clocks paused: a return was granted, re-dispatch pending.")


class FollowUp(BaseModel):
    at: datetime
    resolved: bool
    satisfaction: str


class ComplaintView(BaseModel):
    id: str
    township_id: str
    community_id: str
    channel: str
    category: str
    urgency: str
    description: str
    contact_phone: str = Field(description="Masked unless the caller may read complainants' contacts.")
    state: str
    received_at: datetime
    handling_unit: HandlingUnitView | None
    dispatches: int
    deadlines: Deadlines
    signed_at: datetime | None
    contacted_at: datetime | None
    contacted_on_time: bool | None
    result: str | None
    result_at: datetime | None
    result_on_time: bool | None
    follow_up: FollowUp | None
    closed_at: datetime | None
    outcome: str | None
    returns_requested: int
    returns_granted: int
    extensions_requested: int
    extensions_granted: int
    reopen_count: int
    overdue: list[str] = Field(description="Deadlines passed without their step at `as_of`.")
    overdue_flags: int = Field(description="Supervision flags (督办) recorded.")
    version: int


class Ratio(BaseModel):
    numerator: int
    denominator: int
    rate: float | None = Field(description="numerator / denominator, 4 decimals; null if 0/0.")


class KpiRow(BaseModel):
    group: str = Field(description="The group's key (unit id, community id, category, month…).")
    label: str
    received: int
    dispatched: int
    completed: int
    response_rate: Ratio
    resolution_rate: Ratio
    satisfaction_rate: Ratio
    completion_rate: Ratio
    on_time_completion_rate: Ratio
    timely_sign_for_rate: Ratio
    return_rate: Ratio
    reopen_rate: Ratio


class KpiReport(BaseModel):
    group_by: str
    period_from: date | None
    period_to: date | None
    as_of: datetime
    formulas: dict[str, str] = Field(description="The formula of each rate, as applied.")
    rows: list[KpiRow]
    total: KpiRow


@dataclass(frozen=True)
class KpiFormulas:
    """The configurable parts of the complaint KPIs (REFERENCE.md §2.4)."""

    satisfied_ratings: frozenset[str] = field(
        default_factory=lambda: frozenset({"satisfied", "basically_satisfied"}))
    return_counts: str = "requested"  # or "granted"

    def describe(self) -> dict[str, str]:
        ratings = " + ".join(sorted(self.satisfied_ratings))
        return {
            "response_rate": "orders first contacted by the response deadline ÷ dispatched orders "
                             "due for response (contacted, or deadline passed at as_of)",
            "resolution_rate": "follow-ups rated resolved ÷ orders with a follow-up rating",
            "satisfaction_rate": f"follow-ups rated {ratings} ÷ orders with a follow-up rating",
            "completion_rate": "orders closed as completed ÷ dispatched orders",
            "on_time_completion_rate": "completed orders whose last result was reported by the "
                                       "result deadline ÷ completed orders",
            "timely_sign_for_rate": "dispatches signed by their sign-for deadline ÷ dispatches due "
                                    "for sign-for (signed, or deadline passed at as_of)",
            "return_rate": f"dispatches with a return {self.return_counts} ÷ dispatches",
            "reopen_rate": "completed orders reopened at least once ÷ completed orders",
        }


DEFAULT_KPI_FORMULAS = KpiFormulas()


def _ratio(numerator: int, denominator: int) -> Ratio:
    return Ratio(numerator=numerator, denominator=denominator,
                 rate=round(numerator / denominator, 4) if denominator else None)


def _effective(due: datetime | None, paused_since: datetime | None, as_of: datetime,
               ) -> datetime | None:
    """A deadline as it stands at ``as_of``: a paused clock moves it by the paused time."""
    if due is None:
        return None
    due = _aware(due)
    if paused_since is not None:
        due += as_of - _aware(paused_since)
    return due


def overdue_at(row, as_of: datetime) -> list[str]:
    """Deadlines of an open order that have passed at ``as_of`` without their step."""
    if row.state not in OPEN_CLOCK_STATES:
        return []
    out = []
    if row.state == "dispatched" and _aware(row.sign_for_due) < as_of:
        out.append("sign_for")
    if row.contacted_at is None and _aware(row.response_due) < as_of:
        out.append("response")
    if _aware(row.resolve_due) < as_of:
        out.append("resolve")
    return out


class _Tally:
    def __init__(self) -> None:
        self.received = self.dispatched = self.completed = 0
        self.response = [0, 0]
        self.resolution = [0, 0]
        self.satisfaction = [0, 0]
        self.completion = [0, 0]
        self.on_time = [0, 0]
        self.sign_for = [0, 0]
        self.returns = [0, 0]
        self.reopen = [0, 0]

    def order(self, row, as_of: datetime, formulas: KpiFormulas) -> None:
        self.received += 1
        if not row.dispatches:
            return
        self.dispatched += 1
        self.completion[1] += 1
        due = _effective(row.response_due, row.paused_since, as_of)
        if row.contacted_at is not None or (due is not None and due < as_of):
            self.response[1] += 1
            self.response[0] += bool(row.contacted_on_time)
        if row.satisfaction is not None:
            self.resolution[1] += 1
            self.satisfaction[1] += 1
            self.resolution[0] += bool(row.resolved)
            self.satisfaction[0] += row.satisfaction in formulas.satisfied_ratings
        if row.state == "closed" and row.outcome == "completed":
            self.completed += 1
            self.completion[0] += 1
            self.on_time[1] += 1
            self.on_time[0] += bool(row.result_on_time)
            self.reopen[1] += 1
            self.reopen[0] += row.reopen_count > 0

    def dispatch(self, row, as_of: datetime, formulas: KpiFormulas) -> None:
        self.returns[1] += 1
        if formulas.return_counts == "granted":
            self.returns[0] += bool(row.return_granted)
        else:
            self.returns[0] += row.return_requested_at is not None
        if row.signed_at is not None or _aware(row.sign_for_due) < as_of:
            self.sign_for[1] += 1
            self.sign_for[0] += bool(row.signed_on_time)

    def row(self, group: str, label: str) -> KpiRow:
        return KpiRow(
            group=group, label=label, received=self.received, dispatched=self.dispatched,
            completed=self.completed, response_rate=_ratio(*self.response),
            resolution_rate=_ratio(*self.resolution), satisfaction_rate=_ratio(*self.satisfaction),
            completion_rate=_ratio(*self.completion), on_time_completion_rate=_ratio(*self.on_time),
            timely_sign_for_rate=_ratio(*self.sign_for), return_rate=_ratio(*self.returns),
            reopen_rate=_ratio(*self.reopen))


def _complaint_filters(query, table, scope_township: str | None, *, community_id=None,
                       category=None, period_from=None, period_to=None):
    c = table.c
    if scope_township:
        query = query.where(c.township_id == scope_township)
    if community_id:
        query = query.where(complaints.c.community_id == community_id)
    if category:
        query = query.where(complaints.c.category == category)
    if period_from:
        query = query.where(complaints.c.received_on >= period_from)
    if period_to:
        query = query.where(complaints.c.received_on <= period_to)
    return query


class _ComplaintQueries:
    """Mixed into GovernanceQueries."""

    def _complaint(self, row, reveal: bool, as_of: datetime) -> ComplaintView:
        phone = self._unseal(row.phone_sealed) if reveal else None
        unit = (HandlingUnitView(kind=row.unit_kind, id=row.unit_id, name=row.unit_name)
                if row.unit_id else None)
        follow_up = (FollowUp(at=_aware(row.followed_up_at), resolved=row.resolved,
                              satisfaction=row.satisfaction) if row.satisfaction else None)
        paused = row.paused_since is not None and row.state == "received"
        return ComplaintView(
            id=row.complaint_id, township_id=row.township_id, community_id=row.community_id,
            channel=row.channel, category=row.category, urgency=row.urgency,
            description=row.description, contact_phone=phone or row.phone_masked,
            state=row.state, received_at=_aware(row.received_at), handling_unit=unit,
            dispatches=row.dispatches, deadlines=Deadlines(
                sign_for_due=_aware(row.sign_for_due) if row.state == "dispatched" else None,
                response_due=_effective(row.response_due, row.paused_since if paused else None,
                                        as_of),
                resolve_due=_effective(row.resolve_due, row.paused_since if paused else None,
                                       as_of), paused=paused),
            signed_at=_aware(row.signed_at), contacted_at=_aware(row.contacted_at),
            contacted_on_time=row.contacted_on_time, result=row.result,
            result_at=_aware(row.result_at), result_on_time=row.result_on_time,
            follow_up=follow_up, closed_at=_aware(row.closed_at), outcome=row.outcome,
            returns_requested=row.returns_requested, returns_granted=row.returns_granted,
            extensions_requested=row.extensions_requested,
            extensions_granted=row.extensions_granted, reopen_count=row.reopen_count,
            overdue=overdue_at(row, as_of), overdue_flags=row.overdue_flags, version=row.version)

    def _as_of(self, as_of: datetime | None) -> datetime:
        return (as_of or self.clock()).astimezone(UTC)

    async def complaint(self, complaint_id: str, scope: str | None, reveal: bool,
                        as_of: datetime | None = None) -> ComplaintView:
        row = await self._one(complaints, "complaint_id", complaint_id, scope, "complaint")
        return self._complaint(row, reveal, self._as_of(as_of))

    async def complaints(self, scope: str | None, *, township_id: str | None = None,
                         community_id: str | None = None, unit_id: str | None = None,
                         category: str | None = None, state: str | None = None,
                         overdue: bool | None = None, period_from: date | None = None,
                         period_to: date | None = None, as_of: datetime | None = None,
                         reveal: bool, limit: int, cursor: str | None) -> Page:
        as_of = self._as_of(as_of)
        c = complaints.c
        township = self._township_filter(scope, township_id)
        if community_id:
            await self._owner(communities, "community_id", community_id, scope, "community")
        query = _complaint_filters(sa.select(complaints), complaints, township,
                                   community_id=community_id, category=category,
                                   period_from=period_from, period_to=period_to)
        if unit_id:
            query = query.where(c.unit_id == unit_id)
        if state:
            query = query.where(c.state == state)
        if overdue is not None:
            passed = sa.and_(c.state.in_(OPEN_CLOCK_STATES), sa.or_(
                sa.and_(c.state == "dispatched", c.sign_for_due < as_of),
                sa.and_(c.contacted_at.is_(None), c.response_due < as_of),
                c.resolve_due < as_of))
            query = query.where(passed if overdue else sa.not_(passed))
        return await self._page(query, c.received_at, c.complaint_id, limit, cursor,
                                lambda r: self._complaint(r, reveal, as_of))

    async def complaint_kpis(self, scope: str | None, *, group_by: str,
                             township_id: str | None = None, community_id: str | None = None,
                             category: str | None = None, period_from: date | None = None,
                             period_to: date | None = None, as_of: datetime | None = None,
                             formulas: KpiFormulas = DEFAULT_KPI_FORMULAS) -> KpiReport:
        """KPIs of the orders received in the period (local dates), grouped. Unit-level rates
        (sign-for, returns) count dispatches per unit; the others count orders by their
        current handling unit."""
        as_of = self._as_of(as_of)
        township = self._township_filter(scope, township_id)
        if community_id:
            await self._owner(communities, "community_id", community_id, scope, "community")
        orders = _complaint_filters(sa.select(complaints), complaints, township,
                                    community_id=community_id, category=category,
                                    period_from=period_from, period_to=period_to)
        d = complaint_dispatches.c
        dispatch_rows = _complaint_filters(
            sa.select(complaint_dispatches, complaints.c.community_id, complaints.c.category,
                      complaints.c.channel, complaints.c.received_on).select_from(
                complaint_dispatches.join(complaints, complaints.c.complaint_id == d.complaint_id)),
            complaint_dispatches, township, community_id=community_id, category=category,
            period_from=period_from, period_to=period_to)
        async with self.engine.connect() as conn:
            order_rows = (await conn.execute(orders)).all()
            dispatch_list = (await conn.execute(dispatch_rows)).all()
            names = await self._group_names(conn, group_by)
        groups: dict[str, _Tally] = defaultdict(_Tally)
        total = _Tally()
        key = _GROUP_KEY[group_by]
        for row in order_rows:
            group = key(row)
            if group is not None:
                groups[group].order(row, as_of, formulas)
            total.order(row, as_of, formulas)
        for row in dispatch_list:
            groups[key(row)].dispatch(row, as_of, formulas)
            total.dispatch(row, as_of, formulas)
        rows = [tally.row(group, names.get(group, group)) for group, tally in sorted(groups.items())]
        return KpiReport(group_by=group_by, period_from=period_from, period_to=period_to,
                         as_of=as_of, formulas=formulas.describe(), rows=rows,
                         total=total.row("all", "all"))

    async def _group_names(self, conn, group_by: str) -> dict[str, str]:
        if group_by == "community":
            return {r.community_id: r.name for r in await conn.execute(
                sa.select(communities.c.community_id, communities.c.name))}
        if group_by == "township":
            return {r.township_id: r.name for r in await conn.execute(
                sa.select(townships.c.township_id, townships.c.name))}
        if group_by == "handling_unit":
            return {r.unit_id: r.unit_name for r in await conn.execute(
                sa.select(complaint_dispatches.c.unit_id, complaint_dispatches.c.unit_name))}
        return {}

    async def sla_policy(self) -> SlaPolicy:
        async with self.engine.connect() as conn:
            stored = await conn.scalar(sa.select(sla_policy.c.policy))
        return SlaPolicy.model_validate(stored) if stored else DEFAULT_SLA_POLICY


_GROUP_KEY: dict[str, Callable[[Any], str | None]] = {
    "handling_unit": lambda r: r.unit_id,
    "community": lambda r: r.community_id,
    "category": lambda r: r.category,
    "township": lambda r: r.township_id,
    "channel": lambda r: r.channel,
    "month": lambda r: r.received_on.strftime("%Y-%m"),
    "all": lambda r: "all",
}


class AlertView(BaseModel):
    id: str
    compound_id: str
    township_id: str
    type: str
    level: str
    device: str | None
    state: str
    raised_at: datetime
    acknowledge_due: datetime
    resolve_due: datetime
    acknowledged_at: datetime | None
    acknowledged_on_time: bool | None
    dispatched_at: datetime | None
    assignee_kind: str | None
    assignee: str | None
    resolved_at: datetime | None
    resolved_on_time: bool | None
    false_alarm_at: datetime | None
    note: str | None
    breaches: list[str] = Field(description="SLA clocks broken at `as_of`: acknowledge, resolve.")
    version: int


class TownshipCoverage(BaseModel):
    township_id: str
    compounds: int
    with_service_station: int
    coverage_rate: Ratio
    monitoring_connected: int


class AlertFigures(BaseModel):
    raised: int
    open: int
    resolved: int
    false_alarms: int
    by_type: dict[str, int]
    by_level: dict[str, int]
    mean_time_to_acknowledge_seconds: float | None = Field(
        description="Mean of acknowledged − raised over acknowledged alerts.")
    mean_time_to_resolve_seconds: float | None = Field(
        description="Mean of resolved − raised over resolved alerts (false alarms excluded).")
    acknowledge_breaches: int = Field(description="Acknowledged late, or unacknowledged past due.")
    resolve_breaches: int = Field(description="Resolved late, or unresolved past due "
                                  "(false alarms never breach the resolve clock).")
    alerts_with_breach: int


class CompoundMetrics(BaseModel):
    as_of: datetime
    on: date = Field(description="Local date the station and monitoring figures are taken on.")
    compounds: int
    with_service_station: int
    coverage_rate: Ratio = Field(description="Compounds with an open service station ÷ compounds.")
    coverage_target: float
    meets_target: bool
    monitoring_connected: int
    by_township: list[TownshipCoverage]
    alerts: AlertFigures = Field(description="Alerts raised within the period.")


def alert_breaches(row, as_of: datetime) -> list[str]:
    out = []
    acked = _aware(row.acknowledged_at)
    if (acked or as_of) > _aware(row.acknowledge_due) and (acked or row.state == "raised"):
        out.append("acknowledge")
    resolved = _aware(row.resolved_at)
    if row.state != "false_alarm" and (resolved or as_of) > _aware(row.resolve_due):
        out.append("resolve")
    return out


class _CompoundQueries:
    """Mixed into GovernanceQueries."""

    def _alert(self, row, as_of: datetime) -> AlertView:
        return AlertView(
            id=row.alert_id, compound_id=row.compound_id, township_id=row.township_id,
            type=row.type, level=row.level, device=row.device, state=row.state,
            raised_at=_aware(row.raised_at), acknowledge_due=_aware(row.acknowledge_due),
            resolve_due=_aware(row.resolve_due), acknowledged_at=_aware(row.acknowledged_at),
            acknowledged_on_time=row.acknowledged_on_time, dispatched_at=_aware(row.dispatched_at),
            assignee_kind=row.assignee_kind, assignee=row.assignee,
            resolved_at=_aware(row.resolved_at), resolved_on_time=row.resolved_on_time,
            false_alarm_at=_aware(row.false_alarm_at), note=row.note,
            breaches=alert_breaches(row, as_of), version=row.version)

    async def alert(self, alert_id: str, scope: str | None, as_of: datetime | None = None,
                    ) -> AlertView:
        row = await self._one(alerts, "alert_id", alert_id, scope, "alert")
        return self._alert(row, self._as_of(as_of))

    async def alerts(self, scope: str | None, *, township_id: str | None = None,
                     compound_id: str | None = None, state: str | None = None,
                     level: str | None = None, type_: str | None = None,
                     as_of: datetime | None = None, limit: int, cursor: str | None) -> Page:
        as_of = self._as_of(as_of)
        a = alerts.c
        query = sa.select(alerts)
        if township := self._township_filter(scope, township_id):
            query = query.where(a.township_id == township)
        if compound_id:
            await self._owner(compounds, "compound_id", compound_id, scope, "compound")
            query = query.where(a.compound_id == compound_id)
        for column, value in ((a.state, state), (a.level, level), (a.type, type_)):
            if value:
                query = query.where(column == value)
        return await self._page(query, a.raised_at, a.alert_id, limit, cursor,
                                lambda r: self._alert(r, as_of))

    async def compound_metrics(self, scope: str | None, *, township_id: str | None = None,
                               community_id: str | None = None, as_of: datetime | None = None,
                               period_from: date | None = None, period_to: date | None = None,
                               target: float = 0.7) -> CompoundMetrics:
        as_of = self._as_of(as_of)
        on = as_of.astimezone(LOCAL_TZ).date()
        township = self._township_filter(scope, township_id)
        if community_id:
            await self._owner(communities, "community_id", community_id, scope, "community")
        query, alert_query = _compound_statements(bool(township), bool(community_id))
        params = {"on": on, "township": township, "community_id": community_id}
        async with self.engine.connect() as conn:
            per = (await conn.execute(query, params)).all()
            alert_rows = [r for r in (await conn.execute(alert_query, params)).all()
                          if (period_from is None or _local_day(r.raised_at) >= period_from)
                          and (period_to is None or _local_day(r.raised_at) <= period_to)]
        by_township = [TownshipCoverage(
            township_id=t, compounds=n, with_service_station=st, coverage_rate=_ratio(st, n),
            monitoring_connected=mon) for t, n, st, mon in per]
        total = sum(r.compounds for r in by_township)
        with_station = sum(r.with_service_station for r in by_township)
        coverage = _ratio(with_station, total)
        return CompoundMetrics(
            as_of=as_of, on=on, compounds=total, with_service_station=with_station,
            coverage_rate=coverage, coverage_target=target,
            meets_target=bool(total) and with_station >= target * total,
            monitoring_connected=sum(r.monitoring_connected for r in by_township),
            by_township=by_township, alerts=_alert_figures(alert_rows, as_of))


_COMPOUND_STATEMENTS: dict[tuple[bool, bool], tuple] = {}


def _compound_statements(by_township: bool, by_community: bool) -> tuple:
    """``compound_metrics``' two selects, built once per filter combination with the values
    as parameters (the dashboard runs them for every new period; building them cost more
    than running them)."""
    built = _COMPOUND_STATEMENTS.get((by_township, by_community))
    if built is not None:
        return built
    k, p = compounds.c, compound_periods.c
    on = sa.bindparam("on", type_=sa.Date)
    base = sa.select(k.compound_id, k.township_id).where(
        sa.or_(k.registered_on.is_(None), k.registered_on <= on))
    if by_township:
        base = base.where(k.township_id == sa.bindparam("township", type_=k.township_id.type))
    if by_community:
        base = base.where(k.community_id == sa.bindparam("community_id",
                                                         type_=k.community_id.type))
    base = base.subquery()

    def running(facility: str):
        return sa.select(p.compound_id).where(
            p.facility == facility, p.start_on <= on,
            sa.or_(p.end_on.is_(None), p.end_on > on)).distinct().subquery()

    station, monitoring = running("station"), running("monitoring")
    query = sa.select(
        base.c.township_id, sa.func.count(),
        sa.func.count(station.c.compound_id), sa.func.count(monitoring.c.compound_id),
    ).select_from(base.outerjoin(station, station.c.compound_id == base.c.compound_id)
                  .outerjoin(monitoring, monitoring.c.compound_id == base.c.compound_id)
                  ).group_by(base.c.township_id).order_by(base.c.township_id)
    alert_query = sa.select(alerts)
    if by_township:
        alert_query = alert_query.where(
            alerts.c.township_id == sa.bindparam("township", type_=alerts.c.township_id.type))
    if by_community:
        alert_query = alert_query.where(alerts.c.compound_id.in_(sa.select(k.compound_id).where(
            k.community_id == sa.bindparam("community_id", type_=k.community_id.type))))
    built = _COMPOUND_STATEMENTS[by_township, by_community] = (query, alert_query)
    return built


def _local_day(value: datetime) -> date:
    return _aware(value).astimezone(LOCAL_TZ).date()


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _alert_figures(rows, as_of: datetime) -> AlertFigures:
    by_type: dict[str, int] = defaultdict(int)
    by_level: dict[str, int] = defaultdict(int)
    ack, res = [], []
    breaches = {"acknowledge": 0, "resolve": 0, "any": 0}
    for r in rows:
        by_type[r.type] += 1
        by_level[r.level] += 1
        if r.acknowledged_at is not None:
            ack.append((_aware(r.acknowledged_at) - _aware(r.raised_at)).total_seconds())
        if r.resolved_at is not None:
            res.append((_aware(r.resolved_at) - _aware(r.raised_at)).total_seconds())
        broken = alert_breaches(r, as_of)
        for b in broken:
            breaches[b] += 1
        breaches["any"] += bool(broken)
    return AlertFigures(
        raised=len(rows), open=sum(r.state in ("raised", "acknowledged", "dispatched") for r in rows),
        resolved=sum(r.state == "resolved" for r in rows),
        false_alarms=sum(r.state == "false_alarm" for r in rows), by_type=dict(sorted(by_type.items())),
        by_level=dict(sorted(by_level.items())), mean_time_to_acknowledge_seconds=_mean(ack),
        mean_time_to_resolve_seconds=_mean(res), acknowledge_breaches=breaches["acknowledge"],
        resolve_breaches=breaches["resolve"], alerts_with_breach=breaches["any"])


# --- rectification -------------------------------------------------------------------------------

RECT_GROUPS = ("category", "township", "year", "all")


class MeasureView(BaseModel):
    id: str
    problem_id: str
    action: str
    owner: str
    adopted_on: date
    due_on: date
    completed_on: date | None
    completed_on_time: bool | None
    overdue: bool = Field(description="Not completed and past its due date at `as_of`.")


class ProblemView(BaseModel):
    id: str
    category: str
    description: str
    found_on: date
    resolved_on: date | None
    measures: list[MeasureView]


class CaseSummaryView(BaseModel):
    id: str
    village_id: str
    township_id: str
    year: int
    categories: list[str]
    state: str
    opened_on: date
    failed_reviews: int
    last_score: int | None
    accepted_on: date | None
    signed_off_on: date | None
    reopen_count: int
    version: int


class CaseView(CaseSummaryView):
    criteria: list[str]
    sign_off_document: str | None
    problems: list[ProblemView]


class OverdueMeasureView(MeasureView):
    case_id: str
    township_id: str
    year: int
    category: str


class RectificationRow(BaseModel):
    group: str
    cases: int
    signed_off: int
    sign_off_rate: Ratio = Field(description="Cases signed off ÷ cases.")
    problems_found: int
    problems_solved: int
    measures_adopted: int
    measures_completed: int
    measure_completion_rate: Ratio = Field(description="Measures completed ÷ adopted.")
    overdue_measures: int = Field(description="Not completed and past due at `as_of`.")


class RectificationSummary(BaseModel):
    group_by: str
    year: int | None
    as_of: date
    rows: list[RectificationRow]
    total: RectificationRow
    repeat_listed_villages: int = Field(
        description="Villages listed in two or more years, or whose case was reopened.")


class _RectificationQueries:
    """Mixed into GovernanceQueries."""

    def _today(self, as_of: date | None) -> date:
        return as_of or self.clock().astimezone(LOCAL_TZ).date()

    @staticmethod
    def _case_summary(row) -> dict:
        return dict(
            id=row.case_id, village_id=row.village_id, township_id=row.township_id, year=row.year,
            categories=row.categories.split(","), state=row.state, opened_on=row.opened_on,
            failed_reviews=row.failed_reviews, last_score=row.last_score,
            accepted_on=row.accepted_on, signed_off_on=row.signed_off_on,
            reopen_count=row.reopen_count, version=row.version)

    @staticmethod
    def _measure(row, on: date) -> dict:
        return dict(id=row.measure_id, problem_id=row.problem_id, action=row.action,
                    owner=row.owner, adopted_on=row.adopted_on, due_on=row.due_on,
                    completed_on=row.completed_on, completed_on_time=row.completed_on_time,
                    overdue=row.completed_on is None and row.due_on < on)

    async def rectification_case(self, case_id: str, scope: str | None,
                                 as_of: date | None = None) -> CaseView:
        on = self._today(as_of)
        row = await self._one(rect_cases, "case_id", case_id, scope, "rectification case")
        async with self.engine.connect() as conn:
            problems = (await conn.execute(sa.select(rect_problems).where(
                rect_problems.c.case_id == case_id))).all()
            measures = (await conn.execute(sa.select(rect_measures).where(
                rect_measures.c.case_id == case_id))).all()
        by_problem: dict[str, list] = defaultdict(list)
        for m in sorted(measures, key=lambda m: int(m.measure_id[1:])):
            by_problem[m.problem_id].append(MeasureView(**self._measure(m, on)))
        return CaseView(
            **self._case_summary(row), criteria=row.criteria,
            sign_off_document=row.sign_off_document,
            problems=[ProblemView(id=p.problem_id, category=p.category, description=p.description,
                                  found_on=p.found_on, resolved_on=p.resolved_on,
                                  measures=by_problem[p.problem_id])
                      for p in sorted(problems, key=lambda p: int(p.problem_id[1:]))])

    async def rectification_cases(self, scope: str | None, *, township_id: str | None = None,
                                  village_id: str | None = None, year: int | None = None,
                                  state: str | None = None, category: str | None = None,
                                  limit: int, cursor: str | None) -> Page:
        c = rect_cases.c
        query = sa.select(rect_cases)
        if township := self._township_filter(scope, township_id):
            query = query.where(c.township_id == township)
        if village_id:
            await self._owner(villages, "village_id", village_id, scope, "village")
            query = query.where(c.village_id == village_id)
        if year:
            query = query.where(c.year == year)
        if state:
            query = query.where(c.state == state)
        if category:
            query = query.where(c.case_id.in_(sa.select(rect_case_categories.c.case_id).where(
                rect_case_categories.c.category == category)))
        return await self._page(query, c.village_id, c.case_id, limit, cursor,
                                lambda r: CaseSummaryView(**self._case_summary(r)))

    async def overdue_measures(self, scope: str | None, *, township_id: str | None = None,
                               year: int | None = None, as_of: date | None = None,
                               limit: int, cursor: str | None) -> Page:
        on = self._today(as_of)
        m = rect_measures.c
        query = sa.select(rect_measures).where(m.completed_on.is_(None), m.due_on < on)
        if township := self._township_filter(scope, township_id):
            query = query.where(m.township_id == township)
        if year:
            query = query.where(m.year == year)
        return await self._page(query, m.due_on, m.measure_id, limit, cursor, lambda r: (
            OverdueMeasureView(**self._measure(r, on), case_id=r.case_id,
                               township_id=r.township_id, year=r.year, category=r.category)))

    async def rectification_summary(self, scope: str | None, *, group_by: str,
                                    township_id: str | None = None, year: int | None = None,
                                    as_of: date | None = None) -> RectificationSummary:
        """Cases by the categories they were listed under; problems by their category;
        measures by their problem's category."""
        on = self._today(as_of)
        township = self._township_filter(scope, township_id)

        def confine(query, table):
            if township:
                query = query.where(table.c.township_id == township)
            if year:
                query = query.where(table.c.year == year)
            return query

        async with self.engine.connect() as conn:
            cases = (await conn.execute(confine(sa.select(rect_cases), rect_cases))).all()
            categories = (await conn.execute(confine(sa.select(rect_case_categories),
                                                     rect_case_categories))).all()
            problems = (await conn.execute(confine(sa.select(rect_problems), rect_problems))).all()
            measures = (await conn.execute(confine(sa.select(rect_measures), rect_measures))).all()
            history_query = sa.select(rect_cases.c.village_id, rect_cases.c.year,
                                      rect_cases.c.reopen_count)
            if township:  # repeat listing looks across all years
                history_query = history_query.where(rect_cases.c.township_id == township)
            history = (await conn.execute(history_query)).all()
        case_by_id = {c.case_id: c for c in cases}
        tallies: dict[str, dict] = defaultdict(lambda: defaultdict(int))
        total: dict = defaultdict(int)

        def keys(category: str | None, case) -> list[str]:
            return {"category": [category] if category else [], "township": [case.township_id],
                    "year": [str(case.year)], "all": ["all"]}[group_by]

        for case in cases:
            groups = ([k.category for k in categories if k.case_id == case.case_id]
                      if group_by == "category" else keys(None, case))
            for target in [*(tallies[g] for g in groups), total]:
                target["cases"] += 1
                target["signed_off"] += case.state == "signed_off"
        for p in problems:
            for target in (tallies[keys(p.category, case_by_id[p.case_id])[0]], total):
                target["problems_found"] += 1
                target["problems_solved"] += p.resolved_on is not None
        for m in measures:
            for target in (tallies[keys(m.category, case_by_id[m.case_id])[0]], total):
                target["measures_adopted"] += 1
                target["measures_completed"] += m.completed_on is not None
                target["overdue_measures"] += m.completed_on is None and m.due_on < on

        def row(group: str, t: dict) -> RectificationRow:
            return RectificationRow(
                group=group, cases=t["cases"], signed_off=t["signed_off"],
                sign_off_rate=_ratio(t["signed_off"], t["cases"]),
                problems_found=t["problems_found"], problems_solved=t["problems_solved"],
                measures_adopted=t["measures_adopted"],
                measures_completed=t["measures_completed"],
                measure_completion_rate=_ratio(t["measures_completed"], t["measures_adopted"]),
                overdue_measures=t["overdue_measures"])

        years: dict[str, set] = defaultdict(set)
        reopened: set[str] = set()
        for h in history:
            years[h.village_id].add(h.year)
            if h.reopen_count:
                reopened.add(h.village_id)
        repeat = {v for v, ys in years.items() if len(ys) > 1} | reopened
        return RectificationSummary(
            group_by=group_by, year=year, as_of=on,
            rows=[row(g, t) for g, t in sorted(tallies.items())], total=row("all", total),
            repeat_listed_villages=len(repeat))


# --- reserve pipeline ----------------------------------------------------------------------------

RESERVE_STAGES = ("identified", "surveyed", "talked", "on_trial", "trial_completed", "qualified",
                  "exited")
FUNNEL_GROUPS = ("township", "village", "source", "all")


class CandidateView(BaseModel):
    id: str
    village_id: str
    township_id: str
    name: str
    source: str
    leader_candidate: bool
    target_post: str | None
    birth_year: int | None
    education: str | None
    party_member: bool
    stage: str
    added_on: date
    surveyed_on: date | None
    talked_on: date | None
    willing: bool | None
    trial_post: str | None
    trial_start_on: date | None
    trial_planned_end_on: date | None
    trial_end_on: date | None
    evaluation: str | None
    qualified_on: date | None
    exited_on: date | None
    exit_reason: str | None
    exited_from: str | None
    version: int


class StageCounts(BaseModel):
    surveyed: int = 0
    talked: int = 0
    on_trial: int = 0
    trial_completed: int = 0
    qualified: int = 0


class FunnelRow(BaseModel):
    group: str
    label: str
    candidates: int
    leader_candidates: int
    reached: StageCounts = Field(description="Candidates who ever reached each stage.")
    current: dict[str, int] = Field(description="Candidates now at each stage (exited included).")
    exited: int
    qualified_now: int = Field(description="Qualified and still in the reserve.")


class Funnel(BaseModel):
    group_by: str
    rows: list[FunnelRow]
    total: FunnelRow


class VillageReserve(BaseModel):
    village_id: str
    name: str
    township_id: str
    candidates: int
    qualified: int


class _ReserveQueries:
    """Mixed into GovernanceQueries."""

    @staticmethod
    def _candidate(row) -> CandidateView:
        data = {c: getattr(row, c) for c in CandidateView.model_fields if c != "id"}
        return CandidateView(id=row.candidate_id, **data)

    async def reserve_candidate(self, candidate_id: str, scope: str | None) -> CandidateView:
        return self._candidate(await self._one(reserve_candidates, "candidate_id", candidate_id,
                                               scope, "reserve candidate"))

    def _reserve_query(self, query, scope, township_id, village_id, leader_candidate):
        r = reserve_candidates.c
        if township := self._township_filter(scope, township_id):
            query = query.where(r.township_id == township)
        if village_id:
            query = query.where(r.village_id == village_id)
        if leader_candidate is not None:
            query = query.where(r.leader_candidate == leader_candidate)
        return query

    async def reserve_candidates(self, scope: str | None, *, township_id: str | None = None,
                                 village_id: str | None = None, stage: str | None = None,
                                 leader_candidate: bool | None = None, limit: int,
                                 cursor: str | None) -> Page:
        r = reserve_candidates.c
        if village_id:
            await self._owner(villages, "village_id", village_id, scope, "village")
        query = self._reserve_query(sa.select(reserve_candidates), scope, township_id,
                                    village_id, leader_candidate)
        if stage:
            query = query.where(r.stage == stage)
        return await self._page(query, r.name, r.candidate_id, limit, cursor, self._candidate)

    async def reserve_funnel(self, scope: str | None, *, group_by: str,
                             township_id: str | None = None, village_id: str | None = None,
                             leader_candidate: bool | None = None) -> Funnel:
        r = reserve_candidates.c
        if village_id:
            await self._owner(villages, "village_id", village_id, scope, "village")
        query = self._reserve_query(sa.select(
            r.township_id, r.village_id, r.source, r.leader_candidate, r.stage, r.surveyed_on,
            r.talked_on, r.trial_start_on, r.trial_end_on, r.qualified_on), scope, township_id,
            village_id, leader_candidate)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            names = ({v.village_id: v.name for v in await conn.execute(
                sa.select(villages.c.village_id, villages.c.name))} if group_by == "village" else
                {t.township_id: t.name for t in await conn.execute(
                    sa.select(townships.c.township_id, townships.c.name))})
        key = {"township": lambda x: x.township_id, "village": lambda x: x.village_id,
               "source": lambda x: x.source, "all": lambda x: "all"}[group_by]
        groups: dict[str, list] = defaultdict(list)
        for row in rows:
            groups[key(row)].append(row)

        def funnel_row(group: str, members: list) -> FunnelRow:
            current = {stage: 0 for stage in RESERVE_STAGES}
            for m in members:
                current[m.stage] += 1
            return FunnelRow(
                group=group, label=names.get(group, group), candidates=len(members),
                leader_candidates=sum(m.leader_candidate for m in members),
                reached=StageCounts(
                    surveyed=sum(m.surveyed_on is not None for m in members),
                    talked=sum(m.talked_on is not None for m in members),
                    on_trial=sum(m.trial_start_on is not None for m in members),
                    trial_completed=sum(m.trial_end_on is not None for m in members),
                    qualified=sum(m.qualified_on is not None for m in members)),
                current=current, exited=current["exited"], qualified_now=current["qualified"])

        return Funnel(group_by=group_by,
                      rows=[funnel_row(g, m) for g, m in sorted(groups.items())],
                      total=funnel_row("all", rows))

    async def villages_without_qualified_reserve(self, scope: str | None, *,
                                                 township_id: str | None = None,
                                                 minimum: int = 1) -> list[VillageReserve]:
        """Villages with fewer than ``minimum`` qualified reserves still in the reserve."""
        r, v = reserve_candidates.c, villages.c
        counts = sa.select(
            r.village_id, sa.func.count().label("candidates"),
            sa.func.sum(sa.case((r.stage == "qualified", 1), else_=0)).label("qualified"),
        ).group_by(r.village_id).subquery()
        query = sa.select(v.village_id, v.name, v.township_id,
                          sa.func.coalesce(counts.c.candidates, 0),
                          sa.func.coalesce(counts.c.qualified, 0)).select_from(
            villages.outerjoin(counts, counts.c.village_id == v.village_id)).where(
            sa.func.coalesce(counts.c.qualified, 0) < minimum).order_by(v.township_id, v.name)
        if township := self._township_filter(scope, township_id):
            query = query.where(v.township_id == township)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [VillageReserve(village_id=a, name=b, township_id=c, candidates=d, qualified=e)
                for a, b, c, d, e in rows]


# --- responsibility list and village access lists -----------------------------------------------

class CooperatingView(BaseModel):
    department: str
    duty: str


class ItemView(BaseModel):
    code: str
    matter: str
    domain: str
    lead_department: str
    lead_duty: str
    township_duty: str
    cooperating: list[CooperatingView]
    legal_basis: str


class DraftItemView(ItemView):
    status: str = Field(description="active or repealed in the draft.")
    pending: str | None = Field(description="added / amended / repealed since the last version.")


class VersionView(BaseModel):
    number: int
    effective_on: date
    document_number: str
    items: int
    added: list[str]
    amended: list[str]
    repealed: list[str]


class PublishedList(BaseModel):
    on: date
    version: VersionView
    items: list[ItemView]
    by_domain: dict[str, int] = Field(description="Items (as filtered) per domain.")
    by_lead_department: dict[str, int] = Field(description="Items (as filtered) per lead department.")


class ItemChange(BaseModel):
    version: int
    effective_on: date
    document_number: str
    change: str = Field(description="added, amended or repealed in this version.")
    item: ItemView | None = Field(description="The item as published (null once repealed).")


class AccessEntryView(BaseModel):
    id: str
    kind: str
    name: str
    basis: str
    requesting_organ: str | None
    admitted_on: date
    removed_on: date | None
    removal_basis: str | None


class AccessCheck(BaseModel):
    question: str
    name: str
    on: date
    allowed: bool
    answer: str
    entry: AccessEntryView | None = Field(description="The entry the answer rests on, if any.")


CHECK_KINDS = {"task": ("negative", "statutory_duty", "assistance"),
               "certificate": ("certificate",), "signboard": ("signboard",)}


def _item(row) -> dict:
    return dict(code=row.code, matter=row.matter, domain=row.domain,
                lead_department=row.lead_department, lead_duty=row.lead_duty,
                township_duty=row.township_duty, cooperating=row.cooperating,
                legal_basis=row.legal_basis)


def _version(row) -> VersionView:
    return VersionView(number=row.number, effective_on=row.effective_on,
                       document_number=row.document_number, items=row.items, added=row.added,
                       amended=row.amended, repealed=row.repealed)


def _entry(row) -> AccessEntryView:
    return AccessEntryView(id=row.entry_id, kind=row.kind, name=row.name, basis=row.basis,
                           requesting_organ=row.requesting_organ, admitted_on=row.admitted_on,
                           removed_on=row.removed_on, removal_basis=row.removal_basis)


class _ListQueries:
    """Mixed into GovernanceQueries. County-wide lists: every reader sees them."""

    async def published_list(self, *, on: date | None = None, domain: str | None = None,
                             lead_department: str | None = None) -> PublishedList:
        on = self._today(on)
        v, i = resp_versions.c, resp_version_items.c
        async with self.engine.connect() as conn:
            version = (await conn.execute(sa.select(resp_versions).where(v.effective_on <= on)
                                          .order_by(v.effective_on.desc(), v.number.desc())
                                          .limit(1))).first()
            if version is None:
                raise NotFound(f"no version of the responsibility list is in force on {on}")
            query = sa.select(resp_version_items).where(i.number == version.number)
            if domain:
                query = query.where(i.domain == domain)
            if lead_department:
                query = query.where(i.lead_department == lead_department)
            rows = (await conn.execute(query.order_by(i.code))).all()
        by_domain: dict[str, int] = defaultdict(int)
        by_lead: dict[str, int] = defaultdict(int)
        for row in rows:
            by_domain[row.domain] += 1
            by_lead[row.lead_department] += 1
        return PublishedList(on=on, version=_version(version),
                             items=[ItemView(**_item(r)) for r in rows],
                             by_domain=dict(sorted(by_domain.items())),
                             by_lead_department=dict(sorted(by_lead.items())))

    async def list_versions(self) -> list[VersionView]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(resp_versions).order_by(
                resp_versions.c.number))).all()
        return [_version(r) for r in rows]

    async def draft_items(self, *, status: str | None, pending: bool | None, limit: int,
                          cursor: str | None) -> Page:
        r = resp_items.c
        query = sa.select(resp_items)
        if status:
            query = query.where(r.status == status)
        if pending is not None:
            query = query.where(r.pending.is_not(None) if pending else r.pending.is_(None))
        return await self._page(query, r.domain, r.code, limit, cursor, lambda row: DraftItemView(
            **_item(row), status=row.status, pending=row.pending))

    async def item_history(self, code: str) -> list[ItemChange]:
        async with self.engine.connect() as conn:
            versions = (await conn.execute(sa.select(resp_versions).order_by(
                resp_versions.c.number))).all()
            published = {r.number: r for r in await conn.execute(sa.select(resp_version_items).where(
                resp_version_items.c.code == code))}
            drafted = await conn.scalar(sa.select(sa.func.count()).where(resp_items.c.code == code))
        if not drafted:
            raise NotFound(f"item {code} not found")
        history = []
        for version in versions:
            change = next((kind for kind in ("added", "amended", "repealed")
                           if code in getattr(version, kind)), None)
            if change:
                row = published.get(version.number)
                history.append(ItemChange(
                    version=version.number, effective_on=version.effective_on,
                    document_number=version.document_number, change=change,
                    item=ItemView(**_item(row)) if row else None))
        return history

    async def access_entries(self, *, kind: str | None = None, on: date | None = None,
                             include_removed: bool = False, limit: int,
                             cursor: str | None) -> Page:
        a = access_entries.c
        query = sa.select(access_entries)
        if kind:
            query = query.where(a.kind == kind)
        if not include_removed:
            on = self._today(on)
            query = query.where(a.admitted_on <= on, sa.or_(a.removed_on.is_(None),
                                                            a.removed_on > on))
        return await self._page(query, a.name, a.entry_id, limit, cursor, _entry)

    async def access_check(self, question: str, name: str, on: date | None = None) -> AccessCheck:
        """May a village be asked to do X (task), issue certificate Y, hang signboard Z — on a
        date. A task on the negative list is refused even if another list names it."""
        on = self._today(on)
        a = access_entries.c
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(access_entries).where(
                a.name_key == name_key(name), a.kind.in_(CHECK_KINDS[question]),
                a.admitted_on <= on, sa.or_(a.removed_on.is_(None), a.removed_on > on)))).all()
        by_kind = {r.kind: r for r in rows}
        found = next((by_kind[k] for k in CHECK_KINDS[question] if k in by_kind), None)
        allowed = found is not None and found.kind != "negative"
        if found is None:
            answer = {"task": "not on the statutory-duty or assistance list: may not be assigned",
                      "certificate": "not on the certificate list: a village does not issue it",
                      "signboard": "not on the signboard list: a village does not hang it",
                      }[question]
        elif found.kind == "negative":
            answer = "on the negative list: villages must not be asked to do it"
        else:
            answer = f"on the {found.kind.replace('_', ' ')} list"
        return AccessCheck(question=question, name=name, on=on, allowed=allowed, answer=answer,
                           entry=_entry(found) if found else None)


class GovernanceQueries(_ComplaintQueries, _CompoundQueries, _RectificationQueries,
                        _ReserveQueries, _ListQueries):
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
                            registered_on=row.registered_on,
                            service_station_open=row.station_open,
                            monitoring_connected=row.monitoring_connected, devices=row.devices,
                            version=row.version)

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
