"""Training rules, accepted and rejected, on the aggregates (no I/O)."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.training import (
    AttendanceEntry,
    AttendanceRecorded,
    Lecturer,
    MassEventHeadCountRevised,
    SessionScheduled,
    StudyCampaignCompleted,
    StudyChapterCompleted,
    TraineeCompleted,
    TraineeEnrolled,
    TraineeWithdrawn,
    TrainingClassCancelled,
    TrainingClassCompleted,
    TrainingClassOpened,
    TrainingClassScheduled,
    TrainingPeriodReleased,
    TrainingPeriodReserved,
    Tutor,
)
from services.kernel.errors import Conflict, DomainRuleViolation, NotFound
from services.training.domain.mass_event import MassEvent
from services.training.domain.study_campaign import StudyCampaign
from services.training.domain.trainee import TraineeSchedule
from services.training.domain.training_class import TrainingClass, leave_over_limit

TODAY = date(2024, 12, 31)
LECTURER = Lecturer(name="王建国")
TUTOR = Tutor(name="刘晓梅")


def scheduled(planned_hours=28, capacity=3, mode="offline", off_the_job=None,
              starts_on=date(2024, 4, 8), ends_on=date(2024, 4, 19)) -> TrainingClass:
    cls = TrainingClass("c1")
    cls.schedule(name="中青班", kind="young_cadre", mode=mode, starts_on=starts_on,
                 ends_on=ends_on, planned_hours=planned_hours, capacity=capacity,
                 off_the_job=off_the_job, organizer=None, venue=None)
    return cls


def with_sessions(cls: TrainingClass, *hours: int) -> TrainingClass:
    for n, h in enumerate(hours):
        cls.schedule_session(topic=f"第{n + 1}讲", lecturer=LECTURER, tutor=TUTOR,
                             held_on=date(2024, 4, 9 + n), hours=h)
    return cls


def rule(error) -> str:
    return error.value.errors[0]["code"]


# -- scheduling and transitions ---------------------------------------------------------------

def test_schedule_derives_off_the_job_from_the_mode_unless_given():
    assert scheduled().off_the_job is True
    assert scheduled(mode="online").off_the_job is False
    assert scheduled(mode="online", off_the_job=True).off_the_job is True
    event = scheduled().pending[0]
    assert isinstance(event, TrainingClassScheduled) and event.planned_hours == 28


def test_schedule_rejects_end_before_start_and_a_second_schedule():
    cls = TrainingClass("c1")
    with pytest.raises(DomainRuleViolation) as error:
        cls.schedule(name="x", kind="advanced", mode="offline", starts_on=date(2024, 5, 2),
                     ends_on=date(2024, 5, 1), planned_hours=10, capacity=1, off_the_job=None,
                     organizer=None, venue=None)
    assert rule(error) == "date_order" and error.value.errors[0]["pointer"] == "#/ends_on"
    assert not cls.pending
    one_day = scheduled(starts_on=date(2024, 5, 1), ends_on=date(2024, 5, 1))
    assert one_day.status == "scheduled"
    with pytest.raises(Conflict):
        one_day.schedule(name="x", kind="advanced", mode="offline", starts_on=date(2024, 5, 1),
                         ends_on=date(2024, 5, 1), planned_hours=10, capacity=1,
                         off_the_job=None, organizer=None, venue=None)


def test_open_complete_and_their_state_and_date_rules():
    cls = scheduled()
    with pytest.raises(Conflict):
        cls.complete(None, TODAY)  # not open yet
    with pytest.raises(DomainRuleViolation) as error:
        cls.open(date(2024, 4, 20), TODAY)
    assert rule(error) == "date_range"
    with pytest.raises(DomainRuleViolation) as error:
        cls.open(None, date(2024, 4, 1))  # the first day is still ahead
    assert rule(error) == "future_date"
    cls.open(None, TODAY)
    assert isinstance(cls.pending[-1], TrainingClassOpened)
    assert cls.pending[-1].effective_on == date(2024, 4, 8)
    with pytest.raises(Conflict):
        cls.open(None, TODAY)
    with pytest.raises(DomainRuleViolation) as error:
        cls.complete(date(2024, 4, 1), TODAY)
    assert rule(error) == "date_range"
    with pytest.raises(DomainRuleViolation) as error:
        cls.complete(None, date(2024, 4, 18))
    assert rule(error) == "future_date"
    cls.complete(None, TODAY)
    assert cls.status == "completed"
    with pytest.raises(Conflict):
        cls.cancel("too late", TODAY)


def test_cancel_releases_active_trainees_of_off_the_job_classes_only():
    cls = scheduled()
    cls.enrol("a", "assigned", TODAY)
    assert cls.cancel("延期", TODAY) == ["a"]
    assert isinstance(cls.pending[-1], TrainingClassCancelled)
    with pytest.raises(Conflict):
        cls.cancel("again", TODAY)
    with pytest.raises(Conflict):
        cls.enrol("b", "assigned", TODAY)
    online = scheduled(mode="online")
    online.enrol("a", "assigned", TODAY)
    assert online.cancel("x", TODAY) == []


# -- sessions --------------------------------------------------------------------------------

def test_sessions_are_numbered_and_stay_within_dates_and_planned_hours():
    cls = with_sessions(scheduled(planned_hours=10), 4, 4)
    assert [e.session_no for e in cls.pending if isinstance(e, SessionScheduled)] == [1, 2]
    with pytest.raises(DomainRuleViolation) as error:
        with_sessions(cls, 3)  # 11 > 10
    assert rule(error) == "hours_exceed_plan"
    assert with_sessions(cls, 2).session_hours == 10
    for held_on in (date(2024, 4, 7), date(2024, 4, 20)):
        with pytest.raises(DomainRuleViolation) as error:
            scheduled().schedule_session(topic="t", lecturer=LECTURER, tutor=TUTOR,
                                         held_on=held_on, hours=1)
        assert rule(error) == "date_range"


def test_session_needs_a_distinct_tutor_and_an_affiliation_for_invited_lecturers():
    cls = scheduled()
    with pytest.raises(DomainRuleViolation) as error:
        cls.schedule_session(topic="t", lecturer=LECTURER, tutor=Tutor(name="王建国"),
                             held_on=date(2024, 4, 9), hours=3)
    assert rule(error) == "one_plus_one" and error.value.errors[0]["pointer"] == "#/tutor/name"
    with pytest.raises(DomainRuleViolation) as error:
        cls.schedule_session(topic="t", lecturer=Lecturer(name="张教授", invited=True), tutor=TUTOR,
                             held_on=date(2024, 4, 9), hours=3)
    assert rule(error) == "affiliation_required"
    cls.schedule_session(topic="t", tutor=TUTOR, held_on=date(2024, 4, 9), hours=3,
                         lecturer=Lecturer(name="张教授", invited=True, affiliation="中共山西省委党校"))
    assert cls.pending[-1].lecturer.invited


def test_no_sessions_after_completion():
    cls = scheduled()
    cls.open(None, TODAY)
    cls.complete(None, TODAY)
    with pytest.raises(Conflict):
        with_sessions(cls, 1)


# -- enrolment ---------------------------------------------------------------------------------

def test_capacity_is_enforced_and_duplicates_are_conflicts():
    cls = scheduled(capacity=2)
    cls.enrol("a", "assigned", TODAY)
    cls.enrol("b", "elective", TODAY)
    with pytest.raises(Conflict) as duplicate:
        cls.enrol("a", "assigned", TODAY)
    assert duplicate.value.errors[0]["code"] == "already_enrolled"
    with pytest.raises(DomainRuleViolation) as error:
        cls.enrol("c", "assigned", TODAY)
    assert rule(error) == "capacity_full"
    assert [e.cadre_id for e in cls.pending if isinstance(e, TraineeEnrolled)] == ["a", "b"]


def test_a_withdrawn_trainee_frees_a_place():
    cls = with_sessions(scheduled(planned_hours=14, capacity=1), 3)
    cls.enrol("a", "assigned", TODAY)
    cls.open(None, TODAY)
    assert cls.record_attendance(1, [AttendanceEntry(cadre_id="a", status="leave")], TODAY) == ["a"]
    cls.enrol("b", "assigned", TODAY)
    assert cls.active_trainees() == ["b"]


def test_overlapping_off_the_job_periods_are_rejected_adjacent_ones_accepted():
    trainee = TraineeSchedule("cadre-1")
    trainee.reserve("c1", "中青班", date(2024, 4, 8), date(2024, 4, 19))
    for starts_on, ends_on in [(date(2024, 4, 19), date(2024, 4, 30)),
                               (date(2024, 4, 1), date(2024, 4, 8)),
                               (date(2024, 4, 10), date(2024, 4, 12)),
                               (date(2024, 3, 1), date(2024, 5, 1))]:
        with pytest.raises(DomainRuleViolation) as error:
            trainee.reserve("c2", "进修班", starts_on, ends_on)
        assert rule(error) == "overlapping_class"
        assert "中青班" in error.value.detail
    trainee.reserve("c2", "进修班", date(2024, 4, 20), date(2024, 4, 30))
    trainee.reserve("c3", "主体班", date(2024, 3, 1), date(2024, 4, 7))
    assert [type(e) for e in trainee.pending] == [TrainingPeriodReserved] * 3


def test_a_released_period_can_be_taken_again_and_releasing_twice_records_nothing():
    trainee = TraineeSchedule("cadre-1")
    trainee.reserve("c1", "中青班", date(2024, 4, 8), date(2024, 4, 19))
    trainee.release("c1", "class_cancelled")
    trainee.release("c1", "class_cancelled")
    trainee.reserve("c2", "进修班", date(2024, 4, 10), date(2024, 4, 12))
    assert [type(e) for e in trainee.pending] == [
        TrainingPeriodReserved, TrainingPeriodReleased, TrainingPeriodReserved]


# -- attendance, leave and withdrawal -----------------------------------------------------------

def open_class_with(hours=(4, 4, 4, 4, 4, 4, 4), planned=28, trainees=("a", "b")) -> TrainingClass:
    cls = with_sessions(scheduled(planned_hours=planned, capacity=10), *hours)
    for cadre in trainees:
        cls.enrol(cadre, "assigned", TODAY)
    cls.open(None, TODAY)
    return cls


def roll(**statuses) -> list[AttendanceEntry]:
    return [AttendanceEntry(cadre_id=c, status=s) for c, s in statuses.items()]


def test_leave_limit_is_strictly_above_one_seventh_of_the_class_hours():
    assert not leave_over_limit(4, 28) and leave_over_limit(5, 28)
    assert not leave_over_limit(0, 1) and leave_over_limit(1, 1)
    assert not leave_over_limit(14, 100) and leave_over_limit(15, 100)


def test_leave_up_to_the_limit_keeps_the_trainee_and_above_it_withdraws():
    cls = open_class_with(hours=(4, 1, 4), planned=28)
    assert cls.record_attendance(1, roll(a="leave", b="present"), TODAY) == []  # 4 of 28
    assert cls.record_attendance(2, roll(a="leave", b="late"), TODAY) == ["a"]  # 5 of 28
    withdrawn = cls.pending[-1]
    assert isinstance(withdrawn, TraineeWithdrawn)
    assert (withdrawn.cadre_id, withdrawn.leave_hours, withdrawn.planned_hours) == ("a", 5, 28)
    assert withdrawn.effective_on == date(2024, 4, 10)
    with pytest.raises(DomainRuleViolation) as error:
        cls.record_attendance(3, roll(b="present", a="present"), TODAY)
    assert rule(error) == "trainee_withdrawn"
    assert error.value.errors[0]["pointer"] == "#/entries/1/cadre_id"


def test_a_corrected_record_replaces_the_earlier_one():
    cls = open_class_with(hours=(4, 4), planned=28)
    cls.record_attendance(1, roll(a="leave"), TODAY)
    cls.record_attendance(1, roll(a="present"), TODAY)
    assert cls.leave_hours("a") == 0
    assert cls.record_attendance(2, roll(a="leave"), TODAY) == []  # 4, not 8


def test_absence_is_not_leave():
    cls = open_class_with(hours=(4, 4, 4), planned=28)
    for n in (1, 2, 3):
        assert cls.record_attendance(n, roll(a="absent"), TODAY) == []


def test_attendance_rejections():
    cls = open_class_with(hours=(4,))
    with pytest.raises(NotFound):
        cls.record_attendance(9, roll(a="present"), TODAY)
    with pytest.raises(DomainRuleViolation) as error:
        cls.record_attendance(1, roll(a="present", z="present"), TODAY)
    assert rule(error) == "not_enrolled"
    with pytest.raises(DomainRuleViolation) as error:
        cls.record_attendance(1, [AttendanceEntry(cadre_id="a", status="present")] * 2, TODAY)
    assert rule(error) == "duplicate_entry"
    with pytest.raises(DomainRuleViolation) as error:
        cls.record_attendance(1, roll(a="present"), date(2024, 4, 8))
    assert rule(error) == "session_not_held"
    not_open = with_sessions(scheduled(), 4)
    not_open.enrol("a", "assigned", TODAY)
    with pytest.raises(Conflict):
        not_open.record_attendance(1, roll(a="present"), TODAY)
    assert not any(isinstance(e, AttendanceRecorded) for e in cls.pending)


def test_completion_credits_the_class_hours_to_remaining_trainees_only():
    cls = open_class_with(hours=(4, 1), planned=28, trainees=("a", "b", "c"))
    cls.record_attendance(1, roll(a="leave", b="present", c="present"), TODAY)
    cls.record_attendance(2, roll(a="leave", b="present", c="leave"), TODAY)
    cls.complete(None, TODAY)
    summary = next(e for e in cls.pending if isinstance(e, TrainingClassCompleted))
    assert (summary.completed, summary.withdrawn) == (2, 1)
    credited = [e for e in cls.pending if isinstance(e, TraineeCompleted)]
    assert [(e.cadre_id, e.credited_hours, e.kind, e.effective_on) for e in credited] == [
        ("b", 28, "young_cadre", date(2024, 4, 19)), ("c", 28, "young_cadre", date(2024, 4, 19))]


# -- mass events and campaigns -------------------------------------------------------------------

def test_mass_event_head_count_recorded_and_revised():
    event = MassEvent("m1")
    with pytest.raises(DomainRuleViolation) as error:
        event.record(title="文艺党课", kind="art_party_lecture", mode="offline", head_count=780,
                     organizer=None, effective_on=date(2025, 1, 1), today=TODAY)
    assert rule(error) == "future_date"
    event.record(title="文艺党课", kind="art_party_lecture", mode="offline", head_count=780,
                 organizer=None, effective_on=date(2024, 6, 28), today=TODAY)
    with pytest.raises(Conflict):
        event.record(title="x", kind="other", mode="offline", head_count=1, organizer=None,
                     effective_on=date(2024, 6, 28), today=TODAY)
    with pytest.raises(DomainRuleViolation) as error:
        event.revise_head_count(780, "same")
    assert rule(error) == "unchanged"
    event.revise_head_count(790, "补录")
    revised = event.pending[-1]
    assert isinstance(revised, MassEventHeadCountRevised)
    assert (revised.previous, revised.head_count) == (780, 790)


def launched() -> StudyCampaign:
    campaign = StudyCampaign("s1")
    campaign.launch(title="党纪学习教育", subject="《中国共产党纪律处分条例》",
                    chapters=["总则", "分则", "附则"], effective_on=date(2024, 4, 15))
    return campaign


def test_campaign_goes_chapter_by_chapter_and_completes_with_the_last():
    campaign = launched()
    with pytest.raises(DomainRuleViolation) as error:
        campaign.complete_chapter(2, 50, date(2024, 4, 20), TODAY)
    assert rule(error) == "chapter_order"
    with pytest.raises(DomainRuleViolation) as error:
        campaign.complete_chapter(4, 50, date(2024, 4, 20), TODAY)
    assert rule(error) == "unknown_chapter"
    with pytest.raises(DomainRuleViolation) as error:
        campaign.complete_chapter(1, 50, date(2024, 4, 14), TODAY)
    assert rule(error) == "date_order"
    with pytest.raises(DomainRuleViolation) as error:
        campaign.complete_chapter(1, 50, date(2025, 1, 2), TODAY)
    assert rule(error) == "future_date"
    campaign.complete_chapter(1, 50, date(2024, 4, 20), TODAY)
    with pytest.raises(Conflict):
        campaign.complete_chapter(1, 50, date(2024, 4, 21), TODAY)
    campaign.complete_chapter(2, 60, date(2024, 5, 20), TODAY)
    assert not campaign.completed
    campaign.complete_chapter(3, 70, date(2024, 6, 20), TODAY)
    assert isinstance(campaign.pending[-2], StudyChapterCompleted)
    assert isinstance(campaign.pending[-1], StudyCampaignCompleted)
    assert campaign.pending[-2].title == "附则"
    with pytest.raises(Conflict):
        campaign.complete_chapter(3, 70, date(2024, 6, 21), TODAY)
