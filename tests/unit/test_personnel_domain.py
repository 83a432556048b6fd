"""Personnel rules, accepted and rejected, on the aggregates (no I/O)."""

from datetime import date

import pytest

from contracts.personnel import (
    CadreRecruited,
    Establishment,
    EstablishmentAdjusted,
    EstablishmentSlotOccupied,
    UnitRegistered,
)
from services.kernel.errors import Conflict, DomainRuleViolation
from services.kernel.personal_data import PersonalDataVault
from services.personnel.domain.cadre import Cadre
from services.personnel.domain.national_id import NationalId
from services.personnel.domain.unit import Unit
from tests.support.national_ids import national_id

TODAY = date(2024, 6, 1)
VAULT = PersonalDataVault("unit-test-key")


def registered_unit(administrative=1, institution=0, established_on=None) -> Unit:
    unit = Unit("u1")
    unit.register("县委组织部", "party_government_organ",
                  Establishment(administrative=administrative, institution=institution),
                  established_on)
    return unit


def recruit(cadre: Cadre, *, birth=date(1995, 5, 6), gender="female", category="civil_servant",
            channel="exam_recruitment", effective_on=date(2024, 3, 1), id_birth=None,
            id_gender=None):
    nid = NationalId.parse(national_id(id_birth or birth, id_gender or gender))
    cadre.recruit(name="王芳", gender=gender, birth_date=birth, national_id=nid,
                  sealed_id=VAULT.seal("national_id", nid.value), category=category,
                  unit_id="u1", channel=channel, effective_on=effective_on, today=TODAY)


def test_register_then_adjust_records_previous_and_new_establishment():
    unit = registered_unit(2, 3)
    unit.adjust_establishment(Establishment(administrative=4, institution=3), TODAY, "怀编〔2024〕1号")
    registered, adjusted = unit.pending
    assert isinstance(registered, UnitRegistered) and isinstance(adjusted, EstablishmentAdjusted)
    assert adjusted.previous.administrative == 2 and adjusted.establishment.administrative == 4
    assert unit.version == 2


def test_registering_twice_is_a_conflict():
    unit = registered_unit()
    with pytest.raises(Conflict):
        unit.register("again", "institution", Establishment(administrative=0, institution=0), None)


def test_adjustment_cannot_precede_establishment_date():
    unit = registered_unit(established_on=date(2020, 1, 1))
    with pytest.raises(DomainRuleViolation) as error:
        unit.adjust_establishment(Establishment(administrative=1, institution=0),
                                  date(2019, 12, 31), None)
    assert error.value.code == "date_order"


def test_slot_occupied_until_no_vacancy_left():
    unit = registered_unit(administrative=1)
    unit.occupy_slot("c1", "civil_servant", TODAY)
    assert isinstance(unit.pending[-1], EstablishmentSlotOccupied)
    assert unit.vacancies("civil_servant") == 0
    with pytest.raises(DomainRuleViolation) as error:
        unit.occupy_slot("c2", "civil_servant", TODAY)
    assert error.value.code == "no_vacancy"


def test_vacancy_is_per_category():
    unit = registered_unit(administrative=0, institution=1)
    with pytest.raises(DomainRuleViolation):
        unit.occupy_slot("c1", "civil_servant", TODAY)
    unit.occupy_slot("c1", "institution_staff", TODAY)
    assert unit.vacancies("institution_staff") == 0


def test_recruit_records_sealed_national_id_only():
    cadre = Cadre("c1")
    recruit(cadre)
    (event,) = cadre.pending
    assert isinstance(event, CadreRecruited)
    plain = national_id(date(1995, 5, 6), "female")
    assert plain not in event.model_dump_json()
    assert VAULT.open(event.national_id.ciphertext) == plain
    assert event.national_id.masked.startswith(plain[:4]) and "*" in event.national_id.masked


@pytest.mark.parametrize("kwargs, code", [
    ({"id_birth": date(1995, 5, 7)}, "id_mismatch"),
    ({"id_gender": "male"}, "id_mismatch"),
    ({"channel": "exam_recruitment", "category": "institution_staff"}, "channel_category"),
    ({"channel": "institution_hiring", "category": "civil_servant"}, "channel_category"),
    ({"effective_on": date(2025, 7, 1)}, "date_range"),
    ({"birth": date(2010, 1, 1)}, "age_range"),
    ({"birth": date(1950, 1, 1)}, "age_range"),
])
def test_recruit_rejections(kwargs, code):
    cadre = Cadre("c1")
    with pytest.raises(DomainRuleViolation) as error:
        recruit(cadre, **kwargs)
    assert error.value.code == code
    assert cadre.pending == []


def test_transfer_in_accepts_both_categories():
    for category in ("civil_servant", "institution_staff"):
        cadre = Cadre(f"c-{category}")
        recruit(cadre, channel="transfer_in", category=category)
        assert cadre.pending[0].channel == "transfer_in"


def test_same_person_twice_is_a_conflict():
    cadre = Cadre("c1")
    recruit(cadre)
    with pytest.raises(Conflict):
        recruit(cadre)
