"""Townships (with their capacity), villages, communities, compounds and institutional rules."""

from __future__ import annotations

from datetime import date

from contracts.governance import (
    CommunityRegistered,
    CompoundRegistered,
    HireKind,
    InstitutionalRuleAdopted,
    PartyBuildingOfficeSetUp,
    StaffHired,
    TownshipRegistered,
    VillageRegistered,
)
from contracts.registry import DomainEvent
from services.governance.domain.common import check_effective_on
from services.kernel.aggregate import Aggregate
from services.kernel.errors import Conflict

__all__ = ["Community", "Compound", "InstitutionalRule", "Township", "Village"]


class Township(Aggregate):
    stream_type = "township"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.name = ""
        self.established_on: date | None = None
        self.office_set_up_on: date | None = None
        self.hired: dict[str, int] = {}

    @property
    def township_id(self) -> str:
        return self.id

    def apply(self, event: DomainEvent) -> None:
        match event:
            case TownshipRegistered():
                self.name, self.established_on = event.name, event.effective_on
            case PartyBuildingOfficeSetUp():
                self.office_set_up_on = event.effective_on
            case StaffHired():
                self.hired[event.kind] = self.hired.get(event.kind, 0) + event.count

    def register(self, name: str, effective_on: date | None, today: date) -> None:
        if self.exists:
            raise Conflict(f"township {self.id} is already registered ({self.name})")
        if effective_on is not None:
            check_effective_on(effective_on, today)
        self._record(TownshipRegistered(township_id=self.id, name=name, effective_on=effective_on))

    def set_up_party_building_office(self, effective_on: date, staff_count: int,
                                     document_number: str | None, today: date) -> None:
        if self.office_set_up_on is not None:
            raise Conflict(f"township {self.name} set up its party-building office on "
                           f"{self.office_set_up_on}")
        check_effective_on(effective_on, today, after=self.established_on,
                           after_what="the township's establishment")
        self._record(PartyBuildingOfficeSetUp(
            township_id=self.id, staff_count=staff_count, document_number=document_number,
            effective_on=effective_on))

    def record_hires(self, kind: HireKind, count: int, effective_on: date, note: str | None,
                     today: date) -> None:
        check_effective_on(effective_on, today, after=self.established_on,
                           after_what="the township's establishment")
        self._record(StaffHired(township_id=self.id, kind=kind, count=count, note=note,
                                effective_on=effective_on))


class Village(Aggregate):
    stream_type = "village"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.name = ""
        self.township_id = ""

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, VillageRegistered):
            self.name, self.township_id = event.name, event.township_id

    def register(self, township: Township, name: str) -> None:
        if self.exists:
            raise Conflict(f"village {self.id} is already registered ({self.name})")
        self._record(VillageRegistered(village_id=self.id, township_id=township.id, name=name))


class Community(Aggregate):
    stream_type = "community"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.name = ""
        self.township_id = ""

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, CommunityRegistered):
            self.name, self.township_id = event.name, event.township_id

    def register(self, township: Township, name: str) -> None:
        if self.exists:
            raise Conflict(f"community {self.id} is already registered ({self.name})")
        self._record(CommunityRegistered(community_id=self.id, township_id=township.id,
                                         name=name))


class Compound(Aggregate):
    stream_type = "compound"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.name = ""
        self.township_id = ""
        self.community_id = ""
        self.registered_on: date | None = None

    def apply(self, event: DomainEvent) -> None:
        match event:
            case CompoundRegistered():
                self.name, self.township_id = event.name, event.township_id
                self.community_id, self.registered_on = event.community_id, event.effective_on

    def register(self, community: Community, name: str, households: int,
                 effective_on: date | None, today: date) -> None:
        if self.exists:
            raise Conflict(f"compound {self.id} is already registered")
        if effective_on is not None:
            check_effective_on(effective_on, today)
        self._record(CompoundRegistered(
            compound_id=self.id, township_id=community.township_id, community_id=community.id,
            name=name, households=households, effective_on=effective_on))


class InstitutionalRule(Aggregate):
    stream_type = "institutional_rule"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.township_id: str | None = None

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, InstitutionalRuleAdopted):
            self.township_id = event.township_id

    def adopt(self, township: Township | None, title: str, document_number: str | None,
              effective_on: date, today: date) -> None:
        if self.exists:
            raise Conflict(f"rule {self.id} is already recorded")
        check_effective_on(effective_on, today)
        self._record(InstitutionalRuleAdopted(
            rule_id=self.id, township_id=township.id if township else None, title=title,
            document_number=document_number, effective_on=effective_on))
