"""The Unit aggregate: establishment (编制), approved leadership posts (领导职数), rank quotas
(职级职数), and which cadres occupy them."""

from __future__ import annotations

from datetime import date

from contracts.personnel import (
    RANK_NAMES,
    CadreCategory,
    Establishment,
    EstablishmentAdjusted,
    EstablishmentSlotOccupied,
    EstablishmentSlotReleased,
    HeldPost,
    LeadershipPostFilled,
    LeadershipPostFreed,
    LeadershipPostsApproved,
    PostFreedReason,
    RankQuotasApproved,
    RankQuotaTaken,
    SlotReleaseReason,
    UnitKind,
    UnitRegistered,
)
from contracts.registry import DomainEvent
from services.kernel.aggregate import Aggregate
from services.kernel.errors import Conflict, DomainRuleViolation

__all__ = ["SLOT_OF_CATEGORY", "Unit"]

SLOT_OF_CATEGORY: dict[str, str] = {"civil_servant": "administrative",
                                    "institution_staff": "institution"}


class Unit(Aggregate):
    stream_type = "unit"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.name = ""
        self.established_on: date | None = None
        self.establishment = Establishment(administrative=0, institution=0)
        self.occupied = {"administrative": 0, "institution": 0}
        self.members: dict[str, str] = {}
        self.approved_posts: dict[str, int] = {}
        self.filled_posts: dict[tuple[str, str], str] = {}
        self.rank_quotas: dict[str, int] = {}
        self.rank_holders: dict[str, str] = {}

    def apply(self, event: DomainEvent) -> None:
        match event:
            case UnitRegistered():
                self.name = event.name
                self.establishment = event.establishment
                self.established_on = event.effective_on
            case EstablishmentAdjusted():
                self.establishment = event.establishment
            case EstablishmentSlotOccupied():
                self.occupied[SLOT_OF_CATEGORY[event.category]] += 1
                self.members[event.cadre_id] = event.category
                if event.rank:
                    self.rank_holders[event.cadre_id] = event.rank
            case EstablishmentSlotReleased():
                self.occupied[SLOT_OF_CATEGORY[event.category]] -= 1
                self.members.pop(event.cadre_id, None)
                self.rank_holders.pop(event.cadre_id, None)
            case LeadershipPostsApproved():
                self.approved_posts = dict(event.approved)
            case RankQuotasApproved():
                self.rank_quotas = dict(event.quotas)
            case LeadershipPostFilled():
                self.filled_posts[(event.cadre_id, event.post.post_id)] = event.post.level
            case LeadershipPostFreed():
                self.filled_posts.pop((event.cadre_id, event.post_id), None)
            case RankQuotaTaken():
                self.rank_holders[event.cadre_id] = event.rank

    def register(self, name: str, kind: UnitKind, establishment: Establishment,
                 effective_on: date | None) -> None:
        if self.exists:
            raise Conflict(f"unit {self.id} already exists")
        self._record(UnitRegistered(unit_id=self.id, name=name, kind=kind,
                                    establishment=establishment, effective_on=effective_on))

    def _not_before_establishment(self, effective_on: date, what: str = "the change") -> None:
        if self.established_on and effective_on < self.established_on:
            raise DomainRuleViolation(
                f"{what} ({effective_on}) cannot precede the unit's registration "
                f"({self.established_on})", pointer="#/effective_on", code="date_order")

    def adjust_establishment(self, establishment: Establishment, effective_on: date,
                             document_number: str | None) -> None:
        self._not_before_establishment(effective_on, "the adjustment")
        self._record(EstablishmentAdjusted(
            unit_id=self.id, establishment=establishment, previous=self.establishment,
            effective_on=effective_on, document_number=document_number))

    def approve_posts(self, approved: dict[str, int], effective_on: date,
                      document_number: str | None) -> None:
        self._not_before_establishment(effective_on, "the approval")
        self._record(LeadershipPostsApproved(
            unit_id=self.id, approved={k: v for k, v in approved.items() if v},
            previous=self.approved_posts, effective_on=effective_on,
            document_number=document_number))

    def approve_rank_quotas(self, quotas: dict[str, int], effective_on: date,
                            document_number: str | None) -> None:
        self._not_before_establishment(effective_on, "the approval")
        self._record(RankQuotasApproved(
            unit_id=self.id, quotas=quotas, previous=self.rank_quotas,
            effective_on=effective_on, document_number=document_number))

    def vacancies(self, category: CadreCategory) -> int:
        slot = SLOT_OF_CATEGORY[category]
        return max(0, getattr(self.establishment, slot) - self.occupied[slot])

    def post_vacancies(self, level: str) -> int:
        filled = sum(1 for lv in self.filled_posts.values() if lv == level)
        return max(0, self.approved_posts.get(level, 0) - filled)

    def rank_held(self, rank: str) -> int:
        return sum(1 for r in self.rank_holders.values() if r == rank)

    def _check_rank_quota(self, rank: str | None, enforce: bool, pointer: str) -> None:
        if not (rank and enforce and rank in self.rank_quotas):
            return
        if self.rank_held(rank) >= self.rank_quotas[rank]:
            raise DomainRuleViolation(
                f"unit {self.name} has no free place in its quota for {RANK_NAMES[rank]} "
                f"({self.rank_quotas[rank]} approved, {self.rank_held(rank)} held)",
                pointer=pointer, code="no_rank_quota")

    def occupy_slot(self, cadre_id: str, category: CadreCategory, effective_on: date, *,
                    rank: str | None = None, enforce_rank_quota: bool = True,
                    pointer: str = "#/unit_id", rank_pointer: str = "#/rank") -> None:
        self._not_before_establishment(effective_on, "joining the unit")
        if cadre_id in self.members:
            raise Conflict(f"the cadre already occupies a slot of unit {self.name}")
        if self.vacancies(category) < 1:
            slot = SLOT_OF_CATEGORY[category]
            raise DomainRuleViolation(
                f"unit {self.name} has no vacant {slot} slot "
                f"({getattr(self.establishment, slot)} approved, {self.occupied[slot]} occupied)",
                pointer=pointer, code="no_vacancy")
        self._check_rank_quota(rank, enforce_rank_quota, rank_pointer)
        self._record(EstablishmentSlotOccupied(unit_id=self.id, cadre_id=cadre_id,
                                               category=category, effective_on=effective_on,
                                               rank=rank))

    def release_slot(self, cadre_id: str, reason: SlotReleaseReason, effective_on: date) -> None:
        category = self.members.get(cadre_id)
        if category is None:
            raise Conflict(f"the cadre occupies no slot of unit {self.name}")
        self._record(EstablishmentSlotReleased(
            unit_id=self.id, cadre_id=cadre_id, category=category,  # type: ignore[arg-type]
            rank=self.rank_holders.get(cadre_id), reason=reason, effective_on=effective_on))

    def fill_post(self, cadre_id: str, post: HeldPost, effective_on: date,
                  pointer: str = "#/level") -> None:
        if self.post_vacancies(post.level) < 1:
            approved = self.approved_posts.get(post.level, 0)
            raise DomainRuleViolation(
                f"unit {self.name} has no vacant {post.level} leadership post ({approved} approved, "
                f"{approved - self.post_vacancies(post.level)} filled)",
                pointer=pointer, code="no_post_vacancy")
        self._record(LeadershipPostFilled(unit_id=self.id, cadre_id=cadre_id, post=post,
                                          effective_on=effective_on))

    def free_post(self, cadre_id: str, post: HeldPost, reason: PostFreedReason,
                  effective_on: date) -> None:
        self._record(LeadershipPostFreed(unit_id=self.id, cadre_id=cadre_id, post_id=post.post_id,
                                         level=post.level, reason=reason,
                                         effective_on=effective_on))

    def take_rank(self, cadre_id: str, rank: str, effective_on: date, *, enforce: bool) -> None:
        self._check_rank_quota(rank, enforce, "#/target_rank")
        self._record(RankQuotaTaken(unit_id=self.id, cadre_id=cadre_id, rank=rank,
                                    released_rank=self.rank_holders.get(cadre_id),
                                    effective_on=effective_on))
