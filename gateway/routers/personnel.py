"""Personnel routes: commands forwarded to the personnel service, queries from read models."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from contracts.api.personnel import (
    AdjustEstablishment,
    CommandAccepted,
    RecruitCadre,
    RegisterUnit,
)
from gateway.context import ContextDep
from gateway.queries import CadreView, Page, UnitView
from services.kernel.auth import Permission, Principal
from services.kernel.http import PROBLEM_JSON
from services.kernel.service_app import IdempotencyKey, IfMatch, require

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["personnel"])
Reader = Annotated[Principal, Depends(require(Permission.PERSONNEL_READ))]
Writer = Annotated[Principal, Depends(require(Permission.PERSONNEL_WRITE))]
ConsistencyTokenHeader = Annotated[str | None, Header(
    alias="X-Consistency-Token",
    description="Token from a command's answer: wait until the read model includes it.")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]
PROJECTION = "personnel"

_PROBLEMS = {code: {"content": {PROBLEM_JSON: {}}, "description": text} for code, text in {
    401: "Missing or invalid token", 403: "Role lacks the permission",
    404: "Unknown resource", 409: "Conflict (concurrent change or duplicate)",
    412: "If-Match is stale", 422: "Invalid input or business rule violated"}.items()}


async def _forward(ctx, request: Request) -> Response:
    return await ctx.services["personnel"].forward(request)


@router.post("/personnel/units", status_code=201, response_model=CommandAccepted,
             responses=_PROBLEMS, operation_id="registerUnit")
async def register_unit(body: RegisterUnit, request: Request, principal: Writer,
                        ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@router.post("/personnel/units/{unit_id}/establishment-adjustments", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS,
             operation_id="adjustEstablishment")
async def adjust_establishment(unit_id: str, body: AdjustEstablishment, request: Request,
                               principal: Writer, ctx: ContextDep,
                               idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    return await _forward(ctx, request)


@router.post("/personnel/cadres", status_code=201, response_model=CommandAccepted,
             responses=_PROBLEMS, operation_id="recruitCadre")
async def recruit_cadre(body: RecruitCadre, request: Request, principal: Writer,
                        ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


def _consistency_header(response: Response, state: str | None) -> None:
    if state:
        response.headers["X-Consistency"] = state


def _etag(response: Response, version: int, if_none_match: str | None) -> Response | None:
    etag = f'"{version}"'
    response.headers["ETag"] = etag
    if if_none_match and etag in [t.strip().removeprefix("W/") for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=dict(response.headers))
    return None


@router.get("/cadres/{cadre_id}", response_model=CadreView, responses=_PROBLEMS,
            operation_id="getCadre")
async def get_cadre(cadre_id: str, response: Response, principal: Reader, ctx: ContextDep,
                    consistency_token: ConsistencyTokenHeader = None,
                    if_none_match: IfNoneMatch = None):
    _consistency_header(response, await ctx.consistency.wait(PROJECTION, consistency_token))
    cadre = await ctx.personnel.cadre(
        cadre_id, reveal=principal.has(Permission.PERSONAL_DATA_READ))
    return _etag(response, cadre.version, if_none_match) or cadre


@router.get("/cadres", response_model=Page, responses=_PROBLEMS, operation_id="listCadres")
async def list_cadres(
    response: Response, principal: Reader, ctx: ContextDep,
    unit_id: Annotated[str | None, Query(description="Only cadres of this unit.")] = None,
    q: Annotated[str | None, Query(max_length=100, description="Text in the name.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    consistency_token: ConsistencyTokenHeader = None,
):
    _consistency_header(response, await ctx.consistency.wait(PROJECTION, consistency_token))
    return await ctx.personnel.cadres(unit_id=unit_id, q=q, limit=limit, cursor=cursor,
                                      reveal=principal.has(Permission.PERSONAL_DATA_READ))


@router.get("/units/{unit_id}", response_model=UnitView, responses=_PROBLEMS,
            operation_id="getUnit")
async def get_unit(unit_id: str, response: Response, principal: Reader, ctx: ContextDep,
                   consistency_token: ConsistencyTokenHeader = None,
                   if_none_match: IfNoneMatch = None):
    _consistency_header(response, await ctx.consistency.wait(PROJECTION, consistency_token))
    unit = await ctx.personnel.unit(unit_id)
    return _etag(response, unit.version, if_none_match) or unit
