"""The InternshipPosition aggregate: positions for returning students, placements, completion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts.registry import DomainEvent
from contracts.talent import (
    InternPlaced,
    InternPlacementWithdrawn,
    InternshipPositionCompleted,
    InternshipPositionPublished,
    InternshipSeason,
)
from services.kernel.aggregate import Aggregate
from services.kernel.errors import Conflict, DomainRuleViolation, NotFound
from services.talent.domain.common import child_id, not_before, not_in_future

__all__ = ["InternshipPosition"]


@dataclass
class _Placement:
    student: tuple[str, str]
    placed_on: date
    withdrawn_on: date | None = None


class InternshipPosition(Aggregate):
    stream_type = "internship"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.host_unit = ""
        self.slots = 0
        self.starts_on: date | None = None
        self.ends_on: date | None = None
        self.published_on: date | None = None
        self.completed_on: date | None = None
        self.placements: dict[str, _Placement] = {}

    @property
    def placed(self) -> int:
        return sum(1 for p in self.placements.values() if p.withdrawn_on is None)

    def apply(self, event: DomainEvent) -> None:
        match event:
            case InternshipPositionPublished():
                self.host_unit, self.slots = event.host_unit, event.slots
                self.starts_on, self.ends_on = event.starts_on, event.ends_on
                self.published_on = event.effective_on
            case InternPlaced():
                self.placements[event.placement_id] = _Placement(
                    (event.student_name, event.school), event.effective_on)
            case InternPlacementWithdrawn():
                self.placements[event.placement_id].withdrawn_on = event.effective_on
            case InternshipPositionCompleted():
                self.completed_on = event.effective_on

    def publish(self, *, host_unit: str, post: str, slots: int, season: InternshipSeason,
                starts_on: date, ends_on: date, published_on: date, today: date) -> None:
        if self.exists:
            raise Conflict(f"internship position {self.id} is already published")
        if slots < 1:
            raise DomainRuleViolation("a position offers at least one slot", pointer="#/slots",
                                      code="slots")
        if ends_on <= starts_on:
            raise DomainRuleViolation(
                f"the internship must end after it starts ({starts_on}), not on {ends_on}",
                pointer="#/ends_on", code="date_order")
        if published_on > ends_on:
            raise DomainRuleViolation(
                f"positions cannot be published ({published_on}) after the internship ends "
                f"({ends_on})", pointer="#/published_on", code="date_order")
        not_in_future(published_on, today, "#/published_on", "the publication date")
        self._record(InternshipPositionPublished(
            position_id=self.id, host_unit=host_unit, post=post, slots=slots, season=season,
            starts_on=starts_on, ends_on=ends_on, effective_on=published_on))

    def _open(self) -> tuple[date, date, date]:
        if self.published_on is None or self.starts_on is None or self.ends_on is None:
            raise NotFound(f"internship position {self.id} is not published")
        if self.completed_on is not None:
            raise DomainRuleViolation(
                f"the internship at {self.host_unit} was completed on {self.completed_on}",
                pointer="#", code="position_completed")
        return self.published_on, self.starts_on, self.ends_on

    def place(self, *, student_name: str, school: str, major: str | None, placed_on: date,
              today: date) -> str:
        published_on, _, ends_on = self._open()
        if self.placed >= self.slots:
            raise DomainRuleViolation(
                f"all {self.slots} slots at {self.host_unit} are taken", pointer="#",
                code="no_slot")
        student = (student_name, school)
        if any(p.student == student and p.withdrawn_on is None for p in self.placements.values()):
            raise Conflict(f"{student_name} ({school}) is already placed in this position")
        not_before(placed_on, published_on, "#/placed_on", "the placement", "publication")
        if placed_on > ends_on:
            raise DomainRuleViolation(
                f"the internship ended on {ends_on}; no placement on {placed_on}",
                pointer="#/placed_on", code="date_order")
        not_in_future(placed_on, today, "#/placed_on", "the placement date")
        placement_id = child_id(self.stream_id, self.version + 1)
        self._record(InternPlaced(position_id=self.id, placement_id=placement_id,
                                  student_name=student_name, school=school, major=major,
                                  effective_on=placed_on))
        return placement_id

    def withdraw(self, placement_id: str, *, withdrawn_on: date, reason: str | None,
                 today: date) -> None:
        self._open()
        placement = self.placements.get(placement_id)
        if placement is None:
            raise NotFound(f"no placement {placement_id} in this position")
        if placement.withdrawn_on is not None:
            raise Conflict(f"placement {placement_id} was already withdrawn on "
                           f"{placement.withdrawn_on}")
        not_before(withdrawn_on, placement.placed_on, "#/withdrawn_on", "the withdrawal",
                   "the placement")
        not_in_future(withdrawn_on, today, "#/withdrawn_on", "the withdrawal date")
        self._record(InternPlacementWithdrawn(position_id=self.id, placement_id=placement_id,
                                              reason=reason, effective_on=withdrawn_on))

    def complete(self, *, completed_on: date, today: date) -> None:
        if self.completed_on is not None:
            raise Conflict(f"the internship was already completed on {self.completed_on}")
        _, starts_on, _ = self._open()
        not_before(completed_on, starts_on, "#/completed_on", "completion", "the start")
        latest = max((p.placed_on for p in self.placements.values()), default=starts_on)
        not_before(completed_on, latest, "#/completed_on", "completion", "the last placement")
        not_in_future(completed_on, today, "#/completed_on", "the completion date")
        self._record(InternshipPositionCompleted(
            position_id=self.id, completed_placements=self.placed, effective_on=completed_on))
