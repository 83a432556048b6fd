"""The TrainingClass aggregate (班次): sessions, enrolments, attendance, withdrawal, completion."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from contracts.registry import DomainEvent
from contracts.training import (
    AttendanceEntry,
    AttendanceRecorded,
    ClassKind,
    ClassMode,
    EnrolmentSource,
    Lecturer,
    SessionScheduled,
    TraineeCompleted,
    TraineeEnrolled,
    TraineeWithdrawn,
    TrainingClassCancelled,
    TrainingClassCompleted,
    TrainingClassOpened,
    TrainingClassScheduled,
    Tutor,
)
from services.kernel.aggregate import Aggregate
from services.kernel.errors import Conflict, DomainRuleViolation, NotFound

__all__ = ["LEAVE_LIMIT_DENOMINATOR", "TrainingClass", "leave_over_limit"]

LEAVE_LIMIT_DENOMINATOR = 7
"""《干部教育培训工作条例》: cumulative leave above 1/7 of a class's hours means withdrawal."""


def leave_over_limit(leave_hours: int, planned_hours: int) -> bool:
    """Strictly above 1/7 of the class hours, in integers (no rounding)."""
    return leave_hours * LEAVE_LIMIT_DENOMINATOR > planned_hours


def state_conflict(detail: str, code: str = "class_state") -> Conflict:
    return Conflict(detail, errors=[{"pointer": "#", "detail": detail, "code": code}])


@dataclass
class _Session:
    held_on: date
    hours: int


@dataclass
class _Trainee:
    status: str = "active"  # active | withdrawn | completed
    attendance: dict[int, str] = field(default_factory=dict)


