"""The Trainee aggregate: one per cadre, the off-the-job periods the cadre is committed to.

It is the consistency boundary of "one cadre cannot be in two overlapping off-the-job
classes": enrolment appends to the class and to this stream atomically, so two concurrent
enrolments of the same cadre cannot both pass the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from contracts.registry import DomainEvent
from contracts.training import TrainingPeriodReleased, TrainingPeriodReserved
from services.kernel.aggregate import Aggregate
from services.kernel.errors import DomainRuleViolation

__all__ = ["TraineeSchedule"]


@dataclass(frozen=True)
class _Period:
    class_name: str
    starts_on: date
    ends_on: date


class TraineeSchedule(Aggregate):
    stream_type = "trainee"

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.periods: dict[str, _Period] = {}

    def apply(self, event: DomainEvent) -> None:
        match event:
            case TrainingPeriodReserved():
                self.periods[event.class_id] = _Period(event.class_name, event.starts_on,
                                                       event.ends_on)
            case TrainingPeriodReleased():
                self.periods.pop(event.class_id, None)

    def reserve(self, class_id: str, class_name: str, starts_on: date, ends_on: date) -> None:
        for other_id, period in self.periods.items():
            if other_id != class_id and period.starts_on <= ends_on \
                    and starts_on <= period.ends_on:
                raise DomainRuleViolation(
                    f"cadre {self.id} is already in the off-the-job class {period.class_name} "
                    f"({period.starts_on} to {period.ends_on}), which overlaps "
                    f"{starts_on} to {ends_on}", pointer="#/cadre_id", code="overlapping_class")
        self._record(TrainingPeriodReserved(cadre_id=self.id, class_id=class_id,
                                            class_name=class_name, starts_on=starts_on,
                                            ends_on=ends_on))

    def release(self, class_id: str, reason: Literal["withdrawn", "class_cancelled"]) -> None:
        if class_id in self.periods:
            self._record(TrainingPeriodReleased(cadre_id=self.id, class_id=class_id,
                                                reason=reason))
