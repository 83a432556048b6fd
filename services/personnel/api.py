"""HTTP API of the personnel service: commands only (queries are the gateway's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from contracts.api.personnel import (
    AdjustEstablishment,
    CommandAccepted,
    RecruitCadre,
    RegisterUnit,
)
from services.kernel.auth import Permission, Principal
from services.kernel.service_app import (
    IdempotencyKey,
    IfMatch,
    accepted,
    command_metadata,
    parse_if_match,
    require,
    run_command,
)
from services.personnel import handlers
from services.personnel.handlers import PersonnelDeps

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/personnel", tags=["personnel"])
Writer = Annotated[Principal, Depends(require(Permission.PERSONNEL_WRITE))]
SERVICE = "personnel"


def deps(request: Request) -> PersonnelDeps:
    return request.app.state.personnel


Deps = Annotated[PersonnelDeps, Depends(deps)]


@router.post("/units", status_code=201, response_model=CommandAccepted,
             operation_id="personnel_register_unit")
async def register_unit(body: RegisterUnit, request: Request, response: Response,
                        principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key)
    outcome = await run_command(request, SERVICE, "register_unit",
                                lambda: handlers.register_unit(body, meta, d))
    return accepted(outcome, response, f"/api/v1/units/{outcome.id}")


@router.post("/units/{unit_id}/establishment-adjustments", status_code=201,
             response_model=CommandAccepted, operation_id="personnel_adjust_establishment")
async def adjust_establishment(unit_id: str, body: AdjustEstablishment, request: Request,
                               response: Response, principal: Writer, d: Deps,
                               idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    expected = parse_if_match(if_match)
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"unit_id": unit_id})
    outcome = await run_command(
        request, SERVICE, "adjust_establishment",
        lambda: handlers.adjust_establishment(unit_id, body, meta, d, if_match=expected))
    return accepted(outcome, response, f"/api/v1/units/{outcome.id}")


@router.post("/cadres", status_code=201, response_model=CommandAccepted,
             operation_id="personnel_recruit_cadre")
async def recruit_cadre(body: RecruitCadre, request: Request, response: Response,
                        principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key)
    outcome = await run_command(request, SERVICE, "recruit_cadre",
                                lambda: handlers.recruit_cadre(body, meta, d))
    return accepted(outcome, response, f"/api/v1/cadres/{outcome.id}")
