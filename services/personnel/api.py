"""HTTP API of the personnel service: commands only (queries are the gateway's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from contracts.api.personnel import (
    AdjustEstablishment,
    AppointToPost,
    ApproveLeadershipPosts,
    ApproveRankQuotas,
    CommandAccepted,
    ConvertPostToRank,
    Depart,
    EnterReserve,
    Exchange,
    ExitReserve,
    PromoteRank,
    RecordEducation,
    RecruitCadre,
    RegisterUnit,
    ReviewReserveEntry,
)
from services.kernel.auth import Permission, Principal
from services.kernel.service_app import (
    DirectCommandRoute,
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

router = APIRouter(prefix="/api/v1/personnel", tags=["personnel"], route_class=DirectCommandRoute)
Writer = Annotated[Principal, Depends(require(Permission.PERSONNEL_WRITE))]
SERVICE = "personnel"


def _deps(request: Request) -> PersonnelDeps:
    # Not a FastAPI dependency: each one costs a resolution per request.
    return request.app.state.personnel


@router.post("/units", status_code=201, response_model=CommandAccepted,
             operation_id="personnel_register_unit")
async def register_unit(body: RegisterUnit, request: Request, response: Response,
                        principal: Writer, idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key)
    outcome = await run_command(request, SERVICE, "register_unit",
                                lambda: handlers.register_unit(body, meta, _deps(request)))
    return accepted(outcome, response, f"/api/v1/units/{outcome.id}")


@router.post("/units/{unit_id}/establishment-adjustments", status_code=201,
             response_model=CommandAccepted, operation_id="personnel_adjust_establishment")
async def adjust_establishment(unit_id: str, body: AdjustEstablishment, request: Request,
                               response: Response, principal: Writer,
                               idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    expected = parse_if_match(if_match)
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"unit_id": unit_id})
    outcome = await run_command(
        request, SERVICE, "adjust_establishment",
        lambda: handlers.adjust_establishment(unit_id, body, meta, _deps(request), if_match=expected))
    return accepted(outcome, response, f"/api/v1/units/{outcome.id}")


@router.post("/cadres", status_code=201, response_model=CommandAccepted,
             operation_id="personnel_recruit_cadre")
async def recruit_cadre(body: RecruitCadre, request: Request, response: Response,
                        principal: Writer, idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key)
    outcome = await run_command(request, SERVICE, "recruit_cadre",
                                lambda: handlers.recruit_cadre(body, meta, _deps(request)))
    return accepted(outcome, response, f"/api/v1/cadres/{outcome.id}")


@router.post("/units/{unit_id}/leadership-posts", status_code=201, response_model=CommandAccepted,
             operation_id="personnel_approve_leadership_posts")
async def approve_leadership_posts(unit_id: str, body: ApproveLeadershipPosts, request: Request,
                                   response: Response, principal: Writer,
                                   idempotency_key: IdempotencyKey = None,
                                   if_match: IfMatch = None):
    expected = parse_if_match(if_match)
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"unit_id": unit_id})
    outcome = await run_command(
        request, SERVICE, "approve_leadership_posts",
        lambda: handlers.approve_leadership_posts(unit_id, body, meta, _deps(request), if_match=expected))
    return accepted(outcome, response, f"/api/v1/units/{outcome.id}")


@router.post("/units/{unit_id}/rank-quotas", status_code=201, response_model=CommandAccepted,
             operation_id="personnel_approve_rank_quotas")
async def approve_rank_quotas(unit_id: str, body: ApproveRankQuotas, request: Request,
                              response: Response, principal: Writer,
                              idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    expected = parse_if_match(if_match)
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"unit_id": unit_id})
    outcome = await run_command(
        request, SERVICE, "approve_rank_quotas",
        lambda: handlers.approve_rank_quotas(unit_id, body, meta, _deps(request), if_match=expected))
    return accepted(outcome, response, f"/api/v1/units/{outcome.id}")


async def _cadre_command(request: Request, response: Response, principal: Principal,
                         cadre_id: str, body, command: str, handler, idempotency_key: str | None,
                         if_match: str | None) -> dict:
    expected = parse_if_match(if_match)
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"cadre_id": cadre_id})
    outcome = await run_command(request, SERVICE, command, lambda: handler(
        cadre_id, body, meta, request.app.state.personnel, if_match=expected))
    return accepted(outcome, response, f"/api/v1/cadres/{outcome.id}")


@router.post("/cadres/{cadre_id}/education", status_code=201, response_model=CommandAccepted,
             operation_id="personnel_record_education")
async def record_education(cadre_id: str, body: RecordEducation, request: Request,
                           response: Response, principal: Writer,
                           idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    return await _cadre_command(request, response, principal, cadre_id, body, "record_education",
                                handlers.record_education, idempotency_key, if_match)


@router.post("/cadres/{cadre_id}/rank-promotions", status_code=201, response_model=CommandAccepted,
             operation_id="personnel_promote_rank")
async def promote_rank(cadre_id: str, body: PromoteRank, request: Request, response: Response,
                       principal: Writer, idempotency_key: IdempotencyKey = None,
                       if_match: IfMatch = None):
    return await _cadre_command(request, response, principal, cadre_id, body, "promote_rank",
                                handlers.promote_rank, idempotency_key, if_match)


@router.post("/cadres/{cadre_id}/appointments", status_code=201, response_model=CommandAccepted,
             operation_id="personnel_appoint")
async def appoint(cadre_id: str, body: AppointToPost, request: Request, response: Response,
                  principal: Writer, idempotency_key: IdempotencyKey = None,
                  if_match: IfMatch = None):
    return await _cadre_command(request, response, principal, cadre_id, body, "appoint",
                                handlers.appoint, idempotency_key, if_match)


@router.post("/cadres/{cadre_id}/post-to-rank-conversions", status_code=201,
             response_model=CommandAccepted, operation_id="personnel_convert_post_to_rank")
async def convert_post_to_rank(cadre_id: str, body: ConvertPostToRank, request: Request,
                               response: Response, principal: Writer,
                               idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    return await _cadre_command(request, response, principal, cadre_id, body,
                                "convert_post_to_rank", handlers.convert_post_to_rank,
                                idempotency_key, if_match)


@router.post("/cadres/{cadre_id}/exchanges", status_code=201, response_model=CommandAccepted,
             operation_id="personnel_exchange")
async def exchange(cadre_id: str, body: Exchange, request: Request, response: Response,
                   principal: Writer, idempotency_key: IdempotencyKey = None,
                   if_match: IfMatch = None):
    return await _cadre_command(request, response, principal, cadre_id, body, "exchange",
                                handlers.exchange, idempotency_key, if_match)


@router.post("/cadres/{cadre_id}/departures", status_code=201, response_model=CommandAccepted,
             operation_id="personnel_depart")
async def depart(cadre_id: str, body: Depart, request: Request, response: Response,
                 principal: Writer, idempotency_key: IdempotencyKey = None,
                 if_match: IfMatch = None):
    return await _cadre_command(request, response, principal, cadre_id, body, "depart",
                                handlers.depart, idempotency_key, if_match)


@router.post("/reserve-entries", status_code=201, response_model=CommandAccepted,
             operation_id="personnel_enter_reserve")
async def enter_reserve(body: EnterReserve, request: Request, response: Response,
                        principal: Writer, idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key)
    outcome = await run_command(request, SERVICE, "enter_reserve",
                                lambda: handlers.enter_reserve(body, meta, _deps(request)))
    return accepted(outcome, response, f"/api/v1/cadres/{body.cadre_id}")


@router.post("/reserve-entries/{entry_id}/reviews", status_code=201,
             response_model=CommandAccepted, operation_id="personnel_review_reserve_entry")
async def review_reserve_entry(entry_id: str, body: ReviewReserveEntry, request: Request,
                               response: Response, principal: Writer,
                               idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"entry_id": entry_id})
    outcome = await run_command(request, SERVICE, "review_reserve_entry",
                                lambda: handlers.review_reserve_entry(entry_id, body, meta, _deps(request)))
    return accepted(outcome, response, f"/api/v1/cadres/{entry_id.rpartition('.')[0]}")


@router.post("/reserve-entries/{entry_id}/exits", status_code=201, response_model=CommandAccepted,
             operation_id="personnel_exit_reserve")
async def exit_reserve(entry_id: str, body: ExitReserve, request: Request, response: Response,
                       principal: Writer, idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"entry_id": entry_id})
    outcome = await run_command(request, SERVICE, "exit_reserve",
                                lambda: handlers.exit_reserve(entry_id, body, meta, _deps(request)))
    return accepted(outcome, response, f"/api/v1/cadres/{entry_id.rpartition('.')[0]}")
