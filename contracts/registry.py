"""Registry from explicit, versioned wire type strings to the pydantic models of event data.

Type strings are never derived from Python module paths: renaming a class must not change
what is on the wire. Older versions stay registered and are upcast on read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["DomainEvent", "EventRegistry", "EventSpec", "UnknownEventType", "registry"]


class UnknownEventType(LookupError):
    """The wire type string is not registered."""


class DomainEvent(BaseModel):
    """Base of every event payload. Subclasses set ``event_type`` and ``schema_version``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    stream_kind: ClassVar[str]

    @classmethod
    def wire_type(cls) -> str:
        return f"{cls.event_type}.v{cls.schema_version}"

    def business_date(self) -> str | None:
        """Business effective date (ISO) of the event, when it carries an ``effective_on``."""
        value = getattr(self, "effective_on", None)
        return value.isoformat() if value is not None else None


E = TypeVar("E", bound=type[DomainEvent])


@dataclass(frozen=True)
class EventSpec:
    wire_type: str
    model: type[DomainEvent]
    upcast: Callable[[dict[str, Any]], dict[str, Any]] | None = None


class EventRegistry:
    """Maps `<event_type>.v<n>` strings to models; resolves old versions via upcasters."""

    def __init__(self) -> None:
        self._specs: dict[str, EventSpec] = {}

    def register(self, model: E) -> E:
        wire = model.wire_type()
        if wire in self._specs:
            raise ValueError(f"event type {wire} registered twice")
        self._specs[wire] = EventSpec(wire, model)
        return model

    def register_upcaster(
        self, wire_type: str, target: type[DomainEvent], upcast: Callable[[dict], dict]
    ) -> None:
        """Declare that an old ``wire_type`` is read as ``target`` after ``upcast``."""
        self._specs[wire_type] = EventSpec(wire_type, target, upcast)

    def spec(self, wire_type: str) -> EventSpec:
        try:
            return self._specs[wire_type]
        except KeyError:
            raise UnknownEventType(wire_type) from None

    def decode(self, wire_type: str, data: dict[str, Any]) -> DomainEvent:
        spec = self.spec(wire_type)
        if spec.upcast is not None:
            data = spec.upcast(data)
        return spec.model.model_validate(data)

    def models(self) -> list[type[DomainEvent]]:
        return sorted(
            {s.model for s in self._specs.values() if s.upcast is None},
            key=lambda m: m.wire_type(),
        )

    def __contains__(self, wire_type: str) -> bool:
        return wire_type in self._specs


registry = EventRegistry()
