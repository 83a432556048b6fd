"""What every governance aggregate shares: refused transitions, dates and instants, scope."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import ClassVar

from services.kernel.aggregate import Aggregate
from services.kernel.errors import Conflict, DomainRuleViolation

__all__ = [
    "CLOCK_TOLERANCE",
    "LOCAL_TZ",
    "StatefulAggregate",
    "TransitionRefused",
    "check_effective_on",
    "check_instant",
    "local_date",
    "utc",
]

LOCAL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
"""Business dates (effective_on, working days) are China Standard Time dates."""

CLOCK_TOLERANCE = timedelta(minutes=5)
"""How far a client's instant may run ahead of the service clock (clock skew)."""


class TransitionRefused(Conflict):
    """The record's state does not allow the command; nothing was recorded."""

    title, type_slug = "Transition not allowed", "invalid-transition"

    def __init__(self, what: str, record_id: str, action: str, state: str,
                 allowed: Iterable[str]) -> None:
        allowed = sorted(allowed)
        detail = (f"cannot {action.replace('_', ' ')} {what} {record_id}: it is {state}"
                  f" (allowed from: {', '.join(allowed) or 'no state'})")
        super().__init__(detail, errors=[{"pointer": "#", "detail": detail,
                                          "code": "invalid_transition"}])
        self.action, self.state = action, state


class StatefulAggregate(Aggregate):
    """An aggregate with a ``state`` and a table of the states each action is allowed from."""

    what: ClassVar[str]
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]]

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.state = "new"
        self.township_id = ""

    def _allow(self, action: str) -> None:
        allowed = self.TRANSITIONS[action]
        if self.state not in allowed:
            raise TransitionRefused(self.what, self.id, action, self.state, allowed)


def utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise DomainRuleViolation("instants must carry a time zone", pointer="#/at",
                                  code="naive_datetime")
    return value.astimezone(UTC)


def local_date(value: datetime) -> date:
    return value.astimezone(LOCAL_TZ).date()


def check_instant(at: datetime, now: datetime, *, after: datetime | None = None,
                  after_what: str = "the previous step", pointer: str = "#/at") -> datetime:
    """A business instant: not ahead of the clock, not before the step it follows."""
    at = utc(at)
    if at > now + CLOCK_TOLERANCE:
        raise DomainRuleViolation(f"{at.isoformat()} is in the future (now {now.isoformat()})",
                                  pointer=pointer, code="future")
    if after is not None and at < after:
        raise DomainRuleViolation(f"{at.isoformat()} is before {after_what} ({after.isoformat()})",
                                  pointer=pointer, code="date_order")
    return at


def check_effective_on(value: date, today: date, *, after: date | None = None,
                       after_what: str = "the record's start", pointer: str = "#/effective_on",
                       ) -> date:
    """A business date: at most a year ahead, not before the date it follows."""
    if value > today + timedelta(days=366):
        raise DomainRuleViolation(f"{value} is more than a year ahead", pointer=pointer,
                                  code="date_range")
    if after is not None and value < after:
        raise DomainRuleViolation(f"{value} is before {after_what} ({after})", pointer=pointer,
                                  code="date_order")
    return value
