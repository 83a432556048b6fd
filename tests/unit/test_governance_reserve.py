"""Village-leader reserve candidates: every allowed and refused transition and each rule."""

from __future__ import annotations

from datetime import date

import pytest

from services.governance.domain.common import TransitionRefused
from services.governance.domain.geography import Township, Village
from services.governance.domain.reserve import STAGES, ReserveCandidate
from services.kernel.errors import DomainRuleViolation

TODAY = date(2024, 12, 1)


def village() -> Village:
    t = Township("T1")
    t.register("云中镇", None, TODAY)
    v = Village("V1")
    v.register(t, "东关村")
    return v


def add(c: ReserveCandidate, **changes) -> None:
    args = dict(name="李强", source="veteran", leader_candidate=True, target_post="secretary",
                birth_year=1990, education="本科", party_member=True, negative_list_hit=False,
                effective_on=date(2024, 3, 1), today=TODAY)
    c.add(village(), **{**args, **changes})


def in_stage(stage: str, willing: bool = True, evaluation: str = "competent") -> ReserveCandidate:
    c = ReserveCandidate("c1")
    add(c)
    steps = [
        ("surveyed", lambda: c.record_survey(["谈思想"], None, date(2024, 4, 1), TODAY)),
        ("talked", lambda: c.record_talk(willing, None, date(2024, 5, 1), TODAY)),
        ("on_trial", lambda: c.start_trial("deputy_secretary", date(2024, 12, 31),
                                           date(2024, 6, 1), TODAY)),
        ("trial_completed", lambda: c.evaluate_trial(evaluation, None, date(2024, 9, 1), TODAY)),
        ("qualified", lambda: c.qualify(date(2024, 9, 2), TODAY)),
    ]
    target = "qualified" if stage == "exited" else stage
    for name, step in steps[:STAGES.index(target)]:
        step()
        assert c.state == name
    if stage == "exited":
        c.exit("外出", date(2024, 10, 1), TODAY)
    return c


ON = date(2024, 11, 1)
ACTIONS = {
    "record_survey": lambda c: c.record_survey([], None, ON, TODAY),
    "record_talk": lambda c: c.record_talk(True, None, ON, TODAY),
    "start_trial": lambda c: c.start_trial("director_assistant", date(2025, 5, 1), ON, TODAY),
    "evaluate_trial": lambda c: c.evaluate_trial("excellent", None, ON, TODAY),
    "qualify": lambda c: c.qualify(ON, TODAY),
    "exit": lambda c: c.exit("调整", ON, TODAY),
}
ALLOWED = {
    ("identified", "record_survey"): "surveyed",
    ("surveyed", "record_talk"): "talked",
    ("talked", "start_trial"): "on_trial",
    ("on_trial", "evaluate_trial"): "trial_completed",
    ("trial_completed", "qualify"): "qualified",
    **{(stage, "exit"): "exited" for stage in STAGES},
}


@pytest.mark.parametrize("stage", [*STAGES, "exited"])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_transition(stage, action):
    c = in_stage(stage)
    before = len(c.pending)
    if (stage, action) in ALLOWED:
        ACTIONS[action](c)
        assert c.state == ALLOWED[(stage, action)]
    else:
        with pytest.raises(TransitionRefused):
            ACTIONS[action](c)
        assert len(c.pending) == before and c.state == stage


def test_exit_records_the_stage_left():
    c = in_stage("on_trial")
    c.exit("不胜任", ON, TODAY)
    assert c.pending[-1].from_stage == "on_trial"


@pytest.mark.parametrize(("build", "action", "code"), [
    (lambda: in_stage("talked", willing=False), ACTIONS["start_trial"], "not_willing"),
    (lambda: in_stage("trial_completed", evaluation="incompetent"), ACTIONS["qualify"],
     "trial_failed"),
    (lambda: in_stage("talked"), lambda c: c.start_trial("deputy_secretary", ON, ON, TODAY),
     "date_order"),
    (lambda: in_stage("surveyed"), lambda c: c.record_talk(True, None, date(2024, 3, 31), TODAY),
     "date_order"),
])
def test_rules(build, action, code):
    c = build()
    before = len(c.pending)
    with pytest.raises(DomainRuleViolation) as error:
        action(c)
    assert error.value.code == code and len(c.pending) == before


@pytest.mark.parametrize(("changes", "code"), [({"negative_list_hit": True}, "negative_list"),
                                                ({"birth_year": 2010}, "age_range"),
                                                ({"effective_on": date(2026, 1, 2)}, "date_range")])
def test_entry_rules(changes, code):
    with pytest.raises(DomainRuleViolation) as error:
        add(ReserveCandidate("c1"), **changes)
    assert error.value.code == code
