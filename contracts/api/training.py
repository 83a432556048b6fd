"""Command bodies of the training service (``/api/v1/training/...``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts.training import (
    AttendanceEntry,
    ClassKind,
    ClassMode,
    EnrolmentSource,
    Lecturer,
    MassEventKind,
    Tutor,
)

__all__ = [
    "CancelClass",
    "CompleteClass",
    "CompleteStudyChapter",
    "EnrolTrainee",
    "LaunchStudyCampaign",
    "OpenClass",
    "RecordAttendance",
    "RecordMassEvent",
    "ReviseHeadCount",
    "ScheduleClass",
    "ScheduleSession",
]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ScheduleClass(BaseModel):
    """Schedule a training class (班次)."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "name": "2024年中青年干部培训班", "kind": "young_cadre", "mode": "offline",
        "starts_on": "2024-04-08", "ends_on": "2024-04-19", "planned_hours": 60,
        "capacity": 50, "organizer": "市委组织部", "venue": "市委党校"}]})

    name: str = Field(min_length=1, max_length=200, description="Name of the class.")
    kind: ClassKind
    mode: ClassMode
    starts_on: date = Field(description="First day.")
    ends_on: date = Field(description="Last day (on or after the first).")
    planned_hours: int = Field(ge=1, le=2000, description="Planned credit hours (学时).")
    capacity: int = Field(ge=1, le=10_000, description="Most trainees.")
    off_the_job: bool | None = Field(
        None, description="Off-the-job (脱产); default: true unless the mode is online.")
    organizer: str | None = Field(None, max_length=200)
    venue: str | None = Field(None, max_length=200)


class OpenClass(BaseModel):
    """Open the class (开班)."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "effective_on": "2024-04-08"}]})

    effective_on: date | None = Field(None, description="Opening date; default the first day.")


class CompleteClass(BaseModel):
    """Complete the class (结业): every remaining trainee is credited the class hours."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "effective_on": "2024-04-19"}]})

    effective_on: date | None = Field(None, description="Completion date; default the last day.")


class CancelClass(BaseModel):
    """Cancel the class; its trainees are free for other classes at those dates."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "reason": "疫情防控需要，延期举办"}]})

    reason: str = Field(min_length=1, max_length=500)
    effective_on: date | None = Field(None, description="Cancellation date; default today.")


class ScheduleSession(BaseModel):
    """Add a session (lecture) with its lecturer and tutor (the "1+1" pairing)."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "topic": "深入学习贯彻党的二十大精神", "effective_on": "2024-04-09", "hours": 3,
        "lecturer": {"name": "王教授", "title": "教授", "affiliation": "中共山西省委党校",
                     "invited": True},
        "tutor": {"name": "刘老师", "title": "市委党校讲师"}}]})

    topic: str = Field(min_length=1, max_length=300)
    lecturer: Lecturer
    tutor: Tutor
    effective_on: date = Field(description="Date the session is held (within the class dates).")
    hours: int = Field(ge=1, le=24, description="Credit hours of the session.")


class EnrolTrainee(BaseModel):
    """Enrol a cadre known to the training service."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "cadre_id": "0b6f…", "source": "assigned"}]})

    cadre_id: str = Field(min_length=1, max_length=64, description="Id of the cadre (personnel).")
    source: EnrolmentSource = "assigned"
    effective_on: date | None = Field(None, description="Enrolment date; default today.")


class RecordAttendance(BaseModel):
    """Record attendance at a session, one entry per trainee (re-recording corrects)."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "entries": [{"cadre_id": "0b6f…", "status": "present"},
                    {"cadre_id": "7a21…", "status": "leave"}]}]})

    entries: list[AttendanceEntry] = Field(min_length=1, max_length=10_000)


class RecordMassEvent(BaseModel):
    """Record a mass education event and its head-count."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "title": "“七一”文艺党课", "kind": "art_party_lecture", "mode": "offline",
        "head_count": 780, "effective_on": "2024-06-28", "organizer": "市委组织部"}]})

    title: str = Field(min_length=1, max_length=300)
    kind: MassEventKind
    mode: ClassMode = "offline"
    head_count: int = Field(ge=1, le=10_000_000)
    organizer: str | None = Field(None, max_length=200)
    effective_on: date = Field(description="Date held (not in the future).")


class ReviseHeadCount(BaseModel):
    """Correct the head-count of a mass event."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "head_count": 782, "reason": "补录线上参与人数"}]})

    head_count: int = Field(ge=1, le=10_000_000)
    reason: str = Field(min_length=1, max_length=500)


class LaunchStudyCampaign(BaseModel):
    """Launch a study campaign that goes chapter by chapter."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "title": "党纪学习教育", "subject": "《中国共产党纪律处分条例》",
        "chapters": ["第一编 总则", "第二编 分则 第七章"], "effective_on": "2024-04-15"}]})

    title: str = Field(min_length=1, max_length=300)
    subject: str = Field(min_length=1, max_length=300)
    chapters: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(
        min_length=1, max_length=200, description="Chapter titles in study order.")
    effective_on: date = Field(description="Launch date.")


class CompleteStudyChapter(BaseModel):
    """Record that the next chapter of a campaign was studied."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "chapter": 1, "participants": 120, "effective_on": "2024-04-20"}]})

    chapter: int = Field(ge=1, le=200, description="The chapter (the next one not yet studied).")
    participants: int = Field(ge=1, le=10_000_000)
    effective_on: date
