"""A rectification case (软弱涣散村党组织整顿): one per village and year; problems and the measures
against them; an acceptance review; sign-off (销号) or reopening."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from contracts.governance import (
    RectificationCaseOpened,
    RectificationMeasureAdopted,
    RectificationMeasureCompleted,
    RectificationProblemRecorded,
    RectificationProblemResolved,
    RectificationReopened,
    RectificationReviewed,
    RectificationSignedOff,
    ReviewVotes,
)
from contracts.registry import DomainEvent
from services.governance.domain.common import StatefulAggregate, check_effective_on
from services.governance.domain.geography import Village
from services.kernel.errors import Conflict, DomainRuleViolation

__all__ = ["PASS_MARK", "RectificationCase", "case_id_for"]

PASS_MARK = 70
"""Lowest score an accepted review may have (REFERENCE.md c.3: 'pass mark ≥70')."""
_NAMESPACE = uuid.UUID("2b9f3c1e-7d4a-4e0b-9a1c-5f6e8d7c3b21")


def case_id_for(village_id: str, year: int) -> str:
    """One case per village and year: opening it twice is a conflict."""
    return str(uuid.uuid5(_NAMESPACE, f"{village_id}/{year}"))


@dataclass
class _Problem:
    category: str
    found_on: date
    resolved_on: date | None = None
    measures: list[str] = field(default_factory=list)


@dataclass
class _Measure:
    problem_id: str
    adopted_on: date
    due_on: date
    completed_on: date | None = None


class RectificationCase(StatefulAggregate):
    stream_type = "rectification_case"
    what = "rectification case"
    TRANSITIONS = {
        "record_problem": frozenset({"rectifying"}),
        "adopt_measure": frozenset({"rectifying"}),
        "complete_measure": frozenset({"rectifying"}),
        "resolve_problem": frozenset({"rectifying"}),
        "review": frozenset({"rectifying"}),
        "sign_off": frozenset({"accepted"}),
        "reopen": frozenset({"accepted", "signed_off"}),
    }

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.categories: list[str] = []
        self.opened_on: date | None = None
        self.last_on: date | None = None
        self.problems: dict[str, _Problem] = {}
        self.measures: dict[str, _Measure] = {}

    def apply(self, event: DomainEvent) -> None:
        self.last_on = max(filter(None, (self.last_on, event.effective_on)))
        match event:
            case RectificationCaseOpened():
                self.state, self.township_id = "rectifying", event.township_id
                self.categories, self.opened_on = list(event.categories), event.effective_on
            case RectificationProblemRecorded():
                self.problems[event.problem_id] = _Problem(event.category, event.effective_on)
            case RectificationMeasureAdopted():
                self.measures[event.measure_id] = _Measure(event.problem_id, event.effective_on,
                                                           event.due_on)
                self.problems[event.problem_id].measures.append(event.measure_id)
            case RectificationMeasureCompleted():
                self.measures[event.measure_id].completed_on = event.effective_on
            case RectificationProblemResolved():
                self.problems[event.problem_id].resolved_on = event.effective_on
            case RectificationReviewed():
                self.state = "accepted" if event.passed else "rectifying"
            case RectificationSignedOff():
                self.state = "signed_off"
            case RectificationReopened():
                self.state = "rectifying"

    def _common(self) -> dict:
        return {"case_id": self.id, "township_id": self.township_id}

    def _on(self, effective_on: date, today: date, *, after: date | None = None,
            after_what: str = "the case's opening", pointer: str = "#/effective_on") -> date:
        return check_effective_on(effective_on, today, after=after or self.opened_on,
                                  after_what=after_what, pointer=pointer)

    def open(self, village: Village, year: int, categories: list[str], criteria: list[str],
             effective_on: date, today: date) -> None:
        if self.exists:
            raise Conflict(f"village {village.name} already has a rectification case for {year}")
        if len(set(categories)) != len(categories):
            raise DomainRuleViolation("a category is listed twice", pointer="#/categories",
                                      code="duplicate_category")
        if not 2000 <= year <= today.year + 1:
            raise DomainRuleViolation(f"year {year} is out of range", pointer="#/year",
                                      code="date_range")
        check_effective_on(effective_on, today)
        self._record(RectificationCaseOpened(
            case_id=self.id, township_id=village.township_id, village_id=village.id, year=year,
            categories=categories, criteria=criteria, effective_on=effective_on))

    def record_problem(self, category: str, description: str, effective_on: date, today: date,
                       pointer: str = "#") -> str:
        self._allow("record_problem")
        if category not in self.categories:
            raise DomainRuleViolation(
                f"category {category} is not among the case's ({', '.join(self.categories)})",
                pointer=_at(pointer, "category"),
                code="category_not_on_case")
        problem_id = f"P{len(self.problems) + 1}"
        self._record(RectificationProblemRecorded(
            **self._common(), problem_id=problem_id, category=category, description=description,
            effective_on=self._on(effective_on, today)))
        return problem_id

    def adopt_measure(self, problem_id: str, action: str, owner: str, due_on: date,
                      effective_on: date, today: date, pointer: str = "#") -> str:
        self._allow("adopt_measure")
        problem = self.problems.get(problem_id)
        if problem is None:
            raise DomainRuleViolation(f"no problem {problem_id} on this case",
                                      pointer=_at(pointer, "problem_id"), code="unknown_problem")
        if problem.resolved_on is not None:
            raise DomainRuleViolation(f"problem {problem_id} is already solved",
                                      pointer=_at(pointer, "problem_id"), code="problem_resolved")
        effective_on = self._on(effective_on, today, after=problem.found_on,
                                after_what=f"problem {problem_id} was found")
        if due_on < effective_on:
            raise DomainRuleViolation(f"due date {due_on} is before adoption ({effective_on})",
                                      pointer=_at(pointer, "due_on"), code="date_order")
        measure_id = f"M{len(self.measures) + 1}"
        self._record(RectificationMeasureAdopted(
            **self._common(), measure_id=measure_id, problem_id=problem_id, action=action,
            owner=owner, due_on=due_on, effective_on=effective_on))
        return measure_id

    def complete_measure(self, measure_id: str, effective_on: date, today: date) -> None:
        self._allow("complete_measure")
        measure = self.measures.get(measure_id)
        if measure is None:
            raise DomainRuleViolation(f"no measure {measure_id} on this case", pointer="#",
                                      code="unknown_measure")
        if measure.completed_on is not None:
            raise DomainRuleViolation(f"measure {measure_id} was completed on "
                                      f"{measure.completed_on}", pointer="#",
                                      code="already_completed")
        effective_on = self._on(effective_on, today, after=measure.adopted_on,
                                after_what="its adoption")
        self._record(RectificationMeasureCompleted(
            **self._common(), measure_id=measure_id, on_time=effective_on <= measure.due_on,
            effective_on=effective_on))

    def resolve_problem(self, problem_id: str, effective_on: date, today: date) -> None:
        self._allow("resolve_problem")
        problem = self.problems.get(problem_id)
        if problem is None:
            raise DomainRuleViolation(f"no problem {problem_id} on this case", pointer="#",
                                      code="unknown_problem")
        if problem.resolved_on is not None:
            raise DomainRuleViolation(f"problem {problem_id} was solved on {problem.resolved_on}",
                                      pointer="#", code="problem_resolved")
        if not problem.measures:
            raise DomainRuleViolation(f"problem {problem_id} has no measure", pointer="#",
                                      code="no_measures")
        open_ = [m for m in problem.measures if self.measures[m].completed_on is None]
        if open_:
            raise DomainRuleViolation(f"measures {', '.join(open_)} are not completed",
                                      pointer="#", code="measures_open")
        last = max(self.measures[m].completed_on for m in problem.measures)
        self._record(RectificationProblemResolved(
            **self._common(), problem_id=problem_id,
            effective_on=self._on(effective_on, today, after=last,
                                  after_what="its last measure's completion")))

    def review(self, passed: bool, score: int, votes: ReviewVotes | None, note: str | None,
               effective_on: date, today: date, pass_mark: int = PASS_MARK) -> None:
        self._allow("review")
        if passed:
            open_ = [p for p, problem in self.problems.items() if problem.resolved_on is None]
            if not self.problems or open_:
                raise DomainRuleViolation(
                    f"acceptance needs problems recorded and all solved (open: {open_})",
                    pointer="#/passed", code="problems_open")
            if score < pass_mark:
                raise DomainRuleViolation(f"score {score} is below the pass mark {pass_mark}",
                                          pointer="#/score", code="below_pass_mark")
            if votes is not None:
                total = votes.satisfied + votes.basically_satisfied + votes.dissatisfied
                if votes.dissatisfied * 2 > total:
                    raise DomainRuleViolation("more than half of the votes are dissatisfied",
                                              pointer="#/votes", code="dissatisfied_majority")
        self._record(RectificationReviewed(
            **self._common(), passed=passed, score=score, votes=votes, note=note,
            effective_on=self._on(effective_on, today, after=self.last_on,
                                  after_what="the case's last step")))

    def sign_off(self, document_number: str | None, effective_on: date, today: date) -> None:
        self._allow("sign_off")
        self._record(RectificationSignedOff(
            **self._common(), document_number=document_number,
            effective_on=self._on(effective_on, today, after=self.last_on,
                                  after_what="the review")))

    def reopen(self, reason: str, effective_on: date, today: date) -> None:
        self._allow("reopen")
        self._record(RectificationReopened(
            **self._common(), reason=reason,
            effective_on=self._on(effective_on, today, after=self.last_on,
                                  after_what="the case's last step")))


def _at(pointer: str, name: str) -> str:
    return f"{pointer.rstrip('/')}/{name}" if pointer != "#" else f"#/{name}"
