"""The county's SLA policy: one stream, the whole policy set at once."""

from __future__ import annotations

from datetime import datetime

from contracts.governance import DEFAULT_SLA_POLICY, SlaPolicy, SlaPolicySet
from contracts.registry import DomainEvent
from services.governance.domain.common import check_instant
from services.governance.domain.sla import validate_policy
from services.kernel.aggregate import Aggregate

__all__ = ["POLICY_ID", "SlaPolicyRecord"]

POLICY_ID = "county"


class SlaPolicyRecord(Aggregate):
    stream_type = "sla_policy"
    township_id = None

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.policy: SlaPolicy | None = None

    @property
    def current(self) -> SlaPolicy:
        return self.policy or DEFAULT_SLA_POLICY

    def apply(self, event: DomainEvent) -> None:
        if isinstance(event, SlaPolicySet):
            self.policy = event.policy

    def set(self, policy: SlaPolicy, at: datetime, now: datetime) -> None:
        validate_policy(policy)
        self._record(SlaPolicySet(policy_id=self.id, policy=policy, at=check_instant(at, now)))
