"""The Studio aggregate (名师名医名家名匠工作室): certification, funding, reviews, revocation."""

from __future__ import annotations

from datetime import date

from contracts.registry import DomainEvent
from contracts.talent import (
    ReviewGrade,
    StudioCertified,
    StudioField,
    StudioFundingGranted,
    StudioLead,
    StudioReviewed,
    StudioRevoked,
)
from services.kernel.aggregate import Aggregate
from services.kernel.errors import Conflict, DomainRuleViolation, NotFound
from services.talent.domain.common import child_id, not_before, not_in_future

__all__ = ["Studio"]


class Studio(Aggregate):
    stream_type = "studio"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.name = ""
        self.certified_on: date | None = None
        self.revoked_on: date | None = None
        self.funding_total = 0
        self.reviews: dict[int, ReviewGrade] = {}

    @property
    def revoked(self) -> bool:
        return self.revoked_on is not None

    def apply(self, event: DomainEvent) -> None:
        match event:
            case StudioCertified():
                self.name = event.name
                self.certified_on = event.effective_on
            case StudioFundingGranted():
                self.funding_total += event.amount_yuan
            case StudioReviewed():
                self.reviews[event.year] = event.grade
            case StudioRevoked():
                self.revoked_on = event.effective_on

    def certify(self, *, name: str, field: StudioField, lead: StudioLead, host_unit: str,
                certified_on: date, document_number: str | None, today: date) -> None:
        if self.exists:
            raise Conflict(f"studio {self.id} is already certified")
        not_in_future(certified_on, today, "#/certified_on", "the certification date")
        self._record(StudioCertified(
            studio_id=self.id, name=name, field=field, lead=lead, host_unit=host_unit,
            document_number=document_number, effective_on=certified_on))

    def _require_active(self, action: str) -> date:
        if self.certified_on is None:
            raise NotFound(f"studio {self.id} is not certified; it cannot {action}")
        if self.revoked:
            raise DomainRuleViolation(
                f"studio {self.name} was revoked on {self.revoked_on}; it cannot {action}",
                pointer="#", code="studio_revoked")
        return self.certified_on

    def grant_funding(self, *, amount_yuan: int, granted_on: date, purpose: str | None,
                      today: date) -> str:
        certified_on = self._require_active("receive funding")
        if isinstance(amount_yuan, bool) or not isinstance(amount_yuan, int) or amount_yuan <= 0:
            raise DomainRuleViolation(f"amount_yuan must be a positive integer, not {amount_yuan!r}",
                                      pointer="#/amount_yuan", code="amount")
        not_before(granted_on, certified_on, "#/granted_on", "the grant", "certification")
        not_in_future(granted_on, today, "#/granted_on", "the grant date")
        grant_id = child_id(self.stream_id, self.version + 1)
        self._record(StudioFundingGranted(studio_id=self.id, grant_id=grant_id,
                                          amount_yuan=amount_yuan, purpose=purpose,
                                          effective_on=granted_on))
        return grant_id

    def review(self, *, year: int, grade: ReviewGrade, reviewed_on: date, comment: str | None,
               today: date) -> None:
        certified_on = self._require_active("be reviewed")
        if year < certified_on.year:
            raise DomainRuleViolation(
                f"the studio was certified in {certified_on.year}; it has no review for {year}",
                pointer="#/year", code="review_year")
        if reviewed_on.year < year:
            raise DomainRuleViolation(
                f"the review of {year} cannot take place in {reviewed_on.year}",
                pointer="#/reviewed_on", code="date_order")
        not_in_future(reviewed_on, today, "#/reviewed_on", "the review date")
        if year in self.reviews:
            raise Conflict(f"studio {self.name} already has its {year} review "
                           f"({self.reviews[year]})")
        self._record(StudioReviewed(studio_id=self.id, year=year, grade=grade, comment=comment,
                                    effective_on=reviewed_on))

    def revoke(self, *, reason: str, revoked_on: date, today: date) -> None:
        if self.revoked:
            raise Conflict(f"studio {self.name} was already revoked on {self.revoked_on}")
        certified_on = self._require_active("be revoked")
        not_before(revoked_on, certified_on, "#/revoked_on", "the revocation", "certification")
        not_in_future(revoked_on, today, "#/revoked_on", "the revocation date")
        self._record(StudioRevoked(studio_id=self.id, reason=reason, effective_on=revoked_on))
