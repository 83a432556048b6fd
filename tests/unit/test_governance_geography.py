"""Geography and township-capacity rules on the aggregates (no I/O); wiring of the contract."""

from __future__ import annotations

from datetime import date

import pytest

from contracts import registry
from contracts.api.governance import COMMANDS
from contracts.governance import PartyBuildingOfficeSetUp, StaffHired, TownshipRegistered
from contracts.topics import TOPICS
from services.governance.domain.geography import Community, Compound, InstitutionalRule, Township, Village
from services.governance.handlers import HANDLERS
from services.kernel.errors import Conflict, DomainRuleViolation

TODAY = date(2024, 6, 1)


def township(established_on=date(2001, 1, 1)) -> Township:
    t = Township("140624100")
    t.register("云中镇", established_on, TODAY)
    return t


def test_register_office_and_hires_record_events_and_totals():
    t = township()
    t.set_up_party_building_office(date(2024, 3, 1), 3, "怀组发〔2024〕5号", TODAY)
    t.record_hires("grid_worker", 4, date(2024, 5, 1), None, TODAY)
    t.record_hires("grid_worker", 1, date(2024, 5, 2), None, TODAY)
    assert [type(e) for e in t.pending] == [TownshipRegistered, PartyBuildingOfficeSetUp,
                                            StaffHired, StaffHired]
    assert t.hired == {"grid_worker": 5} and t.version == 4


def test_township_registered_twice_is_a_conflict():
    with pytest.raises(Conflict):
        township().register("again", None, TODAY)


def test_office_is_set_up_once():
    t = township()
    t.set_up_party_building_office(date(2024, 3, 1), 3, None, TODAY)
    with pytest.raises(Conflict):
        t.set_up_party_building_office(date(2024, 4, 1), 3, None, TODAY)


@pytest.mark.parametrize(("day", "code"), [(date(2000, 12, 31), "date_order"),
                                           (date(2025, 6, 3), "date_range")])
def test_capacity_dates_must_follow_establishment_and_not_run_far_ahead(day, code):
    t = township()
    for action in (lambda: t.set_up_party_building_office(day, 1, None, TODAY),
                   lambda: t.record_hires("grid_worker", 1, day, None, TODAY)):
        with pytest.raises(DomainRuleViolation) as error:
            action()
        assert error.value.code == code
    assert t.version == 1


def test_village_community_compound_inherit_the_township():
    t = township()
    village, community = Village("V1"), Community("C1")
    village.register(t, "东关村")
    community.register(t, "仁和社区")
    compound = Compound("k1")
    compound.register(community, "仁和小区", 640, None, TODAY)
    assert village.township_id == community.township_id == compound.township_id == "140624100"
    for again in (lambda: village.register(t, "x"), lambda: community.register(t, "x"),
                  lambda: compound.register(community, "x", 1, None, TODAY)):
        with pytest.raises(Conflict):
            again()


def test_rule_county_or_township():
    county, own = InstitutionalRule("r1"), InstitutionalRule("r2")
    county.adopt(None, "县级制度", None, date(2024, 1, 1), TODAY)
    own.adopt(township(), "镇级制度", None, date(2024, 1, 1), TODAY)
    assert county.township_id is None and own.township_id == "140624100"


def test_every_command_has_a_handler_and_every_event_a_topic():
    assert {c.name for c in COMMANDS} <= set(HANDLERS)
    assert len({c.name for c in COMMANDS}) == len(COMMANDS)
    for model in registry.models():
        if model.event_type.startswith("zugong.governance."):
            assert ("governance", model.stream_kind) in TOPICS, model
