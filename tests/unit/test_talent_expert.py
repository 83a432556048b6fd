"""Expert rules: registration, visits with follow-ups, secondments (accepted and rejected)."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.talent import ExpertVisited, FollowUpClosed, SecondmentArranged, SecondmentEnded
from services.kernel.errors import Conflict, DomainRuleViolation, NotFound
from services.kernel.personal_data import PersonalDataVault
from services.talent.domain.common import child_id
from services.talent.domain.expert import Expert, IssueInput, normalise_phone

TODAY = date(2024, 12, 31)


def registered(kind: str = "contact_expert", on: date = date(2024, 1, 10), **extra) -> Expert:
    expert = Expert("e1")
    fields = {"field": "材料科学", "affiliation": "太原理工大学", "hometown": None, "phone": None,
              "term_ends_on": None, **extra}
    expert.register(name="王建国", kind=kind, registered_on=on, today=TODAY, **fields)
    return expert


def issue(due: date = date(2024, 3, 31), text: str = "子女入学") -> IssueInput:
    return IssueInput(description=text, action="协调教育局", owner="市教育局", due_on=due)


def assert_rejected(call, code: str, pointer: str | None = None) -> None:
    with pytest.raises(DomainRuleViolation) as caught:
        call()
    assert caught.value.code == code
    if pointer:
        assert caught.value.errors[0]["pointer"] == pointer


def test_register_and_register_twice():
    expert = registered()
    assert expert.kind == "contact_expert" and expert.registered_on == date(2024, 1, 10)
    with pytest.raises(Conflict):
        expert.register(name="x", kind="native_elsewhere", field=None, affiliation=None,
                        hometown=None, phone=None, registered_on=date(2024, 1, 1),
                        term_ends_on=None, today=TODAY)


def test_think_tank_expert_needs_a_field_and_an_ordered_term():
    assert_rejected(lambda: registered("think_tank_expert", field=None), "field_required", "#/field")
    assert_rejected(lambda: registered("think_tank_expert", term_ends_on=date(2024, 1, 10)),
             "date_order", "#/term_ends_on")
    expert = registered("think_tank_expert", term_ends_on=date(2027, 1, 9))
    assert expert.pending[0].term_ends_on == date(2027, 1, 9)
    registered("native_elsewhere", field=None)  # other rosters need no field


def test_registration_cannot_be_in_the_future():
    assert_rejected(lambda: registered(on=date(2025, 1, 1)), "future_date", "#/registered_on")


def test_the_phone_is_sealed_in_the_event():
    vault = PersonalDataVault("unit-test-key")
    sealed = vault.seal("phone", normalise_phone("139-1234-5678"))
    expert = registered(phone=sealed)
    event = expert.pending[0]
    assert "13912345678" not in event.model_dump_json()
    assert event.phone.masked == "139****5678"
    assert vault.open(event.phone.ciphertext) == "13912345678"


@pytest.mark.parametrize("raw, digits", [("13912345678", "13912345678"),
                                         ("+86 139 1234 5678", "13912345678"),
                                         ("0349-6021234", "03496021234")])
def test_phone_numbers_accepted(raw, digits):
    assert normalise_phone(raw) == digits


@pytest.mark.parametrize("raw", ["12345678901", "1391234567", "phone", "6021234", "139123456789"])
def test_phone_numbers_rejected(raw):
    with pytest.raises(ValueError):
        normalise_phone(raw)


def test_visit_raises_follow_ups_with_ids_derived_from_the_visit():
    expert = registered()
    visit_id = expert.record_visit(visited_on=date(2024, 2, 5), visitors=["部长", "副部长"],
                                   occasion="festival", today=TODAY,
                                   issues=[issue(), issue(text="项目用地")])
    assert visit_id == child_id("expert-e1", 2)
    event = expert.pending[-1]
    assert isinstance(event, ExpertVisited)
    assert [i.follow_up_id for i in event.issues] == [f"{visit_id}.1", f"{visit_id}.2"]
    assert set(expert.follow_ups) == {f"{visit_id}.1", f"{visit_id}.2"}


def test_visit_rules():
    expert = registered()
    assert_rejected(lambda: expert.record_visit(visited_on=date(2024, 1, 9), visitors=["部长"],
                                         occasion="routine", issues=[], today=TODAY),
             "date_order", "#/visited_on")
    assert_rejected(lambda: expert.record_visit(visited_on=date(2025, 1, 1), visitors=["部长"],
                                         occasion="routine", issues=[], today=TODAY),
             "future_date", "#/visited_on")
    assert_rejected(lambda: expert.record_visit(visited_on=date(2024, 2, 5), visitors=["部长", "部长"],
                                         occasion="routine", issues=[], today=TODAY),
             "duplicate_visitor", "#/visitors")
    assert_rejected(lambda: expert.record_visit(visited_on=date(2024, 2, 5), visitors=["部长"],
                                         occasion="routine", today=TODAY,
                                         issues=[issue(), issue(due=date(2024, 2, 4))]),
             "date_order", "#/issues/1/due_on")
    assert expert.version == 1
    with pytest.raises(NotFound):
        Expert("nobody").record_visit(visited_on=date(2024, 2, 5), visitors=["部长"],
                                      occasion="routine", issues=[], today=TODAY)


def test_a_follow_up_is_closed_once():
    expert = registered()
    visit_id = expert.record_visit(visited_on=date(2024, 2, 5), visitors=["部长"],
                                   occasion="routine", issues=[issue()], today=TODAY)
    follow_up = f"{visit_id}.1"
    assert_rejected(lambda: expert.close_follow_up(follow_up, resolution="x", closed_on=date(2024, 2, 4),
                                            today=TODAY), "date_order", "#/closed_on")
    assert_rejected(lambda: expert.close_follow_up(follow_up, resolution="x", closed_on=date(2025, 2, 4),
                                            today=TODAY), "future_date", "#/closed_on")
    expert.close_follow_up(follow_up, resolution="已入学", closed_on=date(2024, 3, 1), today=TODAY)
    assert isinstance(expert.pending[-1], FollowUpClosed)
    with pytest.raises(Conflict):
        expert.close_follow_up(follow_up, resolution="again", closed_on=date(2024, 3, 2),
                               today=TODAY)
    with pytest.raises(NotFound):
        expert.close_follow_up(f"{visit_id}.2", resolution="x", closed_on=date(2024, 3, 2),
                               today=TODAY)


def test_secondment_dates_are_ordered():
    expert = registered("doctoral_service_group")
    for starts, ends in [(date(2024, 7, 1), date(2024, 7, 1)), (date(2024, 7, 1), date(2024, 6, 30))]:
        assert_rejected(lambda s=starts, e=ends: expert.arrange_secondment(
            host_unit="发改局", post="副局长", starts_on=s, ends_on=e), "date_order", "#/ends_on")
    assert_rejected(lambda: expert.arrange_secondment(host_unit="发改局", post="副局长",
                                               starts_on=date(2024, 1, 1), ends_on=date(2024, 12, 31)),
             "date_order", "#/starts_on")
    secondment = expert.arrange_secondment(host_unit="发改局", post="副局长",
                                           starts_on=date(2024, 7, 1), ends_on=date(2025, 6, 30))
    assert secondment == child_id("expert-e1", 2)
    assert isinstance(expert.pending[-1], SecondmentArranged)


def test_secondments_of_one_expert_do_not_overlap():
    expert = registered("doctoral_service_group")
    first = expert.arrange_secondment(host_unit="发改局", post="副局长", starts_on=date(2024, 7, 1),
                                      ends_on=date(2025, 6, 30))
    assert_rejected(lambda: expert.arrange_secondment(host_unit="科技局", post="副局长",
                                               starts_on=date(2025, 6, 30),
                                               ends_on=date(2025, 12, 31)),
             "overlapping_secondment", "#/starts_on")
    expert.end_secondment(first, ended_on=date(2025, 3, 31), evaluation="优秀", today=date(2025, 4, 1))
    # ended early: the rest of the planned period is free again
    expert.arrange_secondment(host_unit="科技局", post="副局长", starts_on=date(2025, 4, 1),
                              ends_on=date(2026, 3, 31))


def test_a_secondment_ends_once_within_its_period():
    expert = registered("doctoral_service_group")
    secondment = expert.arrange_secondment(host_unit="发改局", post="副局长",
                                           starts_on=date(2024, 1, 15), ends_on=date(2024, 12, 31))
    assert_rejected(lambda: expert.end_secondment(secondment, ended_on=date(2024, 1, 14), evaluation=None,
                                           today=TODAY), "date_order", "#/ended_on")
    assert_rejected(lambda: expert.end_secondment(secondment, ended_on=date(2025, 1, 1), evaluation=None,
                                           today=date(2025, 2, 1)), "date_order", "#/ended_on")
    assert_rejected(lambda: expert.end_secondment(secondment, ended_on=date(2024, 12, 31), evaluation=None,
                                           today=date(2024, 12, 30)), "future_date", "#/ended_on")
    expert.end_secondment(secondment, ended_on=date(2024, 12, 31), evaluation="合格", today=TODAY)
    assert isinstance(expert.pending[-1], SecondmentEnded)
    with pytest.raises(Conflict):
        expert.end_secondment(secondment, ended_on=date(2024, 12, 31), evaluation=None, today=TODAY)
    with pytest.raises(NotFound):
        expert.end_secondment("other", ended_on=date(2024, 12, 31), evaluation=None, today=TODAY)
