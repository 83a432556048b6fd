"""SLA clocks: adding a time limit to an instant on a working-day calendar, picking the rule."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from contracts.governance import (
    DEFAULT_SLA_POLICY,
    AlertSlaRule,
    ComplaintSla,
    Duration,
    SlaPolicy,
    WorkCalendar,
)
from services.governance.domain.common import LOCAL_TZ
from services.kernel.errors import DomainRuleViolation

__all__ = ["add_duration", "alert_rule", "complaint_sla", "is_working_day", "validate_policy"]

URGENCIES = ("normal", "complex", "urgent", "emergency")
ALERT_LEVELS = ("critical", "major", "minor")


def is_working_day(day: date, calendar: WorkCalendar) -> bool:
    if day in calendar.extra_working_days:
        return True
    if day in calendar.holidays:
        return False
    return day.weekday() < 5


def add_duration(start: datetime, limit: Duration, calendar: WorkCalendar) -> datetime:
    """``start`` plus the limit. Working days count whole local (China) days after the start's
    date and keep its time of day: received Friday 15:00, 1 working day → Monday 15:00."""
    match limit.unit:
        case "minutes":
            return start + timedelta(minutes=limit.amount)
        case "hours":
            return start + timedelta(hours=limit.amount)
        case "days":
            return start + timedelta(days=limit.amount)
    local = start.astimezone(LOCAL_TZ)
    day, left = local.date(), limit.amount
    while left:
        day += timedelta(days=1)
        if is_working_day(day, calendar):
            left -= 1
    return datetime.combine(day, local.timetz()).astimezone(start.tzinfo)


def complaint_sla(policy: SlaPolicy | None, category: str, urgency: str) -> ComplaintSla:
    """The most specific rule for the category and urgency (category + urgency beats urgency
    alone beats category alone beats neither)."""
    policy = policy or DEFAULT_SLA_POLICY
    best, best_rank = None, -1
    for rule in policy.complaint_rules:
        if rule.category not in (None, category) or rule.urgency not in (None, urgency):
            continue
        rank = (2 if rule.urgency else 0) + (1 if rule.category else 0)
        if rank > best_rank:
            best, best_rank = rule, rank
    if best is None:  # validate_policy makes this unreachable for stored policies
        raise DomainRuleViolation(f"no SLA rule for {category}/{urgency}", code="no_sla_rule")
    return ComplaintSla(sign_for=best.sign_for, response=best.response, resolve=best.resolve)


def alert_rule(policy: SlaPolicy | None, level: str) -> AlertSlaRule:
    policy = policy or DEFAULT_SLA_POLICY
    return next(r for r in policy.alert_rules if r.level == level)


def validate_policy(policy: SlaPolicy) -> None:
    """Every urgency needs a rule for any category; no rule twice; one rule per alert level."""
    seen: set[tuple] = set()
    for i, rule in enumerate(policy.complaint_rules):
        key = (rule.category, rule.urgency)
        if key in seen:
            raise DomainRuleViolation(f"two complaint rules for {key}",
                                      pointer=f"#/complaint_rules/{i}", code="duplicate_rule")
        seen.add(key)
    uncovered = [u for u in URGENCIES if (None, u) not in seen and (None, None) not in seen]
    if uncovered:
        raise DomainRuleViolation(f"no complaint rule for any category at urgency {uncovered}",
                                  pointer="#/complaint_rules", code="incomplete_policy")
    levels = [r.level for r in policy.alert_rules]
    if sorted(levels) != sorted(ALERT_LEVELS):
        raise DomainRuleViolation(f"alert rules must cover each level once: {ALERT_LEVELS}",
                                  pointer="#/alert_rules", code="incomplete_policy")
