"""Rectification cases: every allowed and refused transition and each rule (no I/O)."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.governance import ReviewVotes
from services.governance.domain.common import TransitionRefused
from services.governance.domain.geography import Township, Village
from services.governance.domain.rectification import RectificationCase, case_id_for
from services.kernel.errors import Conflict, DomainRuleViolation

TODAY = date(2024, 12, 1)
D = date(2024, 3, 1)


def village() -> Village:
    t = Township("T1")
    t.register("云中镇", None, TODAY)
    v = Village("V1")
    v.register(t, "东关村")
    return v


def case_in(state: str) -> RectificationCase:
    c = RectificationCase(case_id_for("V1", 2024))
    c.open(village(), 2024, ["weak_organisation", "lax_management"], ["书记出缺"], D, TODAY)
    c.record_problem("weak_organisation", "班子不全", D, TODAY)
    c.adopt_measure("P1", "补选书记", "镇党委", date(2024, 5, 1), D, TODAY)
    c.complete_measure("M1", date(2024, 4, 20), TODAY)
    c.resolve_problem("P1", date(2024, 4, 21), TODAY)
    if state in ("accepted", "signed_off"):
        c.review(True, 85, None, None, date(2024, 6, 1), TODAY)
    if state == "signed_off":
        c.sign_off("怀组发〔2024〕30号", date(2024, 6, 10), TODAY)
    return c


def do(c: RectificationCase, action: str) -> None:
    on = date(2024, 7, 1)
    if c.state == "rectifying" and action in ("adopt_measure", "complete_measure",
                                               "resolve_problem"):
        problem = c.record_problem("lax_management", "制度不落实", on, TODAY)
        if action != "adopt_measure":
            measure = c.adopt_measure(problem, "建立制度", "村书记", date(2024, 8, 1), on, TODAY)
            if action == "resolve_problem":
                c.complete_measure(measure, on, TODAY)
    match action:
        case "record_problem":
            c.record_problem("lax_management", "x", on, TODAY)
        case "adopt_measure":
            c.adopt_measure(f"P{max(len(c.problems), 1)}", "y", "z", date(2024, 8, 1), on, TODAY)
        case "complete_measure":
            c.complete_measure(f"M{max(len(c.measures), 1)}", on, TODAY)
        case "resolve_problem":
            c.resolve_problem(f"P{max(len(c.problems), 1)}", on, TODAY)
        case "review_pass":
            c.review(True, 90, None, None, on, TODAY)
        case "review_fail":
            c.review(False, 60, None, None, on, TODAY)
        case "sign_off":
            c.sign_off(None, on, TODAY)
        case "reopen":
            c.reopen("反弹", on, TODAY)


ACTIONS = ("record_problem", "adopt_measure", "complete_measure", "resolve_problem",
           "review_pass", "review_fail", "sign_off", "reopen")
ALLOWED = {
    ("rectifying", "record_problem"): "rectifying",
    ("rectifying", "adopt_measure"): "rectifying",
    ("rectifying", "complete_measure"): "rectifying",
    ("rectifying", "resolve_problem"): "rectifying",
    ("rectifying", "review_pass"): "accepted",
    ("rectifying", "review_fail"): "rectifying",
    ("accepted", "sign_off"): "signed_off",
    ("accepted", "reopen"): "rectifying",
    ("signed_off", "reopen"): "rectifying",
}


@pytest.mark.parametrize("state", ["rectifying", "accepted", "signed_off"])
@pytest.mark.parametrize("action", ACTIONS)
def test_every_transition(state, action):
    c = case_in(state)
    before = len(c.pending)
    if (state, action) in ALLOWED:
        do(c, action)
        assert c.state == ALLOWED[(state, action)] and len(c.pending) > before
    else:
        with pytest.raises(TransitionRefused):
            do(c, action)
        assert len(c.pending) == before and c.state == state


def test_one_case_per_village_and_year():
    c = case_in("rectifying")
    with pytest.raises(Conflict):
        c.open(village(), 2024, ["poor_service"], [], D, TODAY)
    assert case_id_for("V1", 2024) != case_id_for("V1", 2025)


@pytest.mark.parametrize(("action", "code"), [
    (lambda c: c.record_problem("poor_service", "x", D, TODAY), "category_not_on_case"),
    (lambda c: c.adopt_measure("P9", "x", "y", date(2024, 9, 1), D, TODAY), "unknown_problem"),
    (lambda c: c.adopt_measure("P1", "x", "y", date(2024, 9, 1), D, TODAY), "problem_resolved"),
    (lambda c: c.adopt_measure("P2", "x", "y", date(2024, 2, 1), D, TODAY), "date_order"),
    (lambda c: c.complete_measure("M9", D, TODAY), "unknown_measure"),
    (lambda c: c.complete_measure("M1", D, TODAY), "already_completed"),
    (lambda c: c.complete_measure("M2", date(2024, 2, 28), TODAY), "date_order"),
    (lambda c: c.resolve_problem("P1", D, TODAY), "problem_resolved"),
    (lambda c: c.resolve_problem("P2", D, TODAY), "measures_open"),
    (lambda c: c.resolve_problem("P3", D, TODAY), "no_measures"),
    (lambda c: c.review(True, 90, None, None, D, TODAY), "problems_open"),
])
def test_rules(action, code):
    c = case_in("rectifying")
    c.record_problem("lax_management", "制度", D, TODAY)
    c.adopt_measure("P2", "建制度", "村书记", date(2024, 9, 1), D, TODAY)
    c.record_problem("lax_management", "无措施", D, TODAY)
    before = len(c.pending)
    with pytest.raises(DomainRuleViolation) as error:
        action(c)
    assert error.value.code == code and len(c.pending) == before


@pytest.mark.parametrize(("score", "votes", "code"), [
    (69, None, "below_pass_mark"),
    (80, ReviewVotes(satisfied=3, basically_satisfied=1, dissatisfied=5), "dissatisfied_majority"),
])
def test_a_pass_needs_the_mark_and_no_dissatisfied_majority(score, votes, code):
    c = case_in("rectifying")
    with pytest.raises(DomainRuleViolation) as error:
        c.review(True, score, votes, None, D.replace(month=6), TODAY)
    assert error.value.code == code
    c.review(False, score, votes, None, D.replace(month=6), TODAY)  # a failure is always recordable
    assert c.state == "rectifying"
    c.review(True, 70, ReviewVotes(satisfied=4, basically_satisfied=1, dissatisfied=5), None,
             D.replace(month=7), TODAY)
    assert c.state == "accepted"


def test_categories_and_year_are_checked_on_opening():
    c = RectificationCase("x")
    with pytest.raises(DomainRuleViolation) as error:
        c.open(village(), 2024, ["poor_service", "poor_service"], [], D, TODAY)
    assert error.value.code == "duplicate_category"
    with pytest.raises(DomainRuleViolation) as error:
        c.open(village(), 2026, ["poor_service"], [], D, TODAY)
    assert error.value.code == "date_range"
