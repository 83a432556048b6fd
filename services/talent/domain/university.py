"""The University aggregate: recruitment promotion events and cooperation agreements (校地合作)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts.registry import DomainEvent
from contracts.talent import (
    AgreementScope,
    CooperationAgreementSigned,
    CooperationAgreementTerminated,
    RecruitmentPromotionHeld,
    UniversityRegistered,
)
from services.kernel.aggregate import Aggregate
from services.kernel.errors import Conflict, DomainRuleViolation, NotFound
from services.talent.domain.common import child_id, not_before, not_in_future

__all__ = ["University"]


@dataclass
class _Agreement:
    signed_on: date
    term_ends_on: date
    terminated_on: date | None = None

    @property
    def last_day(self) -> date:
        return self.terminated_on or self.term_ends_on


class University(Aggregate):
    stream_type = "university"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.name = ""
        self.agreements: dict[str, _Agreement] = {}

    def apply(self, event: DomainEvent) -> None:
        match event:
            case UniversityRegistered():
                self.name = event.name
            case CooperationAgreementSigned():
                self.agreements[event.agreement_id] = _Agreement(event.effective_on,
                                                                 event.term_ends_on)
            case CooperationAgreementTerminated():
                self.agreements[event.agreement_id].terminated_on = event.effective_on

    def _require_registered(self) -> None:
        if not self.exists:
            raise NotFound(f"university {self.id} is not registered")

    def register(self, *, name: str, city: str | None) -> None:
        if self.exists:
            raise Conflict(f"university {self.name} is already registered")
        self._record(UniversityRegistered(university_id=self.id, name=name, city=city))

    def hold_promotion(self, *, title: str, held_on: date, attendees: int,
                       positions_offered: int, today: date) -> str:
        self._require_registered()
        not_in_future(held_on, today, "#/held_on", "the event date")
        if attendees < 0 or positions_offered < 0:
            raise DomainRuleViolation("head-counts cannot be negative", pointer="#/attendees",
                                      code="count")
        promotion_id = child_id(self.stream_id, self.version + 1)
        self._record(RecruitmentPromotionHeld(
            university_id=self.id, promotion_id=promotion_id, title=title, attendees=attendees,
            positions_offered=positions_offered, effective_on=held_on))
        return promotion_id

    def sign_agreement(self, *, title: str, scope: list[AgreementScope], signed_on: date,
                       term_ends_on: date, today: date) -> str:
        self._require_registered()
        if term_ends_on <= signed_on:
            raise DomainRuleViolation(
                f"the term must end after signing ({signed_on}), not on {term_ends_on}",
                pointer="#/term_ends_on", code="date_order")
        if len(set(scope)) != len(scope):
            raise DomainRuleViolation("a scope is listed twice", pointer="#/scope",
                                      code="duplicate_scope")
        not_in_future(signed_on, today, "#/signed_on", "the signing date")
        for other in self.agreements.values():
            if signed_on <= other.last_day and other.signed_on <= term_ends_on:
                raise DomainRuleViolation(
                    f"an agreement with {self.name} already runs from {other.signed_on} to "
                    f"{other.last_day}; terminate it first", pointer="#/signed_on",
                    code="overlapping_agreement")
        agreement_id = child_id(self.stream_id, self.version + 1)
        self._record(CooperationAgreementSigned(
            university_id=self.id, agreement_id=agreement_id, title=title, scope=scope,
            term_ends_on=term_ends_on, effective_on=signed_on))
        return agreement_id

    def terminate_agreement(self, agreement_id: str, *, reason: str, terminated_on: date,
                            today: date) -> None:
        self._require_registered()
        agreement = self.agreements.get(agreement_id)
        if agreement is None:
            raise NotFound(f"{self.name} has no agreement {agreement_id}")
        if agreement.terminated_on is not None:
            raise Conflict(f"agreement {agreement_id} was already terminated on "
                           f"{agreement.terminated_on}")
        not_before(terminated_on, agreement.signed_on, "#/terminated_on", "termination", "signing")
        if terminated_on > agreement.term_ends_on:
            raise DomainRuleViolation(
                f"the agreement already expired on {agreement.term_ends_on}",
                pointer="#/terminated_on", code="date_order")
        not_in_future(terminated_on, today, "#/terminated_on", "the termination date")
        self._record(CooperationAgreementTerminated(
            university_id=self.id, agreement_id=agreement_id, reason=reason,
            effective_on=terminated_on))
