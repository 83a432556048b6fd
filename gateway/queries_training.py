"""Training queries over the read models. Routes call one method here each.

Rates are ratios rounded to 4 places, always given with the counts they come from:
attendance rate = (present + late + left early) / attendance entries recorded; leave rate =
leave / entries recorded; completion rate = completed / ever enrolled (withdrawn included).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.queries import BadCursor, _decode_cursor, _encode_cursor
from gateway.readmodels.personnel import cadres as rm_cadres
from gateway.readmodels.training import (
    attendance,
    campaign_chapters,
    campaigns,
    classes,
    enrolments,
    mass_events,
    sessions,
)
from services.kernel.errors import DomainRuleViolation, NotFound
from services.kernel.settings import HourRequirement

__all__ = [
    "ATTENDED",
    "ClassDetail",
    "ClassPage",
    "ClassesHeldReport",
    "CreditHoursReport",
    "CreditHoursView",
    "MassEventReport",
    "StudyCampaignView",
    "TrainingQueries",
    "rate",
]

ATTENDED = ("present", "late", "left_early")
STATUSES = ("present", "late", "left_early", "absent", "leave")
DEFAULT_LEVEL = "section"
"""Until personnel publishes rank and post events, every cadre is assumed section level."""


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


class AttendanceCounts(BaseModel):
    present: int = 0
    late: int = 0
    left_early: int = 0
    absent: int = 0
    leave: int = 0
    recorded: int = Field(0, description="Attendance entries recorded (trainee × session).")


class ClassStats(BaseModel):
    enrolled: int = Field(description="Trainees ever enrolled, withdrawn included.")
    active: int = Field(description="Enrolled, neither withdrawn nor completed yet.")
    withdrawn: int
    completed: int
    attendance: AttendanceCounts
    attendance_rate: float | None = Field(description="(present+late+left_early) / recorded.")
    leave_rate: float | None = Field(description="leave / recorded.")
    completion_rate: float | None = Field(description="completed / enrolled.")


class LecturerView(BaseModel):
    name: str
    title: str | None
    affiliation: str | None
    invited: bool


class TutorView(BaseModel):
    name: str
    title: str | None


class SessionView(BaseModel):
    class_id: str
    session_no: int
    topic: str
    lecturer: LecturerView
    tutor: TutorView
    held_on: date
    hours: int
    attendance: AttendanceCounts
    attendance_rate: float | None


class ClassSummary(BaseModel):
    id: str
    name: str
    kind: str
    mode: str
    off_the_job: bool
    starts_on: date
    ends_on: date
    planned_hours: int
    capacity: int
    organizer: str | None
    venue: str | None
    status: str
    opened_on: date | None
    completed_on: date | None
    cancelled_on: date | None
    sessions: int
    session_hours: int
    enrolled: int
    version: int


class ClassDetail(ClassSummary):
    cancel_reason: str | None
    stats: ClassStats
    session_list: list[SessionView]


class ClassPage(BaseModel):
    items: list[ClassSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")


class TraineeView(BaseModel):
    cadre_id: str
    name: str | None = Field(description="From the personnel read model, when known.")
    source: str
    enrolled_on: date
    status: str
    leave_hours: int
    credited_hours: int
    completed_on: date | None
    withdrawn_on: date | None


class TraineePage(BaseModel):
    items: list[TraineeView]
    next_cursor: str | None


class InvitedLecture(BaseModel):
    class_id: str
    class_name: str
    session_no: int
    topic: str
    lecturer: LecturerView
    held_on: date


class ClassesHeldReport(BaseModel):
    period_from: date
    period_to: date
    total: int = Field(description="Classes opened or completed that start in the period.")
    by_kind: dict[str, int]
    trainees_completed: int
    credit_hours_awarded: int = Field(description="Sum of hours credited to trainees.")
    invited_lectures: list[InvitedLecture] = Field(
        description="Sessions in the period given by invited lecturers.")
    classes: list[ClassSummary]


class CreditedClass(BaseModel):
    class_id: str
    name: str
    kind: str
    credited_hours: int
    completed_on: date


class CreditHoursView(BaseModel):
    cadre_id: str
    name: str | None
    unit_id: str | None
    year: int
    level: str
    required_hours: int
    requirement_years: int
    period_from: date
    period_to: date
    hours_in_year: int
    hours_in_period: int
    met: bool
    shortfall: int
    classes: list[CreditedClass] = Field(description="Classes credited within the period.")


class CreditHoursRow(BaseModel):
    cadre_id: str
    name: str
    unit_id: str
    hours_in_year: int
    hours_in_period: int
    met: bool
    shortfall: int


class CreditHoursReport(BaseModel):
    year: int
    level: str
    required_hours: int
    requirement_years: int
    cadres: int
    met: int
    met_rate: float | None
    items: list[CreditHoursRow]
    next_cursor: str | None


class MassEventView(BaseModel):
    id: str
    title: str
    kind: str
    mode: str
    head_count: int
    organizer: str | None
    held_on: date
    revisions: int
    version: int


class MassEventReport(BaseModel):
    count: int
    total_head_count: int
    by_kind: dict[str, int] = Field(description="Head-count per kind.")
    items: list[MassEventView]
    next_cursor: str | None


class ChapterView(BaseModel):
    chapter: int
    title: str
    studied_on: date | None
    participants: int | None


class StudyCampaignView(BaseModel):
    id: str
    title: str
    subject: str
    launched_on: date
    status: str
    chapters_total: int
    chapters_done: int
    progress: float = Field(description="chapters_done / chapters_total.")
    participants: int = Field(description="Sum of participants over the chapters studied.")
    completed_on: date | None
    version: int
    chapters: list[ChapterView] = Field(default_factory=list)


class StudyCampaignPage(BaseModel):
    items: list[StudyCampaignView]
    next_cursor: str | None


def _summary(row) -> ClassSummary:
    return ClassSummary(
        id=row.class_id, name=row.name, kind=row.kind, mode=row.mode,
        off_the_job=row.off_the_job, starts_on=row.starts_on, ends_on=row.ends_on,
        planned_hours=row.planned_hours, capacity=row.capacity, organizer=row.organizer,
        venue=row.venue, status=row.status, opened_on=row.opened_on,
        completed_on=row.completed_on, cancelled_on=row.cancelled_on, sessions=row.sessions,
        session_hours=row.session_hours, enrolled=row.enrolled, version=row.version)


def _lecturer(row) -> LecturerView:
    return LecturerView(name=row.lecturer_name, title=row.lecturer_title,
                        affiliation=row.lecturer_affiliation, invited=row.invited)


def _counts(rows) -> AttendanceCounts:
    counts = {status: 0 for status in STATUSES}
    for status, n in rows:
        counts[status] = n
    return AttendanceCounts(**counts, recorded=sum(counts.values()))


def _attended(counts: AttendanceCounts) -> int:
    return counts.present + counts.late + counts.left_early


def _date_cursor(cursor: str) -> tuple[date, str]:
    first, last_id = _decode_cursor(cursor)
    try:
        return date.fromisoformat(first), str(last_id)
    except (TypeError, ValueError):
        raise BadCursor("the cursor is not one this API returned",
                        errors=[{"pointer": "query:cursor", "detail": "malformed"}]) from None


def _period(period_from: date | None, period_to: date | None) -> tuple[date, date]:
    start, end = period_from or date.min, period_to or date.max
    if end < start:
        raise DomainRuleViolation(f"to ({end}) is before from ({start})", pointer="query:to",
                                  code="date_order")
    return start, end


# built once (the cadre 360 runs them on every request): building a select and its cache key
# cost more than running it
_CADRE_NAME = sa.select(rm_cadres.c.name, rm_cadres.c.unit_id).where(
    rm_cadres.c.cadre_id == sa.bindparam("cadre_id"))
_CREDITED = (
    sa.select(enrolments.c.class_id, enrolments.c.credited_hours, enrolments.c.completed_on,
              classes.c.name, classes.c.kind)
    .select_from(enrolments.join(classes, classes.c.class_id == enrolments.c.class_id))
    .where(enrolments.c.cadre_id == sa.bindparam("cadre_id"), enrolments.c.status == "completed",
           enrolments.c.completed_on.between(sa.bindparam("first", type_=sa.Date),
                                             sa.bindparam("last", type_=sa.Date)))
    .order_by(enrolments.c.completed_on, enrolments.c.class_id))
_ENROLMENTS_OF = sa.select(sa.func.count()).select_from(enrolments).where(
    enrolments.c.cadre_id == sa.bindparam("cadre_id"))
# classes held in a period (the dashboard's, for every new period)
_START, _END = sa.bindparam("start", type_=sa.Date), sa.bindparam("end", type_=sa.Date)
_HELD = sa.and_(classes.c.starts_on.between(_START, _END),
                classes.c.status.in_(("open", "completed")))
_CLASSES_HELD = sa.select(classes).where(_HELD).order_by(classes.c.starts_on, classes.c.class_id)
_CLASSES_HELD_COMPLETED = (
    sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(enrolments.c.credited_hours), 0))
    .select_from(enrolments.join(classes, classes.c.class_id == enrolments.c.class_id))
    .where(_HELD, enrolments.c.status == "completed"))
_INVITED_LECTURES = (
    sa.select(sessions, classes.c.name.label("class_name"))
    .select_from(sessions.join(classes, classes.c.class_id == sessions.c.class_id))
    .where(sessions.c.invited.is_(True), sessions.c.held_on.between(_START, _END),
           classes.c.status != "cancelled")
    .order_by(sessions.c.held_on, sessions.c.class_id, sessions.c.session_no))


_MASS_EVENT_STATEMENTS: dict[tuple[bool, bool], tuple] = {}


def _mass_event_statements(by_kind: bool, after: bool) -> tuple:
    """``mass_events``' totals, count and page, built once per filter combination with the
    values as parameters (the dashboard asks for every new period)."""
    built = _MASS_EVENT_STATEMENTS.get((by_kind, after))
    if built is not None:
        return built
    where = [mass_events.c.held_on.between(_START, _END)]
    if by_kind:
        where.append(mass_events.c.kind == sa.bindparam("kind", type_=mass_events.c.kind.type))
    page = sa.select(mass_events).where(*where).order_by(
        mass_events.c.held_on, mass_events.c.mass_event_id).limit(
        sa.bindparam("limit", type_=sa.Integer))
    if after:
        page = page.where(sa.tuple_(mass_events.c.held_on, mass_events.c.mass_event_id) > sa.tuple_(
            sa.bindparam("after_on", type_=sa.Date),
            sa.bindparam("after_id", type_=mass_events.c.mass_event_id.type)))
    built = _MASS_EVENT_STATEMENTS[by_kind, after] = (
        sa.select(mass_events.c.kind, sa.func.sum(mass_events.c.head_count)).where(*where)
        .group_by(mass_events.c.kind),
        sa.select(sa.func.count()).select_from(mass_events).where(*where),
        page)
    return built


class TrainingQueries:
    def __init__(self, engine: AsyncEngine, requirements: dict[str, HourRequirement]) -> None:
        self.engine = engine
        self.requirements = requirements

    # -- classes --------------------------------------------------------------------------

    async def classes(self, *, kind: str | None, status: str | None, period_from: date | None,
                      period_to: date | None, limit: int, cursor: str | None) -> ClassPage:
        start, end = _period(period_from, period_to)
        query = sa.select(classes).where(classes.c.starts_on.between(start, end)).order_by(
            classes.c.starts_on, classes.c.class_id).limit(limit + 1)
        if kind:
            query = query.where(classes.c.kind == kind)
        if status:
            query = query.where(classes.c.status == status)
        if cursor:
            after = _date_cursor(cursor)
            query = query.where(sa.tuple_(classes.c.starts_on, classes.c.class_id) > after)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        next_cursor = (_encode_cursor([rows[limit - 1].starts_on.isoformat(),
                                       rows[limit - 1].class_id]) if len(rows) > limit else None)
        return ClassPage(items=[_summary(r) for r in rows[:limit]], next_cursor=next_cursor)

    async def training_class(self, class_id: str) -> ClassDetail:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(classes).where(
                classes.c.class_id == class_id))).first()
            if row is None:
                raise NotFound(f"training class {class_id} not found")
            counts = _counts((await conn.execute(
                sa.select(attendance.c.status, sa.func.count()).where(
                    attendance.c.class_id == class_id).group_by(attendance.c.status))).all())
            statuses = dict((await conn.execute(
                sa.select(enrolments.c.status, sa.func.count()).where(
                    enrolments.c.class_id == class_id).group_by(enrolments.c.status))).all())
            session_rows = (await conn.execute(sa.select(sessions).where(
                sessions.c.class_id == class_id).order_by(sessions.c.session_no))).all()
            per_session = await self._session_counts(conn, class_id)
        stats = ClassStats(
            enrolled=row.enrolled, active=statuses.get("active", 0),
            withdrawn=statuses.get("withdrawn", 0), completed=statuses.get("completed", 0),
            attendance=counts, attendance_rate=rate(_attended(counts), counts.recorded),
            leave_rate=rate(counts.leave, counts.recorded),
            completion_rate=rate(statuses.get("completed", 0), row.enrolled))
        session_list = [self._session(s, per_session.get(s.session_no, AttendanceCounts()))
                        for s in session_rows]
        return ClassDetail(**_summary(row).model_dump(), cancel_reason=row.cancel_reason,
                           stats=stats, session_list=session_list)

    @staticmethod
    async def _session_counts(conn, class_id: str,
                              session_no: int | None = None) -> dict[int, AttendanceCounts]:
        query = sa.select(attendance.c.session_no, attendance.c.status, sa.func.count()).where(
            attendance.c.class_id == class_id).group_by(attendance.c.session_no,
                                                        attendance.c.status)
        if session_no is not None:
            query = query.where(attendance.c.session_no == session_no)
        grouped: dict[int, list] = {}
        for number, status, n in (await conn.execute(query)).all():
            grouped.setdefault(number, []).append((status, n))
        return {number: _counts(rows) for number, rows in grouped.items()}

    @staticmethod
    def _session(row, counts: AttendanceCounts) -> SessionView:
        return SessionView(
            class_id=row.class_id, session_no=row.session_no, topic=row.topic,
            lecturer=_lecturer(row), tutor=TutorView(name=row.tutor_name, title=row.tutor_title),
            held_on=row.held_on, hours=row.hours, attendance=counts,
            attendance_rate=rate(_attended(counts), counts.recorded))

    async def session(self, class_id: str, session_no: int) -> SessionView:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(sessions).where(
                sessions.c.class_id == class_id, sessions.c.session_no == session_no))).first()
            if row is None:
                raise NotFound(f"training class {class_id} has no session {session_no}")
            counts = await self._session_counts(conn, class_id, session_no)
        return self._session(row, counts.get(session_no, AttendanceCounts()))

    async def trainees(self, class_id: str, *, status: str | None, limit: int,
                       cursor: str | None) -> TraineePage:
        query = sa.select(enrolments, rm_cadres.c.name).select_from(enrolments.outerjoin(
            rm_cadres, rm_cadres.c.cadre_id == enrolments.c.cadre_id)).where(
            enrolments.c.class_id == class_id).order_by(enrolments.c.cadre_id).limit(limit + 1)
        if status:
            query = query.where(enrolments.c.status == status)
        if cursor:
            query = query.where(enrolments.c.cadre_id > _decode_cursor(cursor)[1])
        async with self.engine.connect() as conn:
            exists = await conn.scalar(sa.select(classes.c.class_id).where(
                classes.c.class_id == class_id))
            if exists is None:
                raise NotFound(f"training class {class_id} not found")
            rows = (await conn.execute(query)).all()
        items = [TraineeView(
            cadre_id=r.cadre_id, name=r.name, source=r.source, enrolled_on=r.enrolled_on,
            status=r.status, leave_hours=r.leave_hours, credited_hours=r.credited_hours,
            completed_on=r.completed_on, withdrawn_on=r.withdrawn_on) for r in rows[:limit]]
        next_cursor = (_encode_cursor(["", rows[limit - 1].cadre_id])
                       if len(rows) > limit else None)
        return TraineePage(items=items, next_cursor=next_cursor)

    async def classes_held(self, period_from: date, period_to: date) -> ClassesHeldReport:
        start, end = _period(period_from, period_to)
        period = {"start": start, "end": end}
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_CLASSES_HELD, period)).all()
            completed, hours = (await conn.execute(_CLASSES_HELD_COMPLETED, period)).one()
            invited = (await conn.execute(_INVITED_LECTURES, period)).all()
        by_kind: dict[str, int] = {}
        for row in rows:
            by_kind[row.kind] = by_kind.get(row.kind, 0) + 1
        return ClassesHeldReport(
            period_from=start, period_to=end, total=len(rows), by_kind=by_kind,
            trainees_completed=completed, credit_hours_awarded=hours,
            invited_lectures=[InvitedLecture(
                class_id=s.class_id, class_name=s.class_name, session_no=s.session_no,
                topic=s.topic, lecturer=_lecturer(s), held_on=s.held_on) for s in invited],
            classes=[_summary(r) for r in rows])

    # -- credit hours -----------------------------------------------------------------------

    def _requirement(self, level: str | None) -> tuple[str, HourRequirement]:
        level = level or DEFAULT_LEVEL
        if level not in self.requirements:
            raise DomainRuleViolation(
                f"unknown level {level!r}; one of {sorted(self.requirements)}",
                pointer="query:level", code="unknown_level")
        return level, self.requirements[level]

    @staticmethod
    def _window(year: int, requirement: HourRequirement) -> tuple[date, date]:
        return date(year - requirement.years + 1, 1, 1), date(year, 12, 31)

    async def credit_hours(self, cadre_id: str, year: int, level: str | None) -> CreditHoursView:
        return (await self.credit_hours_years(cadre_id, [year], level))[0]

    async def credit_hours_years(self, cadre_id: str, years: list[int], level: str | None
                                 ) -> list[CreditHoursView]:
        """``credit_hours`` for each of ``years``, read in one pass over the cadre's
        enrolments (the cadre 360 shows up to five years)."""
        level, requirement = self._requirement(level)
        windows = {year: self._window(year, requirement) for year in years}
        first = min(start for start, _ in windows.values())
        last = max(end for _, end in windows.values())
        async with self.engine.connect() as conn:
            cadre = (await conn.execute(_CADRE_NAME, {"cadre_id": cadre_id})).first()
            credited = (await conn.execute(_CREDITED, {
                "cadre_id": cadre_id, "first": first, "last": last})).all()
            if cadre is None and not await conn.scalar(_ENROLMENTS_OF, {"cadre_id": cadre_id}):
                raise NotFound(f"cadre {cadre_id} not found")
        views = []
        for year, (start, end) in windows.items():
            rows = [r for r in credited if start <= r.completed_on <= end]
            in_period = sum(r.credited_hours for r in rows)
            in_year = sum(r.credited_hours for r in rows if r.completed_on.year == year)
            views.append(CreditHoursView(
                cadre_id=cadre_id, name=cadre.name if cadre else None,
                unit_id=cadre.unit_id if cadre else None, year=year, level=level,
                required_hours=requirement.hours, requirement_years=requirement.years,
                period_from=start, period_to=end, hours_in_year=in_year,
                hours_in_period=in_period, met=in_period >= requirement.hours,
                shortfall=max(0, requirement.hours - in_period),
                classes=[CreditedClass(class_id=r.class_id, name=r.name, kind=r.kind,
                                       credited_hours=r.credited_hours,
                                       completed_on=r.completed_on) for r in rows]))
        return views

    async def credit_hours_report(self, *, year: int, level: str | None, unit_id: str | None,
                                  limit: int, cursor: str | None) -> CreditHoursReport:
        """Every cadre of the personnel read model (optionally of one unit) against the
        requirement of ``level``; totals over all of them, items one page at a time."""
        level, requirement = self._requirement(level)
        start, end = self._window(year, requirement)

        def hours_between(first: date):
            return sa.select(sa.func.coalesce(sa.func.sum(enrolments.c.credited_hours), 0)).where(
                enrolments.c.cadre_id == rm_cadres.c.cadre_id,
                enrolments.c.status == "completed",
                enrolments.c.completed_on.between(first, end)).scalar_subquery()

        in_period = hours_between(start).label("in_period")
        in_year = hours_between(date(year, 1, 1)).label("in_year")
        base = sa.select(rm_cadres.c.cadre_id, rm_cadres.c.name, rm_cadres.c.unit_id, in_year,
                         in_period)
        if unit_id:
            base = base.where(rm_cadres.c.unit_id == unit_id)
        totals = base.subquery()
        page = base.order_by(rm_cadres.c.name, rm_cadres.c.cadre_id).limit(limit + 1)
        if cursor:
            name, last_id = _decode_cursor(cursor)
            page = page.where(sa.tuple_(rm_cadres.c.name, rm_cadres.c.cadre_id) > (name, last_id))
        async with self.engine.connect() as conn:
            count, met = (await conn.execute(sa.select(
                sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case(
                    (totals.c.in_period >= requirement.hours, 1), else_=0)), 0)))).one()
            rows = (await conn.execute(page)).all()
        items = [CreditHoursRow(
            cadre_id=r.cadre_id, name=r.name, unit_id=r.unit_id, hours_in_year=r.in_year,
            hours_in_period=r.in_period, met=r.in_period >= requirement.hours,
            shortfall=max(0, requirement.hours - r.in_period)) for r in rows[:limit]]
        next_cursor = (_encode_cursor([rows[limit - 1].name, rows[limit - 1].cadre_id])
                       if len(rows) > limit else None)
        return CreditHoursReport(
            year=year, level=level, required_hours=requirement.hours,
            requirement_years=requirement.years, cadres=count, met=met,
            met_rate=rate(met, count), items=items, next_cursor=next_cursor)

    # -- mass events and campaigns ------------------------------------------------------------

    @staticmethod
    def _mass_event(row) -> MassEventView:
        return MassEventView(id=row.mass_event_id, title=row.title, kind=row.kind, mode=row.mode,
                             head_count=row.head_count, organizer=row.organizer,
                             held_on=row.held_on, revisions=row.revisions, version=row.version)

    async def mass_event(self, mass_event_id: str) -> MassEventView:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(mass_events).where(
                mass_events.c.mass_event_id == mass_event_id))).first()
        if row is None:
            raise NotFound(f"mass event {mass_event_id} not found")
        return self._mass_event(row)

    async def mass_events(self, *, period_from: date | None, period_to: date | None,
                          kind: str | None, limit: int, cursor: str | None) -> MassEventReport:
        start, end = _period(period_from, period_to)
        params = {"start": start, "end": end, "kind": kind, "limit": limit + 1}
        if cursor:
            params["after_on"], params["after_id"] = _date_cursor(cursor)
        totals, counted, page = _mass_event_statements(bool(kind), bool(cursor))
        async with self.engine.connect() as conn:
            by_kind = dict((await conn.execute(totals, params)).all())
            count = await conn.scalar(counted, params)
            rows = (await conn.execute(page, params)).all()
        next_cursor = (_encode_cursor([rows[limit - 1].held_on.isoformat(),
                                       rows[limit - 1].mass_event_id])
                       if len(rows) > limit else None)
        return MassEventReport(count=count, total_head_count=sum(by_kind.values()),
                               by_kind=by_kind, items=[self._mass_event(r) for r in rows[:limit]],
                               next_cursor=next_cursor)

    @staticmethod
    def _campaign(row, chapters=()) -> StudyCampaignView:
        return StudyCampaignView(
            id=row.campaign_id, title=row.title, subject=row.subject,
            launched_on=row.launched_on, status=row.status, chapters_total=row.chapters_total,
            chapters_done=row.chapters_done,
            progress=round(row.chapters_done / row.chapters_total, 4),
            participants=row.participants, completed_on=row.completed_on, version=row.version,
            chapters=[ChapterView(chapter=c.chapter, title=c.title, studied_on=c.studied_on,
                                  participants=c.participants) for c in chapters])

    async def campaign(self, campaign_id: str) -> StudyCampaignView:
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(campaigns).where(
                campaigns.c.campaign_id == campaign_id))).first()
            if row is None:
                raise NotFound(f"study campaign {campaign_id} not found")
            chapters = (await conn.execute(sa.select(campaign_chapters).where(
                campaign_chapters.c.campaign_id == campaign_id).order_by(
                campaign_chapters.c.chapter))).all()
        return self._campaign(row, chapters)

    async def campaigns(self, *, status: Literal["running", "completed"] | None, limit: int,
                        cursor: str | None) -> StudyCampaignPage:
        query = sa.select(campaigns).order_by(campaigns.c.launched_on,
                                              campaigns.c.campaign_id).limit(limit + 1)
        if status:
            query = query.where(campaigns.c.status == status)
        if cursor:
            after = _date_cursor(cursor)
            query = query.where(sa.tuple_(campaigns.c.launched_on, campaigns.c.campaign_id) > after)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        next_cursor = (_encode_cursor([rows[limit - 1].launched_on.isoformat(),
                                       rows[limit - 1].campaign_id])
                       if len(rows) > limit else None)
        return StudyCampaignPage(items=[self._campaign(r) for r in rows[:limit]],
                                 next_cursor=next_cursor)
