"""The gateway's process context, built by a runtime (embedded or distributed) in its lifespan."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.consistency import ConsistencyWaiter
from gateway.forwarding import ServiceClient
from gateway.queries import PersonnelQueries
from gateway.queries_audit import AuditQueries
from gateway.queries_dashboard import DashboardQueries
from gateway.queries_governance import GovernanceQueries
from gateway.queries_personnel import PersonnelReports
from gateway.queries_talent import TalentQueries
from gateway.queries_training import TrainingQueries
from services.kernel.auth import TokenVerifier
from services.kernel.metrics import Metrics
from services.kernel.personal_data import PersonalDataVault
from services.kernel.settings import Settings

__all__ = ["Check", "ContextDep", "GatewayContext"]

Check = Callable[[], Awaitable[tuple[bool, str]]]


@dataclass
class GatewayContext:
    settings: Settings
    metrics: Metrics
    read_engine: AsyncEngine
    verifier: TokenVerifier
    vault: PersonalDataVault
    services: dict[str, ServiceClient]
    readiness: dict[str, Check] = field(default_factory=dict)
    stores: dict[str, Any] = field(default_factory=dict)
    """The services' event stores, when they run in this process (embedded)."""
    query_engine: Any = None
    """What the queries and consistency waits read through (``gateway.queries_engine``); the
    read engine when None. Readiness checks use the read engine."""

    def __post_init__(self) -> None:
        engine = self.query_engine = self.query_engine or self.read_engine
        self.personnel = PersonnelQueries(engine, self.vault.open)
        self.talent = TalentQueries(engine, self.vault.open)
        self.training = TrainingQueries(engine, self.settings.gateway.training_requirements)
        self.personnel_reports = PersonnelReports(engine, self.settings.personnel)
        self.governance = GovernanceQueries(engine, self.vault.open)
        self.audit = AuditQueries(engine)
        self.consistency = ConsistencyWaiter(engine, self.metrics,
                                             self.settings.gateway.consistency_timeout)
        self.dashboard = DashboardQueries(engine, self.personnel_reports, self.training,
                                          self.talent, self.governance)


async def _context(request: Request) -> GatewayContext:  # async: no thread-pool hop
    return request.app.state.context


ContextDep = Annotated[GatewayContext, Depends(_context)]
