"""HTTP API of the talent service: commands only (queries are the gateway's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from contracts.api.talent import (
    ArrangeSecondment,
    CertifyStudio,
    CloseFollowUp,
    CommandAccepted,
    CompleteInternshipPosition,
    EndSecondment,
    GrantStudioFunding,
    PlaceIntern,
    PublishInternshipPosition,
    RecordPromotionEvent,
    RecordVisit,
    RegisterExpert,
    RegisterUniversity,
    ReviewStudio,
    RevokeStudio,
    SignCooperationAgreement,
    TerminateCooperationAgreement,
    WithdrawPlacement,
)
from services.kernel.auth import Permission, Principal
from services.kernel.commands import CommandOutcome
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
from services.talent import handlers
from services.talent.domain.common import child_id
from services.talent.handlers import TalentDeps

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/talent", tags=["talent"], route_class=DirectCommandRoute)
Writer = Annotated[Principal, Depends(require(Permission.TALENT_WRITE))]
SERVICE = "talent"
BASE = "/api/v1/talent"


async def deps(request: Request) -> TalentDeps:
    return request.app.state.talent


Deps = Annotated[TalentDeps, Depends(deps)]


async def _run(request: Request, response: Response, principal: Principal, body: BaseModel,
               idempotency_key: str | None, command: str,
               call: Callable[..., Awaitable[CommandOutcome]], location: Callable[[CommandOutcome], str],
               **path_params: str) -> dict:
    meta = command_metadata(request, principal, body, idempotency_key, path_params=path_params)
    outcome = await run_command(request, SERVICE, command, lambda: call(meta))
    return accepted(outcome, response, location(outcome))


def _at(collection: str) -> Callable[[CommandOutcome], str]:
    return lambda outcome: f"{BASE}/{collection}/{outcome.id}"


def _child(collection: str, stream_kind: str, children: str) -> Callable[[CommandOutcome], str]:
    """Location of the sub-record the command created: its id derives from the version."""
    return lambda o: (f"{BASE}/{collection}/{o.id}/{children}/"
                      f"{child_id(f'{stream_kind}-{o.id}', o.version)}")


@router.post("/studios", status_code=201, response_model=CommandAccepted,
             operation_id="talent_certify_studio")
async def certify_studio(body: CertifyStudio, request: Request, response: Response,
                         principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "certify_studio",
                      lambda meta: handlers.certify_studio(body, meta, d), _at("studios"))


@router.post("/studios/{studio_id}/grants", status_code=201, response_model=CommandAccepted,
             operation_id="talent_grant_studio_funding")
async def grant_studio_funding(studio_id: str, body: GrantStudioFunding, request: Request,
                               response: Response, principal: Writer, d: Deps,
                               idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "grant_studio_funding",
                      lambda meta: handlers.grant_studio_funding(studio_id, body, meta, d),
                      _at("studios"), studio_id=studio_id)


@router.post("/studios/{studio_id}/reviews", status_code=201, response_model=CommandAccepted,
             operation_id="talent_review_studio")
async def review_studio(studio_id: str, body: ReviewStudio, request: Request, response: Response,
                        principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "review_studio",
                      lambda meta: handlers.review_studio(studio_id, body, meta, d),
                      _at("studios"), studio_id=studio_id)


@router.post("/studios/{studio_id}/revocation", status_code=201, response_model=CommandAccepted,
             operation_id="talent_revoke_studio")
async def revoke_studio(studio_id: str, body: RevokeStudio, request: Request, response: Response,
                        principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None,
                        if_match: IfMatch = None):
    expected = parse_if_match(if_match)
    return await _run(request, response, principal, body, idempotency_key, "revoke_studio",
                      lambda meta: handlers.revoke_studio(studio_id, body, meta, d,
                                                          if_match=expected),
                      _at("studios"), studio_id=studio_id)


@router.post("/experts", status_code=201, response_model=CommandAccepted,
             operation_id="talent_register_expert")
async def register_expert(body: RegisterExpert, request: Request, response: Response,
                          principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "register_expert",
                      lambda meta: handlers.register_expert(body, meta, d), _at("experts"))


@router.post("/experts/{expert_id}/visits", status_code=201, response_model=CommandAccepted,
             operation_id="talent_record_visit")
async def record_visit(expert_id: str, body: RecordVisit, request: Request, response: Response,
                       principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "record_visit",
                      lambda meta: handlers.record_visit(expert_id, body, meta, d),
                      _child("experts", "expert", "visits"), expert_id=expert_id)


@router.post("/experts/{expert_id}/follow-ups/{follow_up_id}/closure", status_code=201,
             response_model=CommandAccepted, operation_id="talent_close_follow_up")
async def close_follow_up(expert_id: str, follow_up_id: str, body: CloseFollowUp,
                          request: Request, response: Response, principal: Writer, d: Deps,
                          idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "close_follow_up",
                      lambda meta: handlers.close_follow_up(expert_id, follow_up_id, body, meta, d),
                      _at("experts"), expert_id=expert_id, follow_up_id=follow_up_id)


@router.post("/experts/{expert_id}/secondments", status_code=201, response_model=CommandAccepted,
             operation_id="talent_arrange_secondment")
async def arrange_secondment(expert_id: str, body: ArrangeSecondment, request: Request,
                             response: Response, principal: Writer, d: Deps,
                             idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "arrange_secondment",
                      lambda meta: handlers.arrange_secondment(expert_id, body, meta, d),
                      _child("experts", "expert", "secondments"), expert_id=expert_id)


@router.post("/experts/{expert_id}/secondments/{secondment_id}/end", status_code=201,
             response_model=CommandAccepted, operation_id="talent_end_secondment")
async def end_secondment(expert_id: str, secondment_id: str, body: EndSecondment,
                         request: Request, response: Response, principal: Writer, d: Deps,
                         idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "end_secondment",
                      lambda meta: handlers.end_secondment(expert_id, secondment_id, body, meta, d),
                      _at("experts"), expert_id=expert_id, secondment_id=secondment_id)


@router.post("/internships", status_code=201, response_model=CommandAccepted,
             operation_id="talent_publish_internship")
async def publish_internship(body: PublishInternshipPosition, request: Request,
                             response: Response, principal: Writer, d: Deps,
                             idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "publish_internship",
                      lambda meta: handlers.publish_internship(body, meta, d), _at("internships"))


@router.post("/internships/{position_id}/placements", status_code=201,
             response_model=CommandAccepted, operation_id="talent_place_intern")
async def place_intern(position_id: str, body: PlaceIntern, request: Request, response: Response,
                       principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "place_intern",
                      lambda meta: handlers.place_intern(position_id, body, meta, d),
                      _child("internships", "internship", "placements"), position_id=position_id)


@router.post("/internships/{position_id}/placements/{placement_id}/withdrawal", status_code=201,
             response_model=CommandAccepted, operation_id="talent_withdraw_placement")
async def withdraw_placement(position_id: str, placement_id: str, body: WithdrawPlacement,
                             request: Request, response: Response, principal: Writer, d: Deps,
                             idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "withdraw_placement",
                      lambda meta: handlers.withdraw_placement(position_id, placement_id, body,
                                                               meta, d),
                      _at("internships"), position_id=position_id, placement_id=placement_id)


@router.post("/internships/{position_id}/completion", status_code=201,
             response_model=CommandAccepted, operation_id="talent_complete_internship")
async def complete_internship(position_id: str, body: CompleteInternshipPosition,
                              request: Request, response: Response, principal: Writer, d: Deps,
                              idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "complete_internship",
                      lambda meta: handlers.complete_internship(position_id, body, meta, d),
                      _at("internships"), position_id=position_id)


@router.post("/universities", status_code=201, response_model=CommandAccepted,
             operation_id="talent_register_university")
async def register_university(body: RegisterUniversity, request: Request, response: Response,
                              principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "register_university",
                      lambda meta: handlers.register_university(body, meta, d),
                      _at("universities"))


@router.post("/universities/{university_id}/promotion-events", status_code=201,
             response_model=CommandAccepted, operation_id="talent_record_promotion_event")
async def record_promotion_event(university_id: str, body: RecordPromotionEvent,
                                 request: Request, response: Response, principal: Writer,
                                 d: Deps, idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key,
                      "record_promotion_event",
                      lambda meta: handlers.record_promotion_event(university_id, body, meta, d),
                      _at("universities"), university_id=university_id)


@router.post("/universities/{university_id}/agreements", status_code=201,
             response_model=CommandAccepted, operation_id="talent_sign_agreement")
async def sign_agreement(university_id: str, body: SignCooperationAgreement, request: Request,
                         response: Response, principal: Writer, d: Deps,
                         idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "sign_agreement",
                      lambda meta: handlers.sign_agreement(university_id, body, meta, d),
                      _child("universities", "university", "agreements"),
                      university_id=university_id)


@router.post("/universities/{university_id}/agreements/{agreement_id}/termination",
             status_code=201, response_model=CommandAccepted,
             operation_id="talent_terminate_agreement")
async def terminate_agreement(university_id: str, agreement_id: str,
                              body: TerminateCooperationAgreement, request: Request,
                              response: Response, principal: Writer, d: Deps,
                              idempotency_key: IdempotencyKey = None):
    return await _run(request, response, principal, body, idempotency_key, "terminate_agreement",
                      lambda meta: handlers.terminate_agreement(university_id, agreement_id, body,
                                                                meta, d),
                      _at("universities"), university_id=university_id,
                      agreement_id=agreement_id)
