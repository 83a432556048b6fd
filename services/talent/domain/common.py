"""Rules and helpers shared by the talent aggregates."""

from __future__ import annotations

import uuid
from datetime import date

from services.kernel.errors import DomainRuleViolation

__all__ = ["child_id", "not_before", "not_in_future"]

_CHILD_NAMESPACE = uuid.UUID("0b7f3c8e-91d4-4a57-8e2b-5d6a7c1f9e24")


def child_id(stream_id: str, version: int) -> str:
    """Id of the sub-record (grant, visit, placement …) recorded at ``version`` of a stream.

    Derived, not random: a command retried with its idempotency key answers the same version,
    so the gateway can point at the same sub-record again.
    """
    return str(uuid.uuid5(_CHILD_NAMESPACE, f"{stream_id}@{version}"))


def not_in_future(day: date, today: date, pointer: str, what: str) -> None:
    if day > today:
        raise DomainRuleViolation(f"{what} ({day}) is in the future (today is {today})",
                                  pointer=pointer, code="future_date")


def not_before(day: date, earliest: date, pointer: str, what: str, reference: str) -> None:
    if day < earliest:
        raise DomainRuleViolation(f"{what} ({day}) cannot precede {reference} ({earliest})",
                                  pointer=pointer, code="date_order")
