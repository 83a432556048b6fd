"""The city dashboard: the article's figures for a period."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from gateway.context import ContextDep
from gateway.queries_dashboard import Dashboard
from gateway.queries_unified import UnifiedQueries
from gateway.routers.personnel import _PROBLEMS, BadPeriod
from services.kernel.auth import Forbidden, Permission, Principal
from services.kernel.service_app import require

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["dashboard"])
Reader = Annotated[Principal, Depends(require(Permission.DASHBOARD_READ))]
ConsistencyTokenHeader = Annotated[str | None, Header(
    alias="X-Consistency-Token",
    description="Token from a command's answer: the figures wait until they include it.")]
PARTS = ["personnel", "training", "talent", "governance"]


@router.get("/dashboard", response_model=Dashboard, responses=_PROBLEMS,
            operation_id="getCityDashboard", response_model_by_alias=True)
async def get_dashboard(
    principal: Reader, ctx: ContextDep,
    date_from: Annotated[date, Query(alias="from", description="First effective date.")],
    date_to: Annotated[date, Query(alias="to", description="Last effective date.")],
    consistency_token: ConsistencyTokenHeader = None,
):
    """The article's figures for the period, city-wide: each with a stable key, its value, its
    unit and how it is computed. City-wide figures include every township, so a token scoped to
    one township is refused (403) rather than shown other townships' data."""
    if principal.township is not None:
        raise Forbidden("the city dashboard covers every township; a township-scoped token may "
                        "not read it (use the township queries)")
    if date_to < date_from:
        raise BadPeriod("`to` precedes `from`",
                        errors=[{"pointer": "query:to", "detail": "before from"}])
    state = await UnifiedQueries(ctx).fresh(consistency_token, PARTS)
    # pre-serialised (and cached while the read models do not change); the response model
    # above documents it
    response = Response(await ctx.dashboard.dashboard_json(date_from, date_to),
                        media_type="application/json")
    if state:
        response.headers["X-Consistency"] = state
    return response
