"""The Expert aggregate: roster membership, visits with follow-ups, secondments (挂职)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from contracts.personal_data import SealedPersonalData
from contracts.registry import DomainEvent
from contracts.talent import (
    ExpertKind,
    ExpertRegistered,
    ExpertVisited,
    FollowUpClosed,
    RaisedIssue,
    SecondmentArranged,
    SecondmentEnded,
    VisitOccasion,
)
from services.kernel.aggregate import Aggregate
from services.kernel.errors import Conflict, DomainRuleViolation, NotFound
from services.talent.domain.common import child_id, not_before, not_in_future

__all__ = ["Expert", "IssueInput", "normalise_phone"]

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def normalise_phone(raw: str) -> str:
    """Digits of a mainland mobile (11 digits) or landline (area code + number); ValueError else."""
    digits = re.sub(r"[\s-]", "", raw.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    if _MOBILE.match(digits) or _LANDLINE.match(digits):
        return digits
    raise ValueError("must be an 11-digit mobile number or a landline with its area code")


@dataclass(frozen=True)
class IssueInput:
    description: str
    action: str
    owner: str
    due_on: date


@dataclass
class _FollowUp:
    raised_on: date
    closed_on: date | None = None


@dataclass
class _Secondment:
    starts_on: date
    ends_on: date
    ended_on: date | None = None

    @property
    def last_day(self) -> date:
        return self.ended_on or self.ends_on


class Expert(Aggregate):
    stream_type = "expert"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.name = ""
        self.kind: ExpertKind | None = None
        self.registered_on: date | None = None
        self.follow_ups: dict[str, _FollowUp] = {}
        self.secondments: dict[str, _Secondment] = {}

    def apply(self, event: DomainEvent) -> None:
        match event:
            case ExpertRegistered():
                self.name, self.kind = event.name, event.kind
                self.registered_on = event.effective_on
            case ExpertVisited():
                for issue in event.issues:
                    self.follow_ups[issue.follow_up_id] = _FollowUp(event.effective_on)
            case FollowUpClosed():
                self.follow_ups[event.follow_up_id].closed_on = event.effective_on
            case SecondmentArranged():
                self.secondments[event.secondment_id] = _Secondment(event.starts_on, event.ends_on)
            case SecondmentEnded():
                self.secondments[event.secondment_id].ended_on = event.effective_on

    def _registered_on(self) -> date:
        if self.registered_on is None:
            raise NotFound(f"expert {self.id} is not registered")
        return self.registered_on

    def register(self, *, name: str, kind: ExpertKind, field: str | None, affiliation: str | None,
                 hometown: str | None, phone: SealedPersonalData | None, registered_on: date,
                 term_ends_on: date | None, today: date) -> None:
        if self.exists:
            raise Conflict(f"expert {self.id} is already registered")
        not_in_future(registered_on, today, "#/registered_on", "the registration date")
        if kind == "think_tank_expert" and not field:
            raise DomainRuleViolation("a think-tank expert needs a field of expertise",
                                      pointer="#/field", code="field_required")
        if term_ends_on is not None and term_ends_on <= registered_on:
            raise DomainRuleViolation(
                f"the term must end after it starts ({registered_on}), not on {term_ends_on}",
                pointer="#/term_ends_on", code="date_order")
        self._record(ExpertRegistered(
            expert_id=self.id, name=name, kind=kind, field=field, affiliation=affiliation,
            hometown=hometown, phone=phone, term_ends_on=term_ends_on, effective_on=registered_on))

    def record_visit(self, *, visited_on: date, visitors: list[str], occasion: VisitOccasion,
                     issues: list[IssueInput], today: date) -> str:
        registered_on = self._registered_on()
        not_before(visited_on, registered_on, "#/visited_on", "the visit", "the registration")
        not_in_future(visited_on, today, "#/visited_on", "the visit date")
        if len(set(visitors)) != len(visitors):
            raise DomainRuleViolation("a visitor is listed twice", pointer="#/visitors",
                                      code="duplicate_visitor")
        for n, issue in enumerate(issues):
            not_before(issue.due_on, visited_on, f"#/issues/{n}/due_on", "the follow-up deadline",
                       "the visit")
        visit_id = child_id(self.stream_id, self.version + 1)
        raised = [RaisedIssue(follow_up_id=f"{visit_id}.{n + 1}", description=i.description,
                              action=i.action, owner=i.owner, due_on=i.due_on)
                  for n, i in enumerate(issues)]
        self._record(ExpertVisited(expert_id=self.id, visit_id=visit_id, visitors=visitors,
                                   occasion=occasion, issues=raised, effective_on=visited_on))
        return visit_id

    def close_follow_up(self, follow_up_id: str, *, resolution: str, closed_on: date,
                        today: date) -> None:
        self._registered_on()
        follow_up = self.follow_ups.get(follow_up_id)
        if follow_up is None:
            raise NotFound(f"expert {self.name} has no follow-up {follow_up_id}")
        if follow_up.closed_on is not None:
            raise Conflict(f"follow-up {follow_up_id} was already closed on {follow_up.closed_on}")
        not_before(closed_on, follow_up.raised_on, "#/closed_on", "the closure", "the visit")
        not_in_future(closed_on, today, "#/closed_on", "the closure date")
        self._record(FollowUpClosed(expert_id=self.id, follow_up_id=follow_up_id,
                                    resolution=resolution, effective_on=closed_on))

    def arrange_secondment(self, *, host_unit: str, post: str, starts_on: date, ends_on: date
                           ) -> str:
        registered_on = self._registered_on()
        if ends_on <= starts_on:
            raise DomainRuleViolation(
                f"a secondment must end after it starts ({starts_on}), not on {ends_on}",
                pointer="#/ends_on", code="date_order")
        not_before(starts_on, registered_on, "#/starts_on", "the secondment", "the registration")
        for other in self.secondments.values():
            if starts_on <= other.last_day and other.starts_on <= ends_on:
                raise DomainRuleViolation(
                    f"expert {self.name} is already seconded from {other.starts_on} to "
                    f"{other.last_day}", pointer="#/starts_on", code="overlapping_secondment")
        secondment_id = child_id(self.stream_id, self.version + 1)
        self._record(SecondmentArranged(expert_id=self.id, secondment_id=secondment_id,
                                        host_unit=host_unit, post=post, starts_on=starts_on,
                                        ends_on=ends_on, effective_on=starts_on))
        return secondment_id

    def end_secondment(self, secondment_id: str, *, ended_on: date, evaluation: str | None,
                       today: date) -> None:
        self._registered_on()
        secondment = self.secondments.get(secondment_id)
        if secondment is None:
            raise NotFound(f"expert {self.name} has no secondment {secondment_id}")
        if secondment.ended_on is not None:
            raise Conflict(f"secondment {secondment_id} already ended on {secondment.ended_on}")
        not_before(ended_on, secondment.starts_on, "#/ended_on", "the end", "the start")
        if ended_on > secondment.ends_on:
            raise DomainRuleViolation(
                f"the secondment was arranged until {secondment.ends_on}; it cannot end on "
                f"{ended_on} (arrange a new one to extend it)", pointer="#/ended_on",
                code="date_order")
        not_in_future(ended_on, today, "#/ended_on", "the end date")
        self._record(SecondmentEnded(expert_id=self.id, secondment_id=secondment_id,
                                     evaluation=evaluation, effective_on=ended_on))
