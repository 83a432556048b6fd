"""Events published by the personnel service (干部人事)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.personal_data import SealedPersonalData
from contracts.registry import DomainEvent, registry

__all__ = [
    "CadreCategory",
    "CadreRecruited",
    "Establishment",
    "EstablishmentAdjusted",
    "EstablishmentSlotOccupied",
    "RecruitmentChannel",
    "UnitKind",
    "UnitRegistered",
]

UnitKind = Literal["party_government_organ", "institution", "township"]
CadreCategory = Literal["civil_servant", "institution_staff"]
RecruitmentChannel = Literal["exam_recruitment", "institution_hiring", "transfer_in"]


class Establishment(BaseModel):
    """Approved establishment (编制) slots of a unit, per category."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    administrative: int = Field(ge=0, le=100_000, description="Administrative slots (行政编制).")
    institution: int = Field(ge=0, le=100_000, description="Institution slots (事业编制).")


class _UnitEvent(DomainEvent):
    stream_kind = "unit"
    unit_id: str = Field(description="The unit's id.")


class _CadreEvent(DomainEvent):
    stream_kind = "cadre"
    cadre_id: str = Field(description="The cadre's id.")


@registry.register
class UnitRegistered(_UnitEvent):
    """A unit (机关 / 事业单位 / 乡镇) was registered with its approved establishment."""

    event_type = "zugong.personnel.unit_registered"
    name: str = Field(description="Official name of the unit.")
    kind: UnitKind = Field(description="Kind of unit.")
    establishment: Establishment = Field(description="Approved establishment at registration.")
    effective_on: date | None = Field(
        None, description="Date the unit was established, when known; null for a unit that "
        "existed before the platform.")


@registry.register
class EstablishmentAdjusted(_UnitEvent):
    """The unit's approved establishment was changed; carries the new totals."""

    event_type = "zugong.personnel.establishment_adjusted"
    establishment: Establishment = Field(description="Approved establishment after the change.")
    previous: Establishment = Field(description="Approved establishment before the change.")
    effective_on: date = Field(description="Date the adjustment takes effect.")
    document_number: str | None = Field(None, description="Approval document number (文号).")


@registry.register
class EstablishmentSlotOccupied(_UnitEvent):
    """A slot of the unit's establishment was taken by a cadre (入编)."""

    event_type = "zugong.personnel.establishment_slot_occupied"
    cadre_id: str = Field(description="The cadre who occupies the slot.")
    category: CadreCategory = Field(description="Category of the slot.")
    effective_on: date = Field(description="Date the slot is taken.")


@registry.register
class CadreRecruited(_CadreEvent):
    """A cadre joined a unit by exam recruitment, institution hiring or transfer-in."""

    event_type = "zugong.personnel.cadre_recruited"
    name: str = Field(description="Full name.")
    gender: Literal["male", "female"] = Field(description="Gender as on the national ID.")
    birth_date: date = Field(description="Birth date as on the national ID.")
    national_id: SealedPersonalData = Field(description="National ID number, sealed.")
    category: CadreCategory = Field(description="Civil servant or institution staff.")
    unit_id: str = Field(description="The unit the cadre joins.")
    channel: RecruitmentChannel = Field(description="How the cadre was recruited.")
    effective_on: date = Field(description="Date the cadre joins the unit.")
