"""A candidate of a village's leader reserve: identified (摸排) → surveyed (五谈五看) → talked
(一对一谈话) → on trial (试岗) → trial completed → qualified (储备合格); exit from any stage."""

from __future__ import annotations

from datetime import date

from contracts.governance import (
    ReserveCandidateAdded,
    ReserveCandidateExited,
    ReserveCandidateQualified,
    ReserveSurveyRecorded,
    ReserveTalkRecorded,
    ReserveTrialEvaluated,
    ReserveTrialStarted,
)
from contracts.registry import DomainEvent
from services.governance.domain.common import StatefulAggregate, check_effective_on
from services.governance.domain.geography import Village
from services.kernel.errors import Conflict, DomainRuleViolation

__all__ = ["STAGES", "ReserveCandidate"]

STAGES = ("identified", "surveyed", "talked", "on_trial", "trial_completed", "qualified")


class ReserveCandidate(StatefulAggregate):
    stream_type = "reserve_candidate"
    what = "reserve candidate"
    TRANSITIONS = {
        "record_survey": frozenset({"identified"}),
        "record_talk": frozenset({"surveyed"}),
        "start_trial": frozenset({"talked"}),
        "evaluate_trial": frozenset({"on_trial"}),
        "qualify": frozenset({"trial_completed"}),
        "exit": frozenset(STAGES),
    }

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.village_id = ""
        self.last_on: date | None = None
        self.willing: bool | None = None
        self.evaluation: str | None = None

    def apply(self, event: DomainEvent) -> None:
        self.last_on = event.effective_on
        match event:
            case ReserveCandidateAdded():
                self.state, self.township_id = "identified", event.township_id
                self.village_id = event.village_id
            case ReserveSurveyRecorded():
                self.state = "surveyed"
            case ReserveTalkRecorded():
                self.state, self.willing = "talked", event.willing
            case ReserveTrialStarted():
                self.state = "on_trial"
            case ReserveTrialEvaluated():
                self.state, self.evaluation = "trial_completed", event.evaluation
            case ReserveCandidateQualified():
                self.state = "qualified"
            case ReserveCandidateExited():
                self.state = "exited"

    def _common(self, effective_on: date, today: date, pointer: str = "#/effective_on") -> dict:
        on = check_effective_on(effective_on, today, after=self.last_on,
                                after_what="the candidate's previous step", pointer=pointer)
        return {"candidate_id": self.id, "village_id": self.village_id,
                "township_id": self.township_id, "effective_on": on}

    def add(self, village: Village, *, name: str, source: str, leader_candidate: bool,
            target_post: str | None, birth_year: int | None, education: str | None,
            party_member: bool, negative_list_hit: bool, effective_on: date, today: date,
            pointer: str = "#") -> None:
        if self.exists:
            raise Conflict(f"reserve candidate {self.id} already exists")
        if negative_list_hit:
            raise DomainRuleViolation(
                f"{name} is on the negative list (负面清单) and cannot enter the reserve",
                pointer=f"{pointer.rstrip('/')}/negative_list_hit", code="negative_list")
        if birth_year is not None and not today.year - 70 <= birth_year <= today.year - 18:
            raise DomainRuleViolation(f"birth year {birth_year} is out of range",
                                      pointer=f"{pointer.rstrip('/')}/birth_year", code="age_range")
        self.village_id, self.township_id = village.id, village.township_id
        self._record(ReserveCandidateAdded(
            **self._common(effective_on, today, f"{pointer.rstrip('/')}/effective_on"),
            name=name, source=source, leader_candidate=leader_candidate, target_post=target_post,
            birth_year=birth_year, education=education, party_member=party_member))

    def record_survey(self, items: list[str], notes: str | None, effective_on: date,
                      today: date) -> None:
        self._allow("record_survey")
        self._record(ReserveSurveyRecorded(**self._common(effective_on, today), items=items,
                                           notes=notes))

    def record_talk(self, willing: bool, notes: str | None, effective_on: date,
                    today: date) -> None:
        self._allow("record_talk")
        self._record(ReserveTalkRecorded(**self._common(effective_on, today), willing=willing,
                                         notes=notes))

    def start_trial(self, post: str, planned_end_on: date, effective_on: date,
                    today: date) -> None:
        self._allow("start_trial")
        if not self.willing:
            raise DomainRuleViolation("the candidate said in the talk that they are not willing",
                                      pointer="#", code="not_willing")
        common = self._common(effective_on, today)
        if planned_end_on <= common["effective_on"]:
            raise DomainRuleViolation("a trial ends after it starts", pointer="#/planned_end_on",
                                      code="date_order")
        self._record(ReserveTrialStarted(**common, post=post, planned_end_on=planned_end_on))

    def evaluate_trial(self, evaluation: str, notes: str | None, effective_on: date,
                       today: date) -> None:
        self._allow("evaluate_trial")
        self._record(ReserveTrialEvaluated(**self._common(effective_on, today),
                                           evaluation=evaluation, notes=notes))

    def qualify(self, effective_on: date, today: date) -> None:
        self._allow("qualify")
        if self.evaluation == "incompetent":
            raise DomainRuleViolation("the trial was evaluated incompetent", pointer="#",
                                      code="trial_failed")
        self._record(ReserveCandidateQualified(**self._common(effective_on, today)))

    def exit(self, reason: str, effective_on: date, today: date) -> None:
        self._allow("exit")
        self._record(ReserveCandidateExited(**self._common(effective_on, today), reason=reason,
                                            from_stage=self.state))
