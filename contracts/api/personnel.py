"""Command bodies of the personnel service (``/api/v1/personnel/...``)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.personnel import CadreCategory, Establishment, RecruitmentChannel, UnitKind

__all__ = ["AdjustEstablishment", "CommandAccepted", "RecruitCadre", "RegisterUnit"]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterUnit(BaseModel):
    """Register a unit with its approved establishment."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "name": "怀仁市委组织部", "kind": "party_government_organ",
        "establishment": {"administrative": 20, "institution": 5}}]})

    name: str = Field(min_length=1, max_length=200, description="Official name.")
    kind: UnitKind
    establishment: Establishment
    effective_on: date | None = Field(
        None, description="Date the unit was established; omit for a unit that existed before "
        "the platform (no date bound on its history).")


class AdjustEstablishment(BaseModel):
    """Set a unit's approved establishment to new totals."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "administrative": 22, "institution": 5, "document_number": "怀编发〔2024〕3号"}]})

    administrative: int = Field(ge=0, le=100_000)
    institution: int = Field(ge=0, le=100_000)
    effective_on: date | None = Field(None, description="Date it takes effect; default today.")
    document_number: str | None = Field(None, max_length=100, description="Approval document.")


class RecruitCadre(BaseModel):
    """Recruit a cadre into a unit with a vacant slot of the cadre's category."""

    model_config = ConfigDict(**_STRICT, json_schema_extra={"examples": [{
        "name": "张伟", "gender": "male", "birth_date": "1990-03-07",
        "national_id": "11010519900307001X", "category": "civil_servant",
        "unit_id": "5f0c…", "channel": "exam_recruitment", "effective_on": "2024-08-01"}]})

    name: str = Field(min_length=1, max_length=100)
    gender: Literal["male", "female"]
    birth_date: date
    national_id: str = Field(min_length=18, max_length=18,
                             description="18-character resident ID number (GB 11643).")
    category: CadreCategory
    unit_id: str = Field(min_length=1, max_length=64)
    channel: RecruitmentChannel
    effective_on: date = Field(description="Date the cadre joins the unit.")


class CommandAccepted(BaseModel):
    """The answer to every accepted command."""

    id: str = Field(description="Id of the aggregate the command created or changed.")
    version: int = Field(description="Its version after the command; use it as If-Match.")
    consistency_token: str = Field(
        description="Send as X-Consistency-Token to read your own write.")
