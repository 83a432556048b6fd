"""Aggregate base and repository: load by replaying a stream, save the pending events."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Generic, TypeVar

from contracts.registry import DomainEvent, EventRegistry
from services.kernel.errors import NotFound
from services.kernel.eventstore import EventStore, StreamWrite

__all__ = ["Aggregate", "Repository"]


class Aggregate:
    """An aggregate changes state only by recording events, which ``apply`` folds in."""

    stream_type: ClassVar[str]

    def __init__(self, aggregate_id: str) -> None:
        self.id = aggregate_id
        self.version = 0
        self.loaded_version = 0
        self.pending: list[DomainEvent] = []

    @classmethod
    def stream_id_for(cls, aggregate_id: str) -> str:
        return f"{cls.stream_type}-{aggregate_id}"

    @property
    def stream_id(self) -> str:
        return self.stream_id_for(self.id)

    @property
    def exists(self) -> bool:
        return self.version > 0

    def apply(self, event: DomainEvent) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _record(self, event: DomainEvent) -> None:
        self.apply(event)
        self.version += 1
        self.pending.append(event)

    def to_write(self) -> StreamWrite:
        return StreamWrite(self.stream_id, self.stream_type, self.loaded_version, list(self.pending))


A = TypeVar("A", bound=Aggregate)


class Repository(Generic[A]):
    """Loads aggregates of one type from an event store."""

    def __init__(
        self, store: EventStore, factory: Callable[[str], A], events: EventRegistry
    ) -> None:
        self._store = store
        self._factory = factory
        self._events = events

    def new(self, aggregate_id: str) -> A:
        """An aggregate with no history, for an id just made up (a random UUID): what ``load``
        would return without reading the stream that cannot exist. Were it to exist, the append
        would still fail on the stream's version."""
        return self._factory(aggregate_id)

    async def load(self, aggregate_id: str) -> A:
        aggregate = self._factory(aggregate_id)
        for recorded in await self._store.read_stream(aggregate.stream_id):
            aggregate.apply(self._events.decode(recorded.type, recorded.data))
            aggregate.version = recorded.version
        aggregate.loaded_version = aggregate.version
        return aggregate

    async def get(self, aggregate_id: str, *, what: str | None = None) -> A:
        aggregate = await self.load(aggregate_id)
        if not aggregate.exists:
            label = what or aggregate.stream_type
            raise NotFound(f"{label} {aggregate_id} does not exist")
        return aggregate
