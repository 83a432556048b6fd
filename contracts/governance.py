"""Events published by the governance service (基层治理).

Every event of a record that belongs to a township carries ``township_id`` so that township
platforms can filter a topic without a lookup. Business dates are ``effective_on``; actions
with a clock (complaints, alerts) carry the business instant ``at`` (UTC, may be backdated).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from contracts.registry import DomainEvent, registry

__all__ = [
    "CommunityRegistered",
    "CompoundRegistered",
    "HireKind",
    "InstitutionalRuleAdopted",
    "PartyBuildingOfficeSetUp",
    "StaffHired",
    "TownshipRegistered",
    "VillageRegistered",
]

HireKind = Literal["institution_staff", "community_assistant", "grid_worker"]


# --- geography and township capacity -----------------------------------------------------------

class _TownshipEvent(DomainEvent):
    stream_kind = "township"
    township_id: str = Field(description="The township's code (its id).")


@registry.register
class TownshipRegistered(_TownshipEvent):
    """A township (乡镇/街道) was registered; its code is its id and the `township` token claim."""

    event_type = "zugong.governance.township_registered"
    name: str = Field(description="Official name of the township.")
    effective_on: date | None = Field(
        None, description="Date the township was established; null when it predates the platform.")


@registry.register
class PartyBuildingOfficeSetUp(_TownshipEvent):
    """The township set up its party-building office (党建办)."""

    event_type = "zugong.governance.party_building_office_set_up"
    staff_count: int = Field(ge=0, description="Staff assigned to the office when it was set up.")
    document_number: str | None = Field(None, description="Document that set it up (文号).")
    effective_on: date = Field(description="Date the office was set up.")


@registry.register
class StaffHired(_TownshipEvent):
    """Grassroots staff of one kind were hired for the township (one intake, a head-count)."""

    event_type = "zugong.governance.staff_hired"
    kind: HireKind = Field(description="Institution staff, community assistants or grid workers.")
    count: int = Field(ge=1, description="How many were hired in this intake.")
    note: str | None = Field(None, description="Free note, e.g. the recruitment notice.")
    effective_on: date = Field(description="Date the hires took up their posts.")


@registry.register
class VillageRegistered(DomainEvent):
    """A village (村) of a township was registered."""

    stream_kind = "village"
    event_type = "zugong.governance.village_registered"
    village_id: str = Field(description="The village's code (its id).")
    township_id: str = Field(description="The township the village belongs to.")
    name: str = Field(description="Name of the village.")


@registry.register
class CommunityRegistered(DomainEvent):
    """A community (社区) of a township was registered."""

    stream_kind = "community"
    event_type = "zugong.governance.community_registered"
    community_id: str = Field(description="The community's code (its id).")
    township_id: str = Field(description="The township the community belongs to.")
    name: str = Field(description="Name of the community.")


class _CompoundEvent(DomainEvent):
    stream_kind = "compound"
    compound_id: str = Field(description="The residential compound's id.")
    township_id: str = Field(description="The township of the compound's community.")


@registry.register
class CompoundRegistered(_CompoundEvent):
    """A residential compound (小区) of a community was registered."""

    event_type = "zugong.governance.compound_registered"
    community_id: str = Field(description="The community the compound belongs to.")
    name: str = Field(description="Name of the compound.")
    households: int = Field(ge=0, description="Households living in the compound.")
    effective_on: date | None = Field(
        None, description="Date the compound was handed over; null when it predates the platform.")


@registry.register
class InstitutionalRuleAdopted(DomainEvent):
    """An institutional rule (制度) for grassroots work was adopted, county-wide or by a township."""

    stream_kind = "institutional_rule"
    event_type = "zugong.governance.institutional_rule_adopted"
    rule_id: str = Field(description="The rule's id.")
    township_id: str | None = Field(None, description="Adopting township; null for a county rule.")
    title: str = Field(description="Title of the rule.")
    document_number: str | None = Field(None, description="Document number (文号).")
    effective_on: date = Field(description="Date the rule takes effect.")
