"""Command bodies of the governance service (``/api/v1/governance/...``) and its route table.

``COMMANDS`` is the one list of command routes: the service binds a handler to each and the
gateway forwards each, so the two cannot drift apart. ``level`` says who may send it:
``township`` commands need ``governance:write`` and a township operator may send them only for
records of its own township; ``county`` commands need ``governance:administer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.api.personnel import CommandAccepted
from contracts.governance import HireKind

__all__ = [
    "COMMANDS",
    "AdoptInstitutionalRule",
    "CommandAccepted",
    "CommandRoute",
    "RecordHires",
    "RegisterCommunity",
    "RegisterCompound",
    "RegisterTownship",
    "RegisterVillage",
    "SetUpPartyBuildingOffice",
]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"
Code = Field(pattern=CODE, description="Administrative code, also the record's id.")


def _examples(*examples: dict) -> ConfigDict:
    return ConfigDict(**_STRICT, json_schema_extra={"examples": list(examples)})


# --- geography and township capacity -----------------------------------------------------------

class RegisterTownship(BaseModel):
    """Register a township; its code becomes its id and the value of operators' `township` claim."""

    model_config = _examples({"code": "140624100", "name": "云中镇"})

    code: str = Code
    name: str = Field(min_length=1, max_length=100)
    effective_on: date | None = Field(None, description="Date established; omit if it predates us.")


class RegisterVillage(BaseModel):
    """Register a village of a township."""

    model_config = _examples({"code": "140624100201", "township_id": "140624100", "name": "东关村"})

    code: str = Code
    township_id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)


class RegisterCommunity(BaseModel):
    """Register a community of a township."""

    model_config = _examples({"code": "140624100001", "township_id": "140624100", "name": "仁和社区"})

    code: str = Code
    township_id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)


class RegisterCompound(BaseModel):
    """Register a residential compound of a community."""

    model_config = _examples({"community_id": "140624100001", "name": "仁和小区", "households": 640})

    community_id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    households: int = Field(ge=0, le=100_000)
    effective_on: date | None = Field(None, description="Hand-over date; omit if it predates us.")


class SetUpPartyBuildingOffice(BaseModel):
    """Record that the township set up its party-building office (党建办)."""

    model_config = _examples({"effective_on": "2024-03-01", "staff_count": 3,
                              "document_number": "怀组发〔2024〕5号"})

    effective_on: date | None = Field(None, description="Date set up; default today.")
    staff_count: int = Field(ge=0, le=1000)
    document_number: str | None = Field(None, max_length=100)


class RecordHires(BaseModel):
    """Record one intake of grassroots staff of one kind for the township."""

    model_config = _examples({"kind": "grid_worker", "count": 4, "effective_on": "2024-07-01"})

    kind: HireKind
    count: int = Field(ge=1, le=5000)
    effective_on: date | None = Field(None, description="Date they took up posts; default today.")
    note: str | None = Field(None, max_length=500)


class AdoptInstitutionalRule(BaseModel):
    """Record an institutional rule adopted county-wide (no township) or by a township."""

    model_config = _examples({"title": "村级组织运转经费管理办法", "document_number": "怀组发〔2024〕9号",
                              "effective_on": "2024-05-01"})

    township_id: str | None = Field(None, max_length=40, description="Omit for a county rule.")
    title: str = Field(min_length=1, max_length=200)
    document_number: str | None = Field(None, max_length=100)
    effective_on: date | None = Field(None, description="Date it takes effect; default today.")


# --- the route table ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CommandRoute:
    """One command route: ``path`` under ``/api/v1/governance``; ``location`` is where the
    record can be read, with ``{id}`` for the id the command answers."""

    name: str
    path: str
    body: type[BaseModel] | None
    level: Literal["township", "county"]
    location: str
    summary: str


COMMANDS: list[CommandRoute] = [
    CommandRoute("register_township", "/townships", RegisterTownship, "county",
                 "/townships/{id}", "Register a township"),
    CommandRoute("set_up_party_building_office", "/townships/{township_id}/party-building-office",
                 SetUpPartyBuildingOffice, "township", "/townships/{id}",
                 "Record the township's party-building office"),
    CommandRoute("record_hires", "/townships/{township_id}/hires", RecordHires, "township",
                 "/townships/{id}", "Record an intake of grassroots staff"),
    CommandRoute("register_village", "/villages", RegisterVillage, "township", "/villages/{id}",
                 "Register a village"),
    CommandRoute("register_community", "/communities", RegisterCommunity, "township",
                 "/communities/{id}", "Register a community"),
    CommandRoute("register_compound", "/compounds", RegisterCompound, "township", "/compounds/{id}",
                 "Register a residential compound"),
    CommandRoute("adopt_institutional_rule", "/institutional-rules", AdoptInstitutionalRule,
                 "township", "/institutional-rules/{id}", "Record an adopted institutional rule"),
]
