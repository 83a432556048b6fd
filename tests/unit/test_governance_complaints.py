"""Complaint work orders: every allowed and refused transition, the SLA clocks and their pauses,
on explicit instants (the clock is a parameter; nothing sleeps)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.governance import (
    DEFAULT_SLA_POLICY,
    ComplaintOverdueFlagged,
    ComplaintSlaRule,
    Duration,
    HandlingUnit,
    SlaPolicy,
    WorkCalendar,
)
from services.governance.domain.common import TransitionRefused
from services.governance.domain.complaint import Complaint
from services.governance.domain.phone import normalise_phone
from services.governance.domain.sla import add_duration, complaint_sla, validate_policy
from services.kernel.errors import DomainRuleViolation
from services.kernel.personal_data import PersonalDataVault

# Monday 2024-06-03 09:00 China time
T0 = datetime(2024, 6, 3, 1, 0, tzinfo=UTC)
FAR = T0 + timedelta(days=400)
POLICY = DEFAULT_SLA_POLICY
TOWNSHIP = HandlingUnit(kind="township", id="T1", name="云中镇")
PHONE = PersonalDataVault("k").seal("phone", "13912345678")


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def received(category="complaint", urgency="normal") -> Complaint:
    c = Complaint("c1")
    c.receive(township_id="T1", community_id="C1", channel="hotline", category=category,
              urgency=urgency, description="路灯不亮", contact_phone=PHONE, at=T0, now=FAR)
    return c


def in_state(state: str) -> Complaint:
    c = received()
    if state == "received":
        return c
    c.dispatch(TOWNSHIP, POLICY, h(1), FAR)
    if state == "dispatched":
        return c
    if state == "return_requested":
        c.request_return("不属本镇", h(2), FAR)
        return c
    c.sign_for(h(2), FAR)
    if state == "signed":
        return c
    c.record_first_contact(h(3), FAR)
    c.report_result("已修复", h(30), FAR)
    if state == "result_reported":
        return c
    c.record_follow_up(False, "dissatisfied", None, h(40), FAR)
    if state == "followed_up":
        return c
    assert state == "closed"
    c.close(None, None, h(41), FAR)
    return c


def do(c: Complaint, action: str, at: datetime) -> None:
    """The action with arguments that satisfy its rules in a state that allows it."""
    match action:
        case "dispatch":
            c.dispatch(TOWNSHIP, POLICY, at, FAR)
        case "sign_for":
            c.sign_for(at, FAR)
        case "request_return":
            c.request_return("不属本镇", at, FAR)
        case "decide_return":
            c.decide_return(True, None, at, FAR)
        case "request_extension":
            c.request_extension(Duration(amount=3, unit="days"), "协调中", at, FAR)
        case "decide_extension":
            if c.state == "signed" and c.pending_extension is None:
                c.request_extension(Duration(amount=3, unit="days"), "协调中", at, FAR)
            c.decide_extension(True, None, POLICY, at, FAR)
        case "record_first_contact":
            c.record_first_contact(at, FAR)
        case "report_result":
            if c.state == "signed" and not c.contacted:
                c.record_first_contact(at, FAR)
            c.report_result("已处理", at, FAR)
        case "record_follow_up":
            c.record_follow_up(True, "satisfied", None, at, FAR)
        case "reopen":
            c.reopen("未解决", POLICY, at, FAR)
        case "close":
            c.close("not_accepted" if c.state == "received" else None, None, at, FAR)
        case "flag_overdue":
            c.flag_overdue(FAR)


STATES = ("received", "dispatched", "signed", "return_requested", "result_reported",
          "followed_up", "closed")
ACTIONS = ("dispatch", "sign_for", "request_return", "decide_return", "request_extension",
           "decide_extension", "record_first_contact", "report_result", "record_follow_up",
           "reopen", "close", "flag_overdue")
ALLOWED = {  # (state, action) → state after; every other pair is refused
    ("received", "dispatch"): "dispatched",
    ("received", "close"): "closed",
    ("dispatched", "sign_for"): "signed",
    ("dispatched", "request_return"): "return_requested",
    ("dispatched", "flag_overdue"): "dispatched",
    ("signed", "request_return"): "return_requested",
    ("signed", "request_extension"): "signed",
    ("signed", "decide_extension"): "signed",
    ("signed", "record_first_contact"): "signed",
    ("signed", "report_result"): "result_reported",
    ("signed", "flag_overdue"): "signed",
    ("return_requested", "decide_return"): "received",
    ("return_requested", "flag_overdue"): "return_requested",
    ("result_reported", "record_follow_up"): "followed_up",
    ("result_reported", "close"): "closed",
    ("followed_up", "reopen"): "signed",
    ("followed_up", "close"): "closed",
    ("closed", "reopen"): "signed",
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_transition_is_allowed_or_refused(state, action):
    c = in_state(state)
    assert c.state == state
    before = len(c.pending)
    if (state, action) in ALLOWED:
        do(c, action, h(45))
        assert c.state == ALLOWED[(state, action)]
        assert len(c.pending) > before
    else:
        with pytest.raises(TransitionRefused) as error:
            do(c, action, h(45))
        assert error.value.status == 409
        assert error.value.errors[0]["code"] == "invalid_transition"
        assert len(c.pending) == before and c.state == state


def test_receive_twice_is_a_conflict():
    from services.kernel.errors import Conflict

    with pytest.raises(Conflict):
        received().receive(township_id="T1", community_id="C1", channel="web", category="help",
                           urgency="normal", description="x", contact_phone=PHONE, at=T0, now=FAR)


# --- SLA clocks --------------------------------------------------------------------------------

def test_dispatch_starts_the_clocks_of_the_matching_rule():
    c = received()
    c.dispatch(TOWNSHIP, POLICY, h(1), FAR)
    assert (c.sign_for_due, c.response_due, c.resolve_due) == (h(5), h(25), h(1) + timedelta(days=7))
    urgent = received(urgency="emergency")
    urgent.dispatch(TOWNSHIP, POLICY, h(1), FAR)
    assert urgent.resolve_due == h(3) and urgent.sign_for_due == h(1.25)


def test_consultations_get_three_working_days_across_a_weekend_and_a_holiday():
    c = received(category="consultation")
    thursday = datetime(2024, 6, 6, 7, 0, tzinfo=UTC)  # 15:00 local
    c.dispatch(TOWNSHIP, POLICY, thursday, FAR)
    # Fri 7, (Sat, Sun), Mon 10 is 端午 in 2024 only with a holiday: not by default → Tue 11
    assert c.resolve_due == datetime(2024, 6, 11, 7, 0, tzinfo=UTC)
    holiday = SlaPolicy(complaint_rules=POLICY.complaint_rules, alert_rules=POLICY.alert_rules,
                        calendar=WorkCalendar(holidays=[date(2024, 6, 10)]))
    c2 = received(category="consultation")
    c2.dispatch(TOWNSHIP, holiday, thursday, FAR)
    assert c2.resolve_due == datetime(2024, 6, 12, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(("start", "limit", "calendar", "due"), [
    (T0, Duration(amount=90, unit="minutes"), WorkCalendar(), T0 + timedelta(minutes=90)),
    (T0, Duration(amount=2, unit="days"), WorkCalendar(), T0 + timedelta(days=2)),
    # Friday 16:00 local + 1 working day → Monday 16:00
    (datetime(2024, 6, 7, 8, 0, tzinfo=UTC), Duration(amount=1, unit="working_days"),
     WorkCalendar(), datetime(2024, 6, 10, 8, 0, tzinfo=UTC)),
    # a make-up Saturday counts
    (datetime(2024, 6, 7, 8, 0, tzinfo=UTC), Duration(amount=1, unit="working_days"),
     WorkCalendar(extra_working_days=[date(2024, 6, 8)]), datetime(2024, 6, 8, 8, 0, tzinfo=UTC)),
    # 23:30 UTC Sunday is Monday 07:30 local: the local date counts
    (datetime(2024, 6, 2, 23, 30, tzinfo=UTC), Duration(amount=1, unit="working_days"),
     WorkCalendar(), datetime(2024, 6, 3, 23, 30, tzinfo=UTC)),
])
def test_add_duration(start, limit, calendar, due):
    assert add_duration(start, limit, calendar) == due


def test_most_specific_rule_wins():
    assert complaint_sla(POLICY, "consultation", "normal").resolve.unit == "working_days"
    assert complaint_sla(POLICY, "consultation", "urgent").resolve == Duration(amount=24, unit="hours")
    assert complaint_sla(POLICY, "report", "complex").resolve == Duration(amount=15, unit="days")


def test_policy_must_cover_every_urgency_and_level_once():
    rules = [r for r in POLICY.complaint_rules if r.urgency != "complex"]
    with pytest.raises(DomainRuleViolation) as error:
        validate_policy(SlaPolicy(complaint_rules=rules, alert_rules=POLICY.alert_rules))
    assert error.value.code == "incomplete_policy"
    dup = [*POLICY.complaint_rules, POLICY.complaint_rules[0]]
    with pytest.raises(DomainRuleViolation) as error:
        validate_policy(SlaPolicy(complaint_rules=dup, alert_rules=POLICY.alert_rules))
    assert error.value.code == "duplicate_rule"
    catch_all = ComplaintSlaRule(sign_for=Duration(amount=1, unit="hours"),
                                 response=Duration(amount=1, unit="days"),
                                 resolve=Duration(amount=5, unit="working_days"))
    validate_policy(SlaPolicy(complaint_rules=[catch_all], alert_rules=POLICY.alert_rules))
    with pytest.raises(DomainRuleViolation):
        validate_policy(SlaPolicy(complaint_rules=[catch_all], alert_rules=POLICY.alert_rules[:2]))


def test_on_time_flags_at_the_deadlines():
    c = received()
    c.dispatch(TOWNSHIP, POLICY, h(1), FAR)
    c.sign_for(h(5), FAR)  # exactly at the deadline is on time
    c.record_first_contact(h(25) + timedelta(seconds=1), FAR)
    c.report_result("done", h(1) + timedelta(days=7), FAR)
    signed, contacted, result = c.pending[-3:]
    assert (signed.on_time, contacted.on_time, result.on_time) == (True, False, True)


def test_granted_return_pauses_the_clocks_from_the_request_to_the_next_dispatch():
    c = received()
    c.dispatch(TOWNSHIP, POLICY, h(1), FAR)
    response_due, resolve_due = c.response_due, c.resolve_due
    c.request_return("属供水公司", h(2), FAR)
    c.decide_return(True, None, h(10), FAR)
    assert c.overdue(h(1000)) == []  # paused: nothing runs out
    c.dispatch(HandlingUnit(kind="department", id="water", name="县水务局"), POLICY, h(12), FAR)
    assert c.response_due == response_due + timedelta(hours=10)
    assert c.resolve_due == resolve_due + timedelta(hours=10)
    assert c.pending[-1].paused_seconds == 36000 and c.pending[-1].dispatch_number == 2
    assert c.sign_for_due == h(16)


def test_refused_return_pauses_nothing_and_contacted_orders_keep_their_response():
    c = received()
    c.dispatch(TOWNSHIP, POLICY, h(1), FAR)
    c.sign_for(h(2), FAR)
    c.request_return("x", h(3), FAR)
    c.decide_return(False, "属地职责", h(4), FAR)
    assert c.state == "signed" and c.resolve_due == h(1) + timedelta(days=7)
    c.record_first_contact(h(5), FAR)
    response_due = c.response_due
    c.request_return("y", h(6), FAR)
    c.decide_return(True, None, h(7), FAR)
    c.dispatch(TOWNSHIP, POLICY, h(9), FAR)
    assert c.response_due == response_due
    assert c.resolve_due == h(1) + timedelta(days=7, hours=3)


def test_extension_before_the_deadline_moves_it_once_decided():
    c = in_state("signed")
    due = c.resolve_due
    with pytest.raises(DomainRuleViolation) as error:
        c.decide_extension(True, None, POLICY, h(3), FAR)
    assert error.value.code == "no_pending_extension"
    c.request_extension(Duration(amount=2, unit="working_days"), "x", h(3), FAR)
    with pytest.raises(DomainRuleViolation) as error:
        c.request_extension(Duration(amount=1, unit="days"), "again", h(4), FAR)
    assert error.value.code == "extension_pending"
    c.decide_extension(False, None, POLICY, h(5), FAR)
    assert c.resolve_due == due
    c.request_extension(Duration(amount=2, unit="working_days"), "x", h(6), FAR)
    c.decide_extension(True, None, POLICY, h(7), FAR)
    assert c.resolve_due == due + timedelta(days=2)  # Mon 10 Jun → Wed 12 Jun, same time
    with pytest.raises(DomainRuleViolation) as error:
        c.request_extension(Duration(amount=1, unit="days"), "late", c.resolve_due, FAR)
    assert error.value.code == "deadline_passed"


def test_overdue_is_flagged_once_per_deadline_and_never_while_paused():
    c = received()
    c.dispatch(TOWNSHIP, POLICY, h(1), FAR)
    assert c.overdue(h(5)) == []
    with pytest.raises(DomainRuleViolation) as error:
        c.flag_overdue(h(5))
    assert error.value.code == "not_overdue"
    c.flag_overdue(h(5) + timedelta(seconds=1))
    assert [e.deadline for e in c.pending if isinstance(e, ComplaintOverdueFlagged)] == ["sign_for"]
    with pytest.raises(DomainRuleViolation):
        c.flag_overdue(h(6))
    c.flag_overdue(h(26))
    assert [e.deadline for e in c.pending[-1:]] == ["response"]
    c.sign_for(h(27), FAR)  # a flag is not a step: later steps may precede it
    assert c.pending[-1].on_time is False
    c.record_first_contact(h(27), FAR)
    assert c.overdue(h(1) + timedelta(days=8)) == [("resolve", h(1) + timedelta(days=7))]


def test_reopen_starts_a_new_result_clock():
    c = in_state("followed_up")
    c.reopen("未解决", POLICY, h(50), FAR)
    assert c.resolve_due == h(50) + timedelta(days=7) and c.reopen_count == 1
    assert c.pending[-1].reopen_count == 1


@pytest.mark.parametrize(("state", "action", "code"), [
    ("signed", lambda c: c.report_result("x", h(3), FAR), "no_contact"),
    ("received", lambda c: c.close("completed", None, h(3), FAR), "outcome"),
    ("result_reported", lambda c: c.close("duplicate", None, h(31), FAR), "outcome"),
    ("received", lambda c: c.dispatch(HandlingUnit(kind="township", id="T2", name="x"), POLICY,
                                      h(3), FAR), "not_territorial"),
    ("dispatched", lambda c: c.sign_for(h(0.5), FAR), "date_order"),
    ("dispatched", lambda c: c.sign_for(h(3), h(2)), "future"),
])
def test_rules_refuse_with_codes_and_record_nothing(state, action, code):
    c = in_state(state)
    before = len(c.pending)
    with pytest.raises(DomainRuleViolation) as error:
        action(c)
    assert error.value.code == code and len(c.pending) == before


def test_reopen_rules():
    c = received()
    c.close("duplicate", None, h(1), FAR)
    with pytest.raises(DomainRuleViolation) as error:
        c.reopen("x", POLICY, h(2), FAR)
    assert error.value.code == "not_completed"
    happy = in_state("result_reported")
    happy.record_follow_up(True, "basically_satisfied", None, h(40), FAR)
    with pytest.raises(DomainRuleViolation) as error:
        happy.reopen("x", POLICY, h(41), FAR)
    assert error.value.code == "citizen_satisfied"
    returned = in_state("return_requested")
    returned.decide_return(True, None, h(3), FAR)
    with pytest.raises(DomainRuleViolation):
        returned.close("not_accepted", None, h(4), FAR)


@pytest.mark.parametrize(("raw", "normal"), [("139 1234 5678", "13912345678"),
                                             ("+8613912345678", "13912345678"),
                                             ("0349-6021234", "03496021234")])
def test_phone_numbers_normalise(raw, normal):
    assert normalise_phone(raw) == normal


@pytest.mark.parametrize("raw", ["12345678901", "1391234567", "abc", "349-6021234"])
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(ValueError):
        normalise_phone(raw)
