"""The MassEvent aggregate: a mass education event counted by head-count."""

from __future__ import annotations

from datetime import date

from contracts.registry import DomainEvent
from contracts.training import ClassMode, MassEventHeadCountRevised, MassEventHeld, MassEventKind
from services.kernel.aggregate import Aggregate
from services.kernel.errors import Conflict, DomainRuleViolation

__all__ = ["MassEvent"]


class MassEvent(Aggregate):
    stream_type = "mass_event"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.head_count = 0

    def apply(self, event: DomainEvent) -> None:
        match event:
            case MassEventHeld() | MassEventHeadCountRevised():
                self.head_count = event.head_count

    def record(self, *, title: str, kind: MassEventKind, mode: ClassMode, head_count: int,
               organizer: str | None, effective_on: date, today: date) -> None:
        if self.exists:
            raise Conflict(f"mass event {self.id} already exists")
        if effective_on > today:
            raise DomainRuleViolation(
                f"a mass event is recorded once held; {effective_on} is in the future",
                pointer="#/effective_on", code="future_date")
        self._record(MassEventHeld(mass_event_id=self.id, title=title, kind=kind, mode=mode,
                                   head_count=head_count, organizer=organizer,
                                   effective_on=effective_on))

    def revise_head_count(self, head_count: int, reason: str) -> None:
        if head_count == self.head_count:
            raise DomainRuleViolation(f"the head-count is already {head_count}",
                                      pointer="#/head_count", code="unchanged")
        self._record(MassEventHeadCountRevised(mass_event_id=self.id, head_count=head_count,
                                               previous=self.head_count, reason=reason))
