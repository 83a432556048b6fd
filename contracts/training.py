"""Events published by the training service (干部教育培训).

Streams: a training class (班次) with its sessions, enrolments, attendance and completion;
a trainee (one per cadre: the off-the-job periods the cadre is committed to); a mass event
counted by head-count; a study campaign that goes chapter by chapter.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.registry import DomainEvent, registry

__all__ = [
    "AttendanceEntry",
    "AttendanceRecorded",
    "AttendanceStatus",
    "ClassKind",
    "ClassMode",
    "EnrolmentSource",
    "Lecturer",
    "MassEventHeadCountRevised",
    "MassEventHeld",
    "MassEventKind",
    "SessionScheduled",
    "StudyCampaignCompleted",
    "StudyCampaignLaunched",
    "StudyChapterCompleted",
    "TraineeCompleted",
    "TraineeEnrolled",
    "TraineeWithdrawn",
    "TrainingClassCancelled",
    "TrainingClassCompleted",
    "TrainingClassOpened",
    "TrainingClassScheduled",
    "TrainingPeriodReleased",
    "TrainingPeriodReserved",
    "Tutor",
    "WithdrawalReason",
]

ClassKind = Literal["young_cadre", "advanced", "main_body", "thematic", "initial", "appointment"]
"""中青班 young cadres, 进修班 advanced, 主体班 main body, 专题班 thematic, 初任 initial
(new recruits), 任职 appointment (on taking a leadership post)."""
ClassMode = Literal["offline", "online", "synchronised"]
"""线下 offline, 线上 online, 线上线下同步 synchronised classroom."""
AttendanceStatus = Literal["present", "late", "left_early", "absent", "leave"]
"""出勤 present, 迟到 late, 早退 left early, 缺勤 absent, 请假 on leave."""
EnrolmentSource = Literal["assigned", "elective"]
"""组织调训 assigned by the department, 自主选学 chosen by the cadre."""
WithdrawalReason = Literal["leave_over_limit"]
MassEventKind = Literal["art_party_lecture", "party_lecture", "report_meeting", "screening",
                        "visit", "other"]
"""文艺党课 art Party lecture, 党课, 报告会, 观影, 参观 visit, other."""


class Lecturer(BaseModel):
    """主讲员: who gives the session; an invited lecturer comes from outside (e.g. a
    provincial Party school) and names the affiliation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, description="Full name.")
    title: str | None = Field(None, max_length=100, description="Title, e.g. 教授.")
    affiliation: str | None = Field(
        None, max_length=200, description="Organisation, e.g. 中共山西省委党校; required when invited.")
    invited: bool = Field(False, description="An invited (external) lecturer.")


class Tutor(BaseModel):
    """辅导员: the tutor paired with the lecturer (the "1+1" pairing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, description="Full name.")
    title: str | None = Field(None, max_length=100, description="Title or post.")


class AttendanceEntry(BaseModel):
    """One trainee's attendance at one session."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cadre_id: str = Field(min_length=1, max_length=64, description="The trainee (a cadre id).")
    status: AttendanceStatus = Field(description="Attendance status at the session.")


class _ClassEvent(DomainEvent):
    stream_kind = "training_class"
    class_id: str = Field(description="The training class's id.")


@registry.register
class TrainingClassScheduled(_ClassEvent):
    """A training class (班次) was scheduled with its dates, mode, credit hours and capacity."""

    event_type = "zugong.training.class_scheduled"
    name: str = Field(description="Name of the class, e.g. 2024年中青年干部培训班.")
    kind: ClassKind = Field(description="Kind of class.")
    mode: ClassMode = Field(description="How it is delivered.")
    off_the_job: bool = Field(
        description="Off-the-job (脱产): a cadre cannot be in two such classes whose dates overlap.")
    starts_on: date = Field(description="First day of the class.")
    ends_on: date = Field(description="Last day of the class.")
    planned_hours: int = Field(description="Planned credit hours (学时) of the class.")
    capacity: int = Field(description="Most trainees the class takes.")
    organizer: str | None = Field(None, description="Organising body, e.g. 市委组织部 / 市委党校.")
    venue: str | None = Field(None, description="Venue or stream.")


@registry.register
class TrainingClassOpened(_ClassEvent):
    """The class opened (开班): sessions are held and attendance recorded from now on."""

    event_type = "zugong.training.class_opened"
    effective_on: date = Field(description="Opening date.")


@registry.register
class TrainingClassCompleted(_ClassEvent):
    """The class ended (结业). Each remaining trainee gets a ``TraineeCompleted`` with it."""

    event_type = "zugong.training.class_completed"
    effective_on: date = Field(description="Completion date.")
    completed: int = Field(description="Trainees who completed.")
    withdrawn: int = Field(description="Trainees withdrawn during the class.")


@registry.register
class TrainingClassCancelled(_ClassEvent):
    """The class was cancelled; its trainees' off-the-job periods are released."""

    event_type = "zugong.training.class_cancelled"
    effective_on: date = Field(description="Cancellation date.")
    reason: str = Field(description="Why the class was cancelled.")