class TrainingClass(Aggregate):
    stream_type = "training_class"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.status = "none"
        self.name = ""
        self.kind: ClassKind = "thematic"
        self.mode: ClassMode = "offline"
        self.off_the_job = True
        self.starts_on = date.min
        self.ends_on = date.min
        self.planned_hours = 0
        self.capacity = 0
        self.sessions: dict[int, _Session] = {}
        self.trainees: dict[str, _Trainee] = {}

    def apply(self, event: DomainEvent) -> None:
        match event:
            case TrainingClassScheduled():
                self.status = "scheduled"
                self.name, self.kind, self.mode = event.name, event.kind, event.mode
                self.off_the_job = event.off_the_job
                self.starts_on, self.ends_on = event.starts_on, event.ends_on
                self.planned_hours, self.capacity = event.planned_hours, event.capacity
            case TrainingClassOpened():
                self.status = "open"
            case TrainingClassCompleted():
                self.status = "completed"
            case TrainingClassCancelled():
                self.status = "cancelled"
            case SessionScheduled():
                self.sessions[event.session_no] = _Session(event.effective_on, event.hours)
            case TraineeEnrolled():
                self.trainees[event.cadre_id] = _Trainee()
            case AttendanceRecorded():
                for entry in event.entries:
                    self.trainees[entry.cadre_id].attendance[event.session_no] = entry.status
            case TraineeWithdrawn():
                self.trainees[event.cadre_id].status = "withdrawn"
            case TraineeCompleted():
                self.trainees[event.cadre_id].status = "completed"

    # -- derived state ------------------------------------------------------------------

    @property
    def session_hours(self) -> int:
        return sum(s.hours for s in self.sessions.values())

    def active_trainees(self) -> list[str]:
        return [c for c, t in self.trainees.items() if t.status == "active"]

    def leave_hours(self, cadre_id: str) -> int:
        trainee = self.trainees[cadre_id]
        return sum(self.sessions[n].hours for n, s in trainee.attendance.items() if s == "leave")

    def _require(self, *statuses: str, action: str) -> None:
        if self.status not in statuses:
            raise state_conflict(f"class {self.name or self.id} is {self.status}; cannot {action}")

    # -- commands -----------------------------------------------------------------------

    def schedule(self, *, name: str, kind: ClassKind, mode: ClassMode, starts_on: date,
                 ends_on: date, planned_hours: int, capacity: int, off_the_job: bool | None,
                 organizer: str | None, venue: str | None) -> None:
        if self.exists:
            raise Conflict(f"class {self.id} already exists")
        if ends_on < starts_on:
            raise DomainRuleViolation(f"ends_on {ends_on} is before starts_on {starts_on}",
                                      pointer="#/ends_on", code="date_order")
        self._record(TrainingClassScheduled(
            class_id=self.id, name=name, kind=kind, mode=mode,
            off_the_job=mode != "online" if off_the_job is None else off_the_job,
            starts_on=starts_on, ends_on=ends_on, planned_hours=planned_hours,
            capacity=capacity, organizer=organizer, venue=venue))

    def open(self, effective_on: date | None, today: date) -> None:
        self._require("scheduled", action="open it")
        opened_on = effective_on or self.starts_on
        if opened_on > self.ends_on:
            raise DomainRuleViolation(
                f"cannot open on {opened_on}, after the class ends ({self.ends_on})",
                pointer="#/effective_on", code="date_range")
        if opened_on > today:
            raise DomainRuleViolation(f"cannot open on {opened_on}, which is in the future",
                                      pointer="#/effective_on", code="future_date")
        self._record(TrainingClassOpened(class_id=self.id, effective_on=opened_on))

    def complete(self, effective_on: date | None, today: date) -> None:
        self._require("open", action="complete it")
        completed_on = effective_on or self.ends_on
        if completed_on < self.starts_on:
            raise DomainRuleViolation(
                f"cannot complete on {completed_on}, before the class starts ({self.starts_on})",
                pointer="#/effective_on", code="date_range")
        if completed_on > today:
            raise DomainRuleViolation(
                f"cannot complete on {completed_on}, which is in the future",
                pointer="#/effective_on", code="future_date")
        finishing = self.active_trainees()
        withdrawn = sum(1 for t in self.trainees.values() if t.status == "withdrawn")
        self._record(TrainingClassCompleted(class_id=self.id, effective_on=completed_on,
                                            completed=len(finishing), withdrawn=withdrawn))
        for cadre_id in finishing:
            self._record(TraineeCompleted(class_id=self.id, cadre_id=cadre_id,
                                          credited_hours=self.planned_hours, kind=self.kind,
                                          effective_on=completed_on))

    def cancel(self, reason: str, effective_on: date) -> list[str]:
        """Returns the trainees whose off-the-job period is to be released."""
        self._require("scheduled", "open", action="cancel it")
        releasing = self.active_trainees()
        self._record(TrainingClassCancelled(class_id=self.id, effective_on=effective_on,
                                            reason=reason))
        return releasing if self.off_the_job else []

    def schedule_session(self, *, topic: str, lecturer: Lecturer, tutor: Tutor, held_on: date,
                         hours: int) -> int:
        self._require("scheduled", "open", action="add sessions")
        if not self.starts_on <= held_on <= self.ends_on:
            raise DomainRuleViolation(
                f"the session date {held_on} is outside the class ({self.starts_on} to "
                f"{self.ends_on})", pointer="#/effective_on", code="date_range")
        if self.session_hours + hours > self.planned_hours:
            raise DomainRuleViolation(
                f"sessions would total {self.session_hours + hours} hours, more than the "
                f"{self.planned_hours} planned for the class", pointer="#/hours",
                code="hours_exceed_plan")
        if lecturer.name.strip() == tutor.name.strip():
            raise DomainRuleViolation(
                "the tutor must be someone other than the lecturer (the 1+1 pairing)",
                pointer="#/tutor/name", code="one_plus_one")
        if lecturer.invited and not (lecturer.affiliation or "").strip():
            raise DomainRuleViolation("an invited lecturer needs an affiliation",
                                      pointer="#/lecturer/affiliation",
                                      code="affiliation_required")
        number = max(self.sessions, default=0) + 1
        self._record(SessionScheduled(class_id=self.id, session_no=number, topic=topic,
                                      lecturer=lecturer, tutor=tutor, effective_on=held_on,
                                      hours=hours))
        return number

    def enrol(self, cadre_id: str, source: EnrolmentSource, effective_on: date) -> None:
        self._require("scheduled", "open", action="enrol trainees")
        if cadre_id in self.trainees:
            raise Conflict(f"cadre {cadre_id} is already enrolled in {self.name}", errors=[{
                "pointer": "#/cadre_id", "detail": "already enrolled", "code": "already_enrolled"}])
        taken = len(self.active_trainees())
        if taken >= self.capacity:
            raise DomainRuleViolation(
                f"class {self.name} is full ({taken} of {self.capacity} places taken)",
                pointer="#/cadre_id", code="capacity_full")
        self._record(TraineeEnrolled(class_id=self.id, cadre_id=cadre_id, source=source,
                                     effective_on=effective_on))

    def record_attendance(self, session_no: int, entries: list[AttendanceEntry],
                          today: date) -> list[str]:
        """Records the roll; returns the trainees it withdraws (leave above the limit)."""
        self._require("open", action="record attendance")
        session = self.sessions.get(session_no)
        if session is None:
            raise NotFound(f"class {self.name} has no session {session_no}")
        if session.held_on > today:
            raise DomainRuleViolation(
                f"session {session_no} is on {session.held_on}; it has not been held yet",
                pointer="#/entries", code="session_not_held")
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            pointer = f"#/entries/{index}/cadre_id"
            if entry.cadre_id in seen:
                raise DomainRuleViolation(f"cadre {entry.cadre_id} is listed twice",
                                          pointer=pointer, code="duplicate_entry")
            seen.add(entry.cadre_id)
            trainee = self.trainees.get(entry.cadre_id)
            if trainee is None:
                raise DomainRuleViolation(f"cadre {entry.cadre_id} is not enrolled in {self.name}",
                                          pointer=pointer, code="not_enrolled")
            if trainee.status != "active":
                raise DomainRuleViolation(
                    f"cadre {entry.cadre_id} was {trainee.status} from {self.name}",
                    pointer=pointer, code="trainee_withdrawn")
        self._record(AttendanceRecorded(class_id=self.id, session_no=session_no,
                                        effective_on=session.held_on, entries=list(entries)))
        withdrawn = []
        for entry in entries:
            leave = self.leave_hours(entry.cadre_id)
            if leave_over_limit(leave, self.planned_hours):
                self._record(TraineeWithdrawn(
                    class_id=self.id, cadre_id=entry.cadre_id, reason="leave_over_limit",
                    leave_hours=leave, planned_hours=self.planned_hours,
                    effective_on=session.held_on))
                withdrawn.append(entry.cadre_id)
        return withdrawn
