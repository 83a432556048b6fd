"""Townships (with their capacity), villages, communities, compounds and institutional rules."""

from __future__ import annotations

from datetime import date

from contracts.governance import (
    CommunityRegistered,
    CompoundRegistered,
    HireKind,
    InstitutionalRuleAdopted,
    MonitoringConnected,
    MonitoringDisconnected,
    PartyBuildingOfficeSetUp,
    ServiceStationClosed,
    ServiceStationOpened,
    StaffHired,
    TownshipRegistered,
    VillageRegistered,
)
from contracts.registry import DomainEvent
from services.governance.domain.common import TransitionRefused, check_effective_on
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
    """A residential compound with two independent switches: its service station (open or
    closed) and its monitoring (connected to the county platform or not)."""

    stream_type = "compound"
    TRANSITIONS = {
        "open_service_station": frozenset({"station_closed"}),
        "close_service_station": frozenset({"station_open"}),
        "connect_monitoring": frozenset({"disconnected"}),
        "disconnect_monitoring": frozenset({"connected"}),
    }

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.name = ""
        self.township_id = ""
        self.community_id = ""
        self.registered_on: date | None = None
        self.station = "station_closed"
        self.monitoring = "disconnected"
        self.changed_on: dict[str, date] = {}

    def apply(self, event: DomainEvent) -> None:
        match event:
            case CompoundRegistered():
                self.name, self.township_id = event.name, event.township_id
                self.community_id, self.registered_on = event.community_id, event.effective_on
            case ServiceStationOpened():
                self.station, self.changed_on["station"] = "station_open", event.effective_on
            case ServiceStationClosed():
                self.station, self.changed_on["station"] = "station_closed", event.effective_on
            case MonitoringConnected():
                self.monitoring, self.changed_on["monitoring"] = "connected", event.effective_on
            case MonitoringDisconnected():
                self.monitoring, self.changed_on["monitoring"] = "disconnected", event.effective_on

    def register(self, community: Community, name: str, households: int,
                 effective_on: date | None, today: date) -> None:
        if self.exists:
            raise Conflict(f"compound {self.id} is already registered")
        if effective_on is not None:
            check_effective_on(effective_on, today)
        self._record(CompoundRegistered(
            compound_id=self.id, township_id=community.township_id, community_id=community.id,
            name=name, households=households, effective_on=effective_on))

    def _switch(self, action: str, facility: str, effective_on: date, today: date) -> dict:
        state = self.station if facility == "station" else self.monitoring
        allowed = self.TRANSITIONS[action]
        if state not in allowed:
            raise TransitionRefused("compound", self.id, action, state, allowed)
        previous = self.changed_on.get(facility)
        check_effective_on(effective_on, today, after=previous or self.registered_on,
                           after_what="its last change" if previous else "the compound's hand-over")
        return {"compound_id": self.id, "township_id": self.township_id,
                "effective_on": effective_on}

    def open_service_station(self, address: str | None, effective_on: date, today: date) -> None:
        common = self._switch("open_service_station", "station", effective_on, today)
        self._record(ServiceStationOpened(**common, address=address))

    def close_service_station(self, reason: str, effective_on: date, today: date) -> None:
        common = self._switch("close_service_station", "station", effective_on, today)
        self._record(ServiceStationClosed(**common, reason=reason))

    def connect_monitoring(self, devices: int, effective_on: date, today: date) -> None:
        common = self._switch("connect_monitoring", "monitoring", effective_on, today)
        self._record(MonitoringConnected(**common, devices=devices))

    def disconnect_monitoring(self, reason: str, effective_on: date, today: date) -> None:
        common = self._switch("disconnect_monitoring", "monitoring", effective_on, today)
        self._record(MonitoringDisconnected(**common, reason=reason))


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