@registry.register
class SessionScheduled(_ClassEvent):
    """A session (课次 / lecture) of the class, with its lecturer and tutor ("1+1")."""

    event_type = "zugong.training.session_scheduled"
    session_no: int = Field(description="Number of the session within the class, from 1.")
    topic: str = Field(description="Topic of the lecture.")
    lecturer: Lecturer = Field(description="主讲员.")
    tutor: Tutor = Field(description="辅导员.")
    effective_on: date = Field(description="Date the session is held.")
    hours: int = Field(description="Credit hours (学时) of the session.")


@registry.register
class TraineeEnrolled(_ClassEvent):
    """A cadre was enrolled in the class (调训 / 报名)."""

    event_type = "zugong.training.trainee_enrolled"
    cadre_id: str = Field(description="The cadre (id as published by personnel).")
    source: EnrolmentSource = Field(description="Assigned by the department or elective.")
    effective_on: date = Field(description="Enrolment date.")


@registry.register
class AttendanceRecorded(_ClassEvent):
    """Attendance of trainees at one session; a later record for the same trainee and
    session replaces the earlier one."""

    event_type = "zugong.training.attendance_recorded"
    session_no: int = Field(description="The session.")
    effective_on: date = Field(description="Date of the session.")
    entries: list[AttendanceEntry] = Field(description="One entry per trainee recorded.")


@registry.register
class TraineeWithdrawn(_ClassEvent):
    """A trainee was withdrawn (退学): cumulative leave went above 1/7 of the class hours."""

    event_type = "zugong.training.trainee_withdrawn"
    cadre_id: str = Field(description="The trainee.")
    reason: WithdrawalReason = Field(description="Why.")
    leave_hours: int = Field(description="Hours on leave when withdrawn.")
    planned_hours: int = Field(description="Credit hours of the class (the 1/7 base).")
    effective_on: date = Field(description="Date of the session that crossed the limit.")


@registry.register
class TraineeCompleted(_ClassEvent):
    """A trainee completed the class (结业) and is credited its hours."""

    event_type = "zugong.training.trainee_completed"
    cadre_id: str = Field(description="The trainee.")
    credited_hours: int = Field(description="Credit hours (学时) credited to the cadre.")
    kind: ClassKind = Field(description="Kind of the class, for the credit ledger.")
    effective_on: date = Field(description="Completion date; the hours count in its year.")


class _TraineeEvent(DomainEvent):
    stream_kind = "trainee"
    cadre_id: str = Field(description="The cadre.")


@registry.register
class TrainingPeriodReserved(_TraineeEvent):
    """The cadre is committed to an off-the-job class for its dates (no overlapping class)."""

    event_type = "zugong.training.period_reserved"
    class_id: str = Field(description="The class.")
    class_name: str = Field(description="Name of the class, for messages and reports.")
    starts_on: date = Field(description="First day.")
    ends_on: date = Field(description="Last day.")


@registry.register
class TrainingPeriodReleased(_TraineeEvent):
    """The cadre's off-the-job period for a class is free again (withdrawn or cancelled)."""

    event_type = "zugong.training.period_released"
    class_id: str = Field(description="The class.")
    reason: Literal["withdrawn", "class_cancelled"] = Field(description="Why it was released.")


class _MassEventEvent(DomainEvent):
    stream_kind = "mass_event"
    mass_event_id: str = Field(description="The mass event's id.")


@registry.register
class MassEventHeld(_MassEventEvent):
    """A mass education event counted by head-count (e.g. 780 at an art Party lecture)."""

    event_type = "zugong.training.mass_event_held"
    title: str = Field(description="Title of the event.")
    kind: MassEventKind = Field(description="Kind of event.")
    mode: ClassMode = Field(description="How it was delivered.")
    head_count: int = Field(description="People who took part.")
    organizer: str | None = Field(None, description="Organising body.")
    effective_on: date = Field(description="Date held.")


@registry.register
class MassEventHeadCountRevised(_MassEventEvent):
    """The head-count of a mass event was corrected."""

    event_type = "zugong.training.mass_event_head_count_revised"
    head_count: int = Field(description="Head-count after the correction.")
    previous: int = Field(description="Head-count before.")
    reason: str = Field(description="Why it was corrected.")


class _CampaignEvent(DomainEvent):
    stream_kind = "study_campaign"
    campaign_id: str = Field(description="The study campaign's id.")


@registry.register
class StudyCampaignLaunched(_CampaignEvent):
    """A study campaign (e.g. on the disciplinary regulations) that goes chapter by chapter."""

    event_type = "zugong.training.study_campaign_launched"
    title: str = Field(description="Title of the campaign.")
    subject: str = Field(description="What is studied, e.g. 《中国共产党纪律处分条例》.")
    chapters: list[str] = Field(description="Chapter titles, in study order.")
    effective_on: date = Field(description="Launch date.")


@registry.register
class StudyChapterCompleted(_CampaignEvent):
    """One chapter of the campaign was studied."""

    event_type = "zugong.training.study_chapter_completed"
    chapter: int = Field(description="Chapter number, from 1.")
    title: str = Field(description="Chapter title.")
    participants: int = Field(description="People who took part in the session.")
    effective_on: date = Field(description="Date studied.")


@registry.register
class StudyCampaignCompleted(_CampaignEvent):
    """Every chapter of the campaign has been studied."""

    event_type = "zugong.training.study_campaign_completed"
    effective_on: date = Field(description="Date the last chapter was studied.")
