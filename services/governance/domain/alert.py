"""Property alerts of a compound's monitoring: raised → acknowledged → dispatched → resolved,
or a false alarm once someone has looked; each level has its acknowledge and resolve clocks."""

from __future__ import annotations

from datetime import datetime

from contracts.governance import (
    PropertyAlertAcknowledged,
    PropertyAlertDispatched,
    PropertyAlertFalseAlarm,
    PropertyAlertRaised,
    PropertyAlertResolved,
    SlaPolicy,
)
from contracts.registry import DomainEvent
from services.governance.domain.common import StatefulAggregate, check_instant
from services.governance.domain.geography import Compound
from services.governance.domain.sla import add_duration, alert_rule
from services.kernel.errors import Conflict, DomainRuleViolation

__all__ = ["PropertyAlert"]


class PropertyAlert(StatefulAggregate):
    stream_type = "property_alert"
    what = "alert"
    TRANSITIONS = {
        "acknowledge": frozenset({"raised"}),
        "dispatch": frozenset({"acknowledged"}),
        "resolve": frozenset({"dispatched"}),
        "mark_false_alarm": frozenset({"acknowledged", "dispatched"}),
    }

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.compound_id = ""
        self.last_at: datetime | None = None
        self.acknowledge_due: datetime | None = None
        self.resolve_due: datetime | None = None

    def apply(self, event: DomainEvent) -> None:
        self.last_at = event.at
        match event:
            case PropertyAlertRaised():
                self.state, self.township_id = "raised", event.township_id
                self.compound_id = event.compound_id
                self.acknowledge_due, self.resolve_due = event.acknowledge_due, event.resolve_due
            case PropertyAlertAcknowledged():
                self.state = "acknowledged"
            case PropertyAlertDispatched():
                self.state = "dispatched"
            case PropertyAlertResolved():
                self.state = "resolved"
            case PropertyAlertFalseAlarm():
                self.state = "false_alarm"

    def _common(self, at: datetime, now: datetime) -> dict:
        at = check_instant(at, now, after=self.last_at, after_what="the alert's previous step")
        return {"alert_id": self.id, "compound_id": self.compound_id,
                "township_id": self.township_id, "at": at}

    def raise_(self, compound: Compound, type_: str, level: str, device: str | None,
               policy: SlaPolicy, at: datetime, now: datetime) -> None:
        if self.exists:
            raise Conflict(f"alert {self.id} already exists")
        if compound.monitoring != "connected":
            raise DomainRuleViolation(
                f"compound {compound.name} is not connected to the monitoring platform",
                pointer="#/compound_id", code="not_connected")
        self.compound_id, self.township_id = compound.id, compound.township_id
        common = self._common(at, now)
        rule = alert_rule(policy, level)
        self._record(PropertyAlertRaised(
            **common, type=type_, level=level, device=device,
            acknowledge_due=add_duration(common["at"], rule.acknowledge, policy.calendar),
            resolve_due=add_duration(common["at"], rule.resolve, policy.calendar)))

    def acknowledge(self, at: datetime, now: datetime) -> None:
        self._allow("acknowledge")
        common = self._common(at, now)
        self._record(PropertyAlertAcknowledged(**common,
                                               on_time=common["at"] <= self.acknowledge_due))

    def dispatch(self, assignee_kind: str, assignee: str, at: datetime, now: datetime) -> None:
        self._allow("dispatch")
        self._record(PropertyAlertDispatched(**self._common(at, now), assignee_kind=assignee_kind,
                                             assignee=assignee))

    def resolve(self, note: str | None, at: datetime, now: datetime) -> None:
        self._allow("resolve")
        common = self._common(at, now)
        self._record(PropertyAlertResolved(**common, on_time=common["at"] <= self.resolve_due,
                                           note=note))

    def mark_false_alarm(self, note: str | None, at: datetime, now: datetime) -> None:
        self._allow("mark_false_alarm")
        self._record(PropertyAlertFalseAlarm(**self._common(at, now), note=note))
