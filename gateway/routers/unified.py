"""Unified queries: the cadre 360 and the township overview."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from gateway.context import ContextDep
from gateway.queries_unified import Cadre360, TownshipOverview, UnifiedQueries
from gateway.routers.governance import scope_of
from services.kernel.auth import Permission, Principal
from services.kernel.errors import ZugongError
from services.kernel.http import PROBLEM_JSON
from services.kernel.service_app import require

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["unified"])
PersonnelReader = Annotated[Principal, Depends(require(Permission.PERSONNEL_READ))]
GovernanceReader = Annotated[Principal, Depends(require(Permission.GOVERNANCE_READ))]
ConsistencyTokenHeader = Annotated[str | None, Header(
    alias="X-Consistency-Token",
    description="Token from a command's answer: every part waits until it includes it.")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]

_PROBLEMS = {code: {"content": {PROBLEM_JSON: {}}, "description": text} for code, text in {
    401: "Missing or invalid token", 403: "Role lacks the permission, or another township",
    404: "Unknown resource (or another township's)", 422: "Invalid input"}.items()}


class BadPeriod(ZugongError):
    status, title, type_slug = 422, "Invalid period", "bad-period"


def _etag(response: Response, view, if_none_match: str | None) -> Response:
    """A content hash: a composite view has no single version to use. The view is serialised
    once, for the hash and the body (the response model documents it)."""
    body = view.model_dump_json().encode()
    etag = 'W/"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    response.headers["ETag"] = etag
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=dict(response.headers))
    return Response(body, media_type="application/json", headers=dict(response.headers))


def _consistency(response: Response, state: str | None) -> None:
    if state:
        response.headers["X-Consistency"] = state


@router.get("/cadres/{cadre_id}/360", response_model=Cadre360, responses=_PROBLEMS,
            operation_id="getCadre360")
async def get_cadre_360(
    cadre_id: Annotated[str, Path(max_length=100)], response: Response,
    principal: PersonnelReader, ctx: ContextDep,
    year: Annotated[int | None, Query(ge=1950, le=2200, description="Last year of the training "
                                      "figures; default this year.")] = None,
    level: Annotated[Literal["section", "county"] | None, Query(
        description="Training requirement level; default the configured default.")] = None,
    consistency_token: ConsistencyTokenHeader = None, if_none_match: IfNoneMatch = None,
):
    """One cadre across services: the personnel record and dated history, credit hours per year
    against the requirement, the reserve status and talent roles. Parts the role may not read
    are null and listed in `omitted`."""
    unified = UnifiedQueries(ctx)
    _consistency(response, await unified.fresh(consistency_token,
                                               ["personnel", "training", "talent"]))
    view = await unified.cadre_360(
        cadre_id, reveal=principal.has(Permission.PERSONAL_DATA_READ),
        training=principal.has(Permission.TRAINING_READ),
        talent=principal.has(Permission.TALENT_READ), year=year or date.today().year,
        level=level)
    return _etag(response, view, if_none_match)


@router.get("/townships/{township_id}/overview", response_model=TownshipOverview,
            responses=_PROBLEMS, operation_id="getTownshipOverview")
async def get_township_overview(
    township_id: Annotated[str, Path(max_length=40)], response: Response,
    principal: GovernanceReader, ctx: ContextDep,
    period_from: Annotated[date | None, Query(alias="from", description="First day of the "
                                              "complaint and compound period.")] = None,
    period_to: Annotated[date | None, Query(alias="to", description="Last day.")] = None,
    consistency_token: ConsistencyTokenHeader = None, if_none_match: IfNoneMatch = None,
):
    """One township: villages, rectification cases, the village-leader reserve pipeline,
    compounds with service-station and monitoring coverage, and complaint KPIs. A township
    operator sees only its own township (another one is 404)."""
    if period_from and period_to and period_to < period_from:
        raise BadPeriod("`to` precedes `from`",
                        errors=[{"pointer": "query:to", "detail": "before from"}])
    scope = scope_of(principal)
    unified = UnifiedQueries(ctx)
    _consistency(response, await unified.fresh(consistency_token, ["governance"]))
    view = await unified.township_overview(township_id, scope, period_from=period_from,
                                           period_to=period_to)
    return _etag(response, view, if_none_match)
