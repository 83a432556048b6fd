"""Cadre lifecycle rules on the aggregates (no I/O): each rule accepted and rejected."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.personnel import (
    CadreAppointed,
    CadreDeparted,
    CadreEnteredReserve,
    CadreExchanged,
    CadreExitedReserve,
    CadreRegistered,
    Establishment,
    EstablishmentSlotReleased,
    HeldPost,
    LeaderConvertedToRank,
    LeadershipPostFilled,
    RankPromoted,
    RankQuotaTaken,
)
from contracts.personnel_rules import DEFAULT_LADDER, PersonnelRules, add_years, full_years
from services.kernel.errors import Conflict, DomainRuleViolation, NotFound
from services.kernel.personal_data import PersonalDataVault
from services.personnel.domain.cadre import Cadre, NewPostSpec
from services.personnel.domain.national_id import NationalId
from services.personnel.domain.unit import Unit
from tests.support.national_ids import national_id

TODAY = date(2025, 12, 31)
RULES = PersonnelRules()
VAULT = PersonalDataVault("unit-test-key")


def unit_with(*, administrative=5, institution=2, posts=None, quotas=None, uid="u1") -> Unit:
    unit = Unit(uid)
    unit.register("县发改局", "party_government_organ",
                  Establishment(administrative=administrative, institution=institution), None)
    if posts is not None:
        unit.approve_posts(posts, date(2020, 1, 1), None)
    if quotas is not None:
        unit.approve_rank_quotas(quotas, date(2020, 1, 1), None)
    return unit


def existing(*, birth=date(1985, 3, 10), gender="male", category="civil_servant",
             rank="clerk_1", rank_since=date(2021, 6, 1), joined=date(2008, 7, 1),
             unit_since=date(2015, 1, 1), posts=(), uid="u1") -> Cadre:
    cadre = Cadre("c1")
    nid = NationalId.parse(national_id(birth, gender))
    cadre.register_existing(
        name="王强", gender=gender, birth_date=birth, national_id=nid,
        sealed_id=VAULT.seal("national_id", nid.value), category=category, unit_id=uid,
        effective_on=unit_since, joined_work_on=joined, rank=rank, rank_since=rank_since,
        posts=[NewPostSpec(level, title, since) for level, title, since in posts], today=TODAY)
    cadre.pending.clear()
    return cadre


def code_of(call) -> str:
    with pytest.raises(DomainRuleViolation) as error:
        call()
    return error.value.code


# -- rule helpers ---------------------------------------------------------------------------
@pytest.mark.parametrize("since, on, years", [
    (date(2022, 8, 15), date(2024, 8, 1), 2),   # counted from the month: days ignored
    (date(2022, 8, 15), date(2024, 7, 31), 1),
    (date(2022, 1, 1), date(2021, 1, 1), 0),
])
def test_full_years_count_months(since, on, years):
    assert full_years(since, on) == years


def test_add_years_handles_leap_day():
    assert add_years(date(1964, 2, 29), 60) == date(2024, 2, 29)
    assert add_years(date(1964, 2, 29), 61) == date(2025, 2, 28)


# -- unit: posts, quotas, slots ---------------------------------------------------------------
def test_posts_fill_up_to_approval_and_free_at_once():
    unit = unit_with(posts={"deputy_section_chief": 1})
    post = HeldPost(post_id="P1", level="deputy_section_chief", title="副局长", since=TODAY)
    unit.fill_post("c1", post, TODAY)
    assert isinstance(unit.pending[-1], LeadershipPostFilled)
    other = HeldPost(post_id="P1", level="deputy_section_chief", title="副局长", since=TODAY)
    assert code_of(lambda: unit.fill_post("c2", other, TODAY)) == "no_post_vacancy"
    unit.free_post("c1", post, "conversion", TODAY)
    assert unit.post_vacancies("deputy_section_chief") == 1
    unit.fill_post("c2", other, TODAY)


def test_no_approved_post_of_a_level_means_no_appointment():
    unit = unit_with(posts={"deputy_section_chief": 2})
    post = HeldPost(post_id="P1", level="section_chief", title="局长", since=TODAY)
    assert code_of(lambda: unit.fill_post("c1", post, TODAY)) == "no_post_vacancy"


def test_rank_quota_limits_the_rank_where_one_is_set():
    unit = unit_with(quotas={"principal_staff_4": 1})
    unit.occupy_slot("c1", "civil_servant", TODAY, rank="clerk_1")
    unit.occupy_slot("c2", "civil_servant", TODAY, rank="clerk_1")
    unit.take_rank("c1", "principal_staff_4", TODAY, enforce=True)
    assert unit.pending[-1] == RankQuotaTaken(unit_id="u1", cadre_id="c1", rank="principal_staff_4",
                                              released_rank="clerk_1", effective_on=TODAY)
    assert code_of(lambda: unit.take_rank("c2", "principal_staff_4", TODAY,
                                          enforce=True)) == "no_rank_quota"
    unit.take_rank("c2", "principal_staff_3", TODAY, enforce=True)  # no quota for that rank
    unit.take_rank("c2", "principal_staff_4", TODAY, enforce=False)  # rule switched off


def test_rank_quota_applies_when_joining_a_unit():
    unit = unit_with(quotas={"principal_staff_2": 0})
    assert code_of(lambda: unit.occupy_slot("c1", "civil_servant", TODAY,
                                            rank="principal_staff_2")) == "no_rank_quota"


def test_release_frees_slot_and_rank_place():
    unit = unit_with(administrative=1, quotas={"clerk_1": 1})
    unit.occupy_slot("c1", "civil_servant", TODAY, rank="clerk_1")
    unit.release_slot("c1", "departure", TODAY)
    released = unit.pending[-1]
    assert isinstance(released, EstablishmentSlotReleased) and released.rank == "clerk_1"
    assert unit.vacancies("civil_servant") == 1 and unit.rank_held("clerk_1") == 0
    unit.occupy_slot("c2", "civil_servant", TODAY, rank="clerk_1")
    with pytest.raises(Conflict):
        unit.release_slot("nobody", "departure", TODAY)


def test_approvals_cannot_precede_the_unit():
    unit = Unit("u1")
    unit.register("新单位", "institution", Establishment(administrative=0, institution=1),
                  date(2024, 1, 1))
    assert code_of(lambda: unit.approve_posts({"section_chief": 1}, date(2023, 12, 31),
                                              None)) == "date_order"
    assert code_of(lambda: unit.approve_rank_quotas({"clerk_1": 1}, date(2023, 12, 31),
                                                    None)) == "date_order"
    unit.approve_posts({"section_chief": 1, "deputy_section_chief": 0}, date(2024, 1, 1), None)
    assert unit.pending[-1].approved == {"section_chief": 1}


# -- go-live registration ------------------------------------------------------------------------
def test_go_live_registers_rank_posts_and_dates():
    cadre = Cadre("c1")
    birth = date(1975, 6, 1)
    nid = NationalId.parse(national_id(birth, "male"))
    cadre.register_existing(
        name="王建国", gender="male", birth_date=birth, national_id=nid,
        sealed_id=VAULT.seal("national_id", nid.value), category="civil_servant", unit_id="u1",
        effective_on=date(2016, 3, 1), joined_work_on=date(1997, 7, 1), rank="principal_staff_2",
        rank_since=date(2012, 6, 1), today=TODAY,
        posts=[NewPostSpec("section_chief", "局长", date(2018, 1, 5)),
               NewPostSpec("section_chief", "党组书记", date(2018, 1, 5))])
    (event,) = cadre.pending
    assert isinstance(event, CadreRegistered)
    assert [p.post_id for p in event.posts] == ["P1", "P2"]
    assert cadre.recruited_on == date(2016, 3, 1) and cadre.rank_since == date(2012, 6, 1)


@pytest.mark.parametrize("kwargs, code", [
    ({"unit_since": date(2026, 1, 1)}, "date_range"),
    ({"category": "institution_staff"}, "rank_category"),
    ({"rank_since": date(2007, 1, 1)}, "date_order"),
    ({"joined": date(2016, 1, 1)}, "date_order"),
    ({"joined": date(1999, 1, 1)}, "age_range"),
    ({"posts": [("section_chief", "局长", date(2014, 12, 31))]}, "date_order"),
])
def test_go_live_rejections(kwargs, code):
    assert code_of(lambda: existing(**kwargs)) == code


# -- education --------------------------------------------------------------------------------
def test_education_recorded_and_checked():
    cadre = existing()
    cadre.record_education(kind="in_service", level="postgraduate", degree="master",
                           school="山西大学", major="公共管理", completed_on=date(2019, 7, 1),
                           today=TODAY)
    assert cadre.education == [("master", "in_service", date(2019, 7, 1))]
    for kwargs, code in [
        ({"level": "bachelor", "degree": "master"}, "degree_level"),
        ({"level": "associate", "degree": "bachelor"}, "degree_level"),
        ({"completed_on": date(2026, 1, 1)}, "date_range"),
        ({"completed_on": date(1995, 1, 1)}, "age_range"),
    ]:
        args = {"kind": "full_time", "level": "postgraduate", "degree": "master",
                "school": "x", "major": None, "completed_on": date(2010, 7, 1), **kwargs}
        assert code_of(lambda a=args: cadre.record_education(**a, today=TODAY)) == code


# -- rank promotions ---------------------------------------------------------------------------
def promote(cadre, target="principal_staff_4", basis="years_in_rank", on=date(2023, 6, 1),
            rules=RULES):
    cadre.promote(target_rank=target, basis=basis, effective_on=on, document_number=None,
                  rules=rules, today=TODAY)


def test_ladder_promotion_after_minimum_years():
    cadre = existing(rank_since=date(2021, 6, 20))
    promote(cadre, on=date(2023, 6, 1))
    (event,) = cadre.pending
    assert isinstance(event, RankPromoted)
    assert (event.from_rank, event.to_rank, event.basis) == ("clerk_1", "principal_staff_4",
                                                             "years_in_rank")
    assert cadre.rank == "principal_staff_4" and cadre.rank_since == date(2023, 6, 1)


@pytest.mark.parametrize("target, on, code", [
    ("principal_staff_4", date(2023, 5, 31), "min_years"),     # 1 year 11 months
    ("principal_staff_3", date(2024, 6, 1), "rank_step"),      # skips a rung
    ("clerk_1", date(2024, 6, 1), "rank_step"),                # not above the current rank
    ("clerk_2", date(2024, 6, 1), "rank_step"),
    ("principal_staff_4", date(2014, 12, 31), "before_recruitment"),
    ("principal_staff_4", date(2027, 1, 1), "date_range"),
])
def test_ladder_rejections(target, on, code):
    cadre = existing()
    assert code_of(lambda: promote(cadre, target, on=on)) == code
    assert cadre.pending == []


def test_years_of_service_basis_needs_service_on_top_of_the_ladder():
    assert code_of(lambda: promote(existing(joined=date(2019, 7, 1), unit_since=date(2019, 7, 1)),
                                   basis="years_of_service", on=date(2024, 6, 1))) == "min_service"
    cadre = existing(joined=date(2019, 6, 1), unit_since=date(2019, 6, 1))
    promote(cadre, basis="years_of_service", on=date(2024, 6, 1))
    assert cadre.pending[-1].basis == "years_of_service"
    local = PersonnelRules(years_of_service_basis_min_years=6)
    assert code_of(lambda: promote(existing(joined=date(2019, 6, 1), unit_since=date(2019, 6, 1)),
                                   basis="years_of_service", on=date(2024, 6, 1),
                                   rules=local)) == "min_service"


def test_graduate_degree_basis():
    cadre = existing(rank_since=date(2024, 8, 1), unit_since=date(2024, 8, 1))
    assert code_of(lambda: promote(cadre, basis="graduate_degree",
                                   on=date(2025, 8, 1))) == "no_graduate_degree"
    cadre.record_education(kind="full_time", level="postgraduate", degree="master", school="x",
                           major=None, completed_on=date(2024, 6, 30), today=TODAY)
    assert code_of(lambda: promote(cadre, basis="graduate_degree",
                                   on=date(2025, 7, 31))) == "min_years"  # probation year
    assert code_of(lambda: promote(cadre, "principal_staff_3", basis="graduate_degree",
                                   on=date(2025, 8, 1))) == "rank_step"
    promote(cadre, basis="graduate_degree", on=date(2025, 8, 1))  # skips the 2-year ladder rule
    assert cadre.rank == "principal_staff_4"


def test_graduate_degree_full_time_only_when_configured():
    cadre = existing(rank_since=date(2022, 8, 1), unit_since=date(2022, 8, 1))
    cadre.record_education(kind="in_service", level="postgraduate", degree="master", school="x",
                           major=None, completed_on=date(2023, 6, 30), today=TODAY)
    strict = PersonnelRules(graduate_degree_full_time_only=True)
    assert code_of(lambda: promote(cadre, basis="graduate_degree", on=date(2024, 1, 1),
                                   rules=strict)) == "no_graduate_degree"
    assert code_of(lambda: promote(cadre, basis="graduate_degree", on=date(2023, 6, 1))
                   ) == "no_graduate_degree"  # degree completed after the effective date
    promote(cadre, basis="graduate_degree", on=date(2024, 1, 1))


def test_promotion_from_a_post_level():
    cadre = existing(rank="principal_staff_4", rank_since=date(2023, 1, 1),
                     posts=[("deputy_section_chief", "副局长", date(2020, 3, 1))])
    promote(cadre, "principal_staff_3", on=date(2023, 6, 1))  # 3 years as 副科 leader
    assert cadre.rank == "principal_staff_3"


def test_institution_staff_have_no_ladder():
    cadre = existing(category="institution_staff", rank=None, rank_since=None)
    assert code_of(lambda: promote(cadre, "clerk_1")) == "category"


def test_configured_ladder_is_applied():
    ladder = dict(DEFAULT_LADDER)
    ladder["principal_staff_4"] = DEFAULT_LADDER["principal_staff_4"].model_copy(
        update={"min_years": 3})
    assert code_of(lambda: promote(existing(), on=date(2023, 6, 1),
                                   rules=PersonnelRules(ladder=ladder))) == "min_years"


def test_go_live_holdings_date_the_latest_movement():
    cadre = existing(rank_since=date(2021, 6, 1),
                     posts=[("deputy_section_chief", "副局长", date(2022, 3, 1))])
    assert code_of(lambda: cadre.exchange(to_unit_id="u2", kind="adjacent_field",
                                          effective_on=date(2022, 2, 1), post=None,
                                          document_number=None, today=TODAY)) == "date_order"
    assert code_of(lambda: cadre.depart(kind="retirement", effective_on=date(2022, 2, 1),
                                        document_number=None, today=TODAY)) == "date_order"


def test_movements_are_recorded_in_date_order():
    cadre = existing()
    promote(cadre, on=date(2024, 6, 1))
    assert code_of(lambda: cadre.appoint(level="deputy_section_chief", title="副局长",
                                         effective_on=date(2024, 5, 1), concurrent=False,
                                         document_number=None, today=TODAY)) == "date_order"


# -- appointments and conversions -------------------------------------------------------------
def appoint(cadre, level="deputy_section_chief", title="副局长", on=date(2024, 3, 1),
            concurrent=False):
    return cadre.appoint(level=level, title=title, effective_on=on, concurrent=concurrent,
                         document_number="怀组任〔2024〕1号", today=TODAY)


def test_appointment_relieves_current_posts_unless_concurrent():
    cadre = existing(posts=[("deputy_section_chief", "副局长", date(2019, 1, 1))])
    post, relieved = appoint(cadre, "section_chief", "局长")
    assert post.post_id == "P2" and [p.post_id for p in relieved] == ["P1"]
    event = cadre.pending[-1]
    assert isinstance(event, CadreAppointed) and event.relieved_posts == relieved
    _, relieved3 = appoint(cadre, "section_chief", "党组书记", concurrent=True)
    assert relieved3 == [] and set(cadre.posts) == {"P2", "P3"}
    with pytest.raises(Conflict):
        appoint(cadre, "section_chief", "局长", concurrent=True)


def test_appointment_cannot_precede_recruitment():
    assert code_of(lambda: appoint(existing(), on=date(2014, 1, 1))) == "before_recruitment"


def test_conversion_frees_every_post_and_sets_rank():
    cadre = existing(rank="principal_staff_3", rank_since=date(2018, 1, 1),
                     posts=[("section_chief", "镇长", date(2016, 1, 1)),
                            ("section_chief", "党委副书记", date(2016, 1, 1))])
    freed = cadre.convert_to_rank(target_rank="principal_staff_2", reason="age",
                                  effective_on=date(2025, 3, 1), document_number=None,
                                  rules=RULES, today=TODAY)
    assert [p.post_id for p in freed] == ["P1", "P2"]
    event = cadre.pending[-1]
    assert isinstance(event, LeaderConvertedToRank) and event.from_rank == "principal_staff_3"
    assert cadre.posts == {} and cadre.rank == "principal_staff_2"


@pytest.mark.parametrize("kwargs, target, code", [
    ({}, "principal_staff_2", "not_a_leader"),
    ({"posts": [("deputy_section_chief", "副局长", date(2016, 1, 1))]}, "principal_staff_2",
     "rank_step"),
    ({"rank": "principal_staff_1", "posts": [("section_chief", "局长", date(2016, 1, 1))]},
     "principal_staff_2", "rank_step"),
    ({"category": "institution_staff", "rank": None, "rank_since": None,
      "posts": [("section_chief", "院长", date(2016, 1, 1))]}, "principal_staff_2", "category"),
])
def test_conversion_rejections(kwargs, target, code):
    cadre = existing(**kwargs)
    assert code_of(lambda: cadre.convert_to_rank(
        target_rank=target, reason="health", effective_on=date(2025, 3, 1), document_number=None,
        rules=RULES, today=TODAY)) == code


# -- exchanges and departures ------------------------------------------------------------------
def test_exchange_moves_unit_and_frees_posts():
    cadre = existing(posts=[("deputy_section_chief", "副局长", date(2019, 1, 1))])
    freed, post = cadre.exchange(to_unit_id="u2", kind="grassroots_training",
                                 effective_on=date(2025, 9, 1),
                                 post=NewPostSpec("deputy_section_chief", "副镇长"),
                                 document_number=None, today=TODAY)
    event = cadre.pending[-1]
    assert isinstance(event, CadreExchanged) and (event.from_unit_id, event.to_unit_id) == ("u1", "u2")
    assert [p.post_id for p in freed] == ["P1"] and post and post.post_id == "P2"
    assert cadre.unit_id == "u2" and cadre.unit_since == date(2025, 9, 1)
    assert code_of(lambda: cadre.exchange(to_unit_id="u2", kind="adjacent_field",
                                          effective_on=date(2025, 10, 1), post=None,
                                          document_number=None, today=TODAY)) == "same_unit"


def test_departure_closes_reserve_and_ends_everything():
    cadre = existing(birth=date(1992, 1, 1), joined=date(2014, 7, 1), rank_since=date(2020, 1, 1))
    entry = cadre.enter_reserve(level="deputy_section_chief", effective_on=date(2025, 3, 1),
                                source=None, rules=RULES, today=TODAY)
    assert code_of(lambda: cadre.depart(kind="resignation", effective_on=date(2025, 2, 1),
                                        document_number=None, today=TODAY)) == "date_order"
    cadre.depart(kind="resignation", effective_on=date(2025, 4, 1), document_number=None,
                 today=TODAY)
    departed, exited = cadre.pending[-2:]
    assert isinstance(departed, CadreDeparted) and isinstance(exited, CadreExitedReserve)
    assert exited.entry_id == entry and exited.reason == "left"
    attempts = [
        lambda: promote(cadre, on=date(2025, 5, 1)),
        lambda: appoint(cadre, on=date(2025, 5, 1)),
        lambda: cadre.record_education(kind="full_time", level="bachelor", degree="bachelor",
                                       school="x", major=None, completed_on=date(2014, 6, 1),
                                       today=TODAY),
        lambda: cadre.exchange(to_unit_id="u2", kind="adjacent_field", effective_on=date(2025, 5, 1),
                               post=None, document_number=None, today=TODAY),
        lambda: cadre.depart(kind="death", effective_on=date(2025, 5, 1), document_number=None,
                             today=TODAY),
        lambda: cadre.enter_reserve(level="deputy_section_chief", effective_on=date(2025, 5, 1),
                                    source=None, rules=RULES, today=TODAY),
        lambda: cadre.exit_reserve(entry_id=entry, reason="left", effective_on=date(2025, 5, 1),
                                   today=TODAY),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict, match="departed"):
            attempt()


# -- the young-cadre reserve -------------------------------------------------------------------
def young(birth) -> Cadre:
    return existing(birth=birth, joined=date(2012, 7, 1), rank_since=date(2020, 1, 1))


@pytest.mark.parametrize("level, birth, ok", [
    ("deputy_section_chief", date(1989, 3, 2), True),    # 35 on 2025-03-01
    ("deputy_section_chief", date(1989, 3, 1), False),   # 36
    ("section_chief", date(1984, 3, 2), True),           # 40
    ("section_chief", date(1984, 3, 1), False),          # 41
])
def test_reserve_age_limit_at_entry(level, birth, ok):
    cadre = young(birth)

    def enter():
        return cadre.enter_reserve(level=level, effective_on=date(2025, 3, 1), source=None,
                                   rules=RULES, today=TODAY)
    if ok:
        assert enter() == "c1.1"
        assert isinstance(cadre.pending[-1], CadreEnteredReserve)
    else:
        assert code_of(enter) == "over_age"


def test_reserve_age_limits_are_configurable():
    cadre = young(date(1989, 3, 1))
    assert code_of(lambda: cadre.enter_reserve(level="deputy_section_chief",
                                               effective_on=date(2025, 3, 1), source=None,
                                               rules=RULES, today=TODAY)) == "over_age"
    cadre.enter_reserve(level="deputy_section_chief", effective_on=date(2025, 3, 1), source=None,
                        rules=PersonnelRules(reserve_max_age={"section_chief": 40,
                                                              "deputy_section_chief": 36}),
                        today=TODAY)


def test_one_active_entry_then_review_exit_and_reenter():
    cadre = young(date(1992, 1, 1))
    entry = cadre.enter_reserve(level="deputy_section_chief", effective_on=date(2025, 3, 1),
                                source="inspection", rules=RULES, today=TODAY)
    assert code_of(lambda: cadre.enter_reserve(level="section_chief", effective_on=date(2025, 4, 1),
                                               source=None, rules=RULES, today=TODAY)
                   ) == "already_in_reserve"
    assert code_of(lambda: cadre.review_reserve(entry_id=entry, rating="excellent", comment=None,
                                                effective_on=date(2025, 2, 1), today=TODAY)
                   ) == "date_order"
    cadre.review_reserve(entry_id=entry, rating="excellent", comment="好", effective_on=date(2025, 12, 1),
                         today=TODAY)
    with pytest.raises(NotFound):
        cadre.review_reserve(entry_id="c1.9", rating="excellent", comment=None,
                             effective_on=date(2025, 12, 1), today=TODAY)
    cadre.exit_reserve(entry_id=entry, reason="assessment", effective_on=date(2025, 12, 2), today=TODAY)
    with pytest.raises(Conflict, match="closed"):
        cadre.exit_reserve(entry_id=entry, reason="left", effective_on=date(2025, 12, 3), today=TODAY)
    assert code_of(lambda: cadre.enter_reserve(level="deputy_section_chief",
                                               effective_on=date(2025, 12, 1), source=None,
                                               rules=RULES, today=TODAY)) == "date_order"
    again = cadre.enter_reserve(level="deputy_section_chief", effective_on=date(2025, 12, 5),
                                source=None, rules=RULES, today=TODAY)
    assert again == "c1.2"


def test_reserve_is_for_a_level_above_the_posts_held():
    cadre = existing(birth=date(1990, 1, 1), joined=date(2012, 7, 1), rank_since=date(2020, 1, 1),
                     posts=[("deputy_section_chief", "副局长", date(2020, 1, 1))])
    assert code_of(lambda: cadre.enter_reserve(level="deputy_section_chief",
                                               effective_on=date(2024, 3, 1), source=None,
                                               rules=RULES, today=TODAY)) == "already_at_level"
    cadre.enter_reserve(level="section_chief", effective_on=date(2024, 3, 1), source=None,
                        rules=RULES, today=TODAY)


def test_reserve_entry_cannot_precede_recruitment():
    cadre = young(date(1992, 1, 1))
    assert code_of(lambda: cadre.enter_reserve(level="deputy_section_chief",
                                               effective_on=date(2014, 1, 1), source=None,
                                               rules=RULES, today=TODAY)) == "before_recruitment"
