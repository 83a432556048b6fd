"""The responsibility list (draft, amend, repeal, numbered versions) and the village access
lists (admit, remove, conflicts with the negative list)."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.governance import ResponsibilityItem, ResponsibilityListPublished
from services.governance.domain.lists import AccessLists, ResponsibilityList, name_key
from services.kernel.errors import Conflict, DomainRuleViolation

TODAY = date(2024, 12, 1)


def item(code: str, **changes) -> ResponsibilityItem:
    base = dict(code=code, matter="秸秆焚烧", domain="生态环境", lead_department="市生态环境局",
                lead_duty="查处", township_duty="巡查、报告", legal_basis="《大气污染防治法》")
    return ResponsibilityItem(**{**base, **changes})


def test_versions_carry_the_whole_list_and_what_changed():
    r = ResponsibilityList("county")
    r.add_item(item("A"))
    r.add_item(item("B"))
    assert r.publish("怀办发〔2024〕1号", date(2024, 1, 1), TODAY) == 1
    r.amend_item(item("A", township_duty="网格巡查"), "乡镇申请")
    r.repeal_item("B", "职责划转")
    r.add_item(item("C", domain="安全生产"))
    assert r.publish("怀办发〔2024〕2号", date(2024, 7, 1), TODAY) == 2
    first, second = [e for e in r.pending if isinstance(e, ResponsibilityListPublished)]
    assert [i.code for i in first.items] == ["A", "B"] and first.added == ["A", "B"]
    assert [i.code for i in second.items] == ["A", "C"]
    assert (second.added, second.amended, second.repealed) == (["C"], ["A"], ["B"])
    assert second.items[0].township_duty == "网格巡查"


def test_an_item_drafted_and_repealed_before_publication_leaves_no_trace():
    r = ResponsibilityList("county")
    r.add_item(item("A"))
    r.publish("1号", date(2024, 1, 1), TODAY)
    r.add_item(item("B"))
    r.amend_item(item("B", matter="改"), "x")
    r.repeal_item("B", "x")
    with pytest.raises(DomainRuleViolation) as error:
        r.publish("2号", date(2024, 2, 1), TODAY)
    assert error.value.code == "nothing_to_publish"


@pytest.mark.parametrize(("action", "error_type", "code"), [
    (lambda r: r.add_item(item("A")), Conflict, None),
    (lambda r: r.add_item(item("R")), Conflict, None),
    (lambda r: r.amend_item(item("A"), "same"), DomainRuleViolation, "no_change"),
    (lambda r: r.amend_item(item("Z"), "x"), DomainRuleViolation, "unknown_item"),
    (lambda r: r.amend_item(item("R"), "x"), DomainRuleViolation, "item_repealed"),
    (lambda r: r.repeal_item("R", "x"), DomainRuleViolation, "item_repealed"),
    (lambda r: r.publish("2号", date(2024, 3, 1), TODAY), DomainRuleViolation, "nothing_to_publish"),
])
def test_list_rules(action, error_type, code):
    r = ResponsibilityList("county")
    r.add_item(item("A"))
    r.add_item(item("R"))
    r.repeal_item("R", "x")
    r.publish("1号", date(2024, 3, 1), TODAY)
    before = len(r.pending)
    with pytest.raises(error_type) as error:
        action(r)
    if code:
        assert error.value.code == code
    assert len(r.pending) == before


def test_versions_take_effect_in_order_and_never_empty():
    r = ResponsibilityList("county")
    r.add_item(item("A"))
    r.publish("1号", date(2024, 3, 1), TODAY)
    r.amend_item(item("A", matter="x"), "y")
    for day in (date(2024, 3, 1), date(2024, 2, 1)):
        with pytest.raises(DomainRuleViolation) as error:
            r.publish("2号", day, TODAY)
        assert error.value.code == "date_order"
    r.repeal_item("A", "z")
    with pytest.raises(DomainRuleViolation) as error:
        r.publish("2号", date(2024, 4, 1), TODAY)
    assert error.value.code == "empty_list"


def test_access_entries_admit_remove_and_refuse_clashes():
    a = AccessLists("county")
    a.admit("e1", "negative", "招商引资任务", "厅字〔2022〕28号", None, date(2023, 1, 1), TODAY)
    a.admit("e2", "certificate", "居住证明", "怀办发〔2023〕8号", None, date(2023, 1, 1), TODAY)
    for kind, name, code in (("assistance", " 招商引资任务 ", "conflicts_with_negative_list"),
                             ("certificate", "居住证明", "already_listed")):
        with pytest.raises(DomainRuleViolation) as error:
            a.admit("e3", kind, name, "x", None, date(2024, 1, 1), TODAY)
        assert error.value.code == code
    with pytest.raises(DomainRuleViolation) as error:
        a.remove("e2", "x", date(2022, 12, 31), TODAY)
    assert error.value.code == "date_order"
    a.remove("e1", "调整", date(2024, 1, 1), TODAY)
    a.admit("e3", "assistance", "招商引资任务", "新文件", "商务局", date(2024, 2, 1), TODAY)
    with pytest.raises(DomainRuleViolation) as error:
        a.remove("e1", "again", date(2024, 3, 1), TODAY)
    assert error.value.code == "already_removed"
    with pytest.raises(DomainRuleViolation) as error:
        a.admit("e4", "negative", "招商引资任务", "x", None, date(2024, 3, 1), TODAY)
    assert error.value.code == "conflicts_with_negative_list"
    with pytest.raises(DomainRuleViolation) as error:
        a.remove("nope", "x", date(2024, 3, 1), TODAY)
    assert error.value.code == "unknown_entry"


def test_names_match_ignoring_case_and_blank_runs():
    assert name_key("  Fire  Safety ") == name_key("fire safety") != name_key("firesafety")
