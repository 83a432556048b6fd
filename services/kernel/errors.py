"""Typed errors the kernel and the services raise; the HTTP layer maps them to problem+json."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ConcurrencyConflict",
    "DomainRuleViolation",
    "IdempotencyKeyReused",
    "NotFound",
    "PreconditionFailed",
    "ZugongError",
]


class ZugongError(Exception):
    """Base of errors that carry an HTTP meaning."""

    status: int = 400
    title: str = "Bad request"
    type_slug: str = "bad-request"

    def __init__(self, detail: str, *, errors: list[dict] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class NotFound(ZugongError):
    status, title, type_slug = 404, "Not found", "not-found"


@dataclass
class _ConflictInfo:
    stream_id: str
    expected: int
    actual: int
    extra: dict = field(default_factory=dict)


class ConcurrencyConflict(ZugongError):
    """A stream was not at the expected version when appending."""

    status, title, type_slug = 409, "Conflict", "concurrency-conflict"

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id} is at version {actual}, expected {expected}; "
            "reload and retry"
        )
        self.stream_id, self.expected, self.actual = stream_id, expected, actual


class PreconditionFailed(ZugongError):
    """If-Match named a version that is not the current one."""

    status, title, type_slug = 412, "Precondition failed", "precondition-failed"


class DomainRuleViolation(ZugongError):
    """A command is well-formed but breaks a business rule; nothing was recorded."""

    status, title, type_slug = 422, "Business rule violated", "rule-violated"

    def __init__(self, detail: str, *, pointer: str | None = None, code: str = "rule") -> None:
        errors = [{"pointer": pointer, "detail": detail, "code": code}] if pointer else []
        super().__init__(detail, errors=errors)
        self.code = code


class IdempotencyKeyReused(ZugongError):
    status, title, type_slug = 422, "Idempotency key reused", "idempotency-key-reused"


class Conflict(ZugongError):
    """The command conflicts with the current state (e.g. the record already exists)."""

    status, title, type_slug = 409, "Conflict", "conflict"
