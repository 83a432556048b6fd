"""The Unit aggregate: establishment (编制) and who occupies its slots."""

from __future__ import annotations

from datetime import date

from contracts.personnel import (
    CadreCategory,
    Establishment,
    EstablishmentAdjusted,
    EstablishmentSlotOccupied,
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

    def register(self, name: str, kind: UnitKind, establishment: Establishment,
                 effective_on: date | None) -> None:
        if self.exists:
            raise Conflict(f"unit {self.id} already exists")
        self._record(UnitRegistered(unit_id=self.id, name=name, kind=kind,
                                    establishment=establishment, effective_on=effective_on))

    def adjust_establishment(self, establishment: Establishment, effective_on: date,
                             document_number: str | None) -> None:
        if self.established_on and effective_on < self.established_on:
            raise DomainRuleViolation(
                f"the adjustment ({effective_on}) cannot precede the unit's registration "
                f"({self.established_on})", pointer="#/effective_on", code="date_order")
        self._record(EstablishmentAdjusted(
            unit_id=self.id, establishment=establishment, previous=self.establishment,
            effective_on=effective_on, document_number=document_number))

    def vacancies(self, category: CadreCategory) -> int:
        slot = SLOT_OF_CATEGORY[category]
        return max(0, getattr(self.establishment, slot) - self.occupied[slot])

    def occupy_slot(self, cadre_id: str, category: CadreCategory, effective_on: date) -> None:
        if self.established_on and effective_on < self.established_on:
            raise DomainRuleViolation(
                f"the unit {self.name} exists only from {self.established_on}",
                pointer="#/effective_on", code="date_order")
        if self.vacancies(category) < 1:
            slot = SLOT_OF_CATEGORY[category]
            raise DomainRuleViolation(
                f"unit {self.name} has no vacant {slot} slot "
                f"({getattr(self.establishment, slot)} approved, {self.occupied[slot]} occupied)",
                pointer="#/unit_id", code="no_vacancy")
        self._record(EstablishmentSlotOccupied(unit_id=self.id, cadre_id=cadre_id,
                                               category=category, effective_on=effective_on))
