"""Talent routes: commands forwarded to the talent service, queries from the talent read models."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

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
from contracts.talent import ExpertKind, InternshipSeason, StudioField
from gateway.context import ContextDep
from gateway.queries_talent import (
    AgreementView,
    ExpertDetail,
    ExpertPage,
    FollowUpPage,
    InternshipReport,
    PlacementView,
    PositionDetail,
    PositionPage,
    SecondmentPage,
    SecondmentView,
    StudioDetail,
    StudioPage,
    StudioReport,
    UniversityDetail,
    UniversityPage,
    UniversityReport,
    VisitReport,
    VisitView,
)
from gateway.routers.personnel import _PROBLEMS, ConsistencyTokenHeader, IfNoneMatch, _etag
from services.kernel.auth import Permission, Principal
from services.kernel.errors import DomainRuleViolation
from services.kernel.service_app import DirectCommandRoute, IdempotencyKey, IfMatch, require

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/talent", tags=["talent"], route_class=DirectCommandRoute)
Reader = Annotated[Principal, Depends(require(Permission.TALENT_READ))]
Writer = Annotated[Principal, Depends(require(Permission.TALENT_WRITE))]
PROJECTION = "talent"

From = Annotated[date | None, Query(alias="from", description="First day of the period (inclusive).")]
To = Annotated[date | None, Query(alias="to", description="Last day of the period (inclusive).")]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]


def _period(start: date | None, end: date | None) -> tuple[date | None, date | None]:
    if start and end and start > end:
        raise DomainRuleViolation(f"the period starts ({start}) after it ends ({end})",
                                  pointer="query:from", code="period")
    return start, end


async def _fresh(ctx, response: Response, token: str | None) -> None:
    state = await ctx.consistency.wait(PROJECTION, token)
    if state:
        response.headers["X-Consistency"] = state


async def _forward(ctx, request: Request) -> Response:
    return await ctx.services["talent"].forward(request)


# commands ------------------------------------------------------------------------------

def _command(path: str, body_model, operation_id: str):
    """Declares a forwarded command route: the body is validated here for the OpenAPI
    document and again by the service, which owns the rules."""

    def register(function):
        return router.post(path, status_code=201, response_model=CommandAccepted,
                           responses=_PROBLEMS, operation_id=operation_id,
                           summary=body_model.__doc__.splitlines()[0])(function)

    return register


@_command("/studios", CertifyStudio, "certifyStudio")
async def certify_studio(body: CertifyStudio, request: Request, principal: Writer,
                         ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/studios/{studio_id}/grants", GrantStudioFunding, "grantStudioFunding")
async def grant_studio_funding(studio_id: str, body: GrantStudioFunding, request: Request,
                               principal: Writer, ctx: ContextDep,
                               idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/studios/{studio_id}/reviews", ReviewStudio, "reviewStudio")
async def review_studio(studio_id: str, body: ReviewStudio, request: Request, principal: Writer,
                        ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/studios/{studio_id}/revocation", RevokeStudio, "revokeStudio")
async def revoke_studio(studio_id: str, body: RevokeStudio, request: Request, principal: Writer,
                        ctx: ContextDep, idempotency_key: IdempotencyKey = None,
                        if_match: IfMatch = None):
    return await _forward(ctx, request)


@_command("/experts", RegisterExpert, "registerExpert")
async def register_expert(body: RegisterExpert, request: Request, principal: Writer,
                          ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/experts/{expert_id}/visits", RecordVisit, "recordExpertVisit")
async def record_visit(expert_id: str, body: RecordVisit, request: Request, principal: Writer,
                       ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/experts/{expert_id}/follow-ups/{follow_up_id}/closure", CloseFollowUp,
          "closeFollowUp")
async def close_follow_up(expert_id: str, follow_up_id: str, body: CloseFollowUp,
                          request: Request, principal: Writer, ctx: ContextDep,
                          idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/experts/{expert_id}/secondments", ArrangeSecondment, "arrangeSecondment")
async def arrange_secondment(expert_id: str, body: ArrangeSecondment, request: Request,
                             principal: Writer, ctx: ContextDep,
                             idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/experts/{expert_id}/secondments/{secondment_id}/end", EndSecondment, "endSecondment")
async def end_secondment(expert_id: str, secondment_id: str, body: EndSecondment,
                         request: Request, principal: Writer, ctx: ContextDep,
                         idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/internships", PublishInternshipPosition, "publishInternshipPosition")
async def publish_internship(body: PublishInternshipPosition, request: Request,
                             principal: Writer, ctx: ContextDep,
                             idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/internships/{position_id}/placements", PlaceIntern, "placeIntern")
async def place_intern(position_id: str, body: PlaceIntern, request: Request, principal: Writer,
                       ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/internships/{position_id}/placements/{placement_id}/withdrawal", WithdrawPlacement,
          "withdrawPlacement")
async def withdraw_placement(position_id: str, placement_id: str, body: WithdrawPlacement,
                             request: Request, principal: Writer, ctx: ContextDep,
                             idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/internships/{position_id}/completion", CompleteInternshipPosition,
          "completeInternshipPosition")
async def complete_internship(position_id: str, body: CompleteInternshipPosition,
                              request: Request, principal: Writer, ctx: ContextDep,
                              idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/universities", RegisterUniversity, "registerUniversity")
async def register_university(body: RegisterUniversity, request: Request, principal: Writer,
                              ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/universities/{university_id}/promotion-events", RecordPromotionEvent,
          "recordPromotionEvent")
async def record_promotion_event(university_id: str, body: RecordPromotionEvent,
                                 request: Request, principal: Writer, ctx: ContextDep,
                                 idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/universities/{university_id}/agreements", SignCooperationAgreement,
          "signCooperationAgreement")
async def sign_agreement(university_id: str, body: SignCooperationAgreement, request: Request,
                         principal: Writer, ctx: ContextDep,
                         idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@_command("/universities/{university_id}/agreements/{agreement_id}/termination",
          TerminateCooperationAgreement, "terminateCooperationAgreement")
async def terminate_agreement(university_id: str, agreement_id: str,
                              body: TerminateCooperationAgreement, request: Request,
                              principal: Writer, ctx: ContextDep,
                              idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


# queries -------------------------------------------------------------------------------

@router.get("/studios", response_model=StudioPage, responses=_PROBLEMS,
            operation_id="listStudios")
async def list_studios(response: Response, principal: Reader, ctx: ContextDep,
                       field: StudioField | None = None,
                       status: Literal["certified", "revoked"] | None = None,
                       limit: Limit = 50, cursor: Cursor = None,
                       consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.talent.studios(field=field, status=status, limit=limit, cursor=cursor)


@router.get("/studios/{studio_id}", response_model=StudioDetail, responses=_PROBLEMS,
            operation_id="getStudio")
async def get_studio(studio_id: str, response: Response, principal: Reader, ctx: ContextDep,
                     consistency_token: ConsistencyTokenHeader = None,
                     if_none_match: IfNoneMatch = None):
    await _fresh(ctx, response, consistency_token)
    studio = await ctx.talent.studio(studio_id)
    return _etag(response, studio.version, if_none_match) or studio


@router.get("/reports/studios", response_model=StudioReport, responses=_PROBLEMS,
            operation_id="studioReport")
async def studio_report(response: Response, principal: Reader, ctx: ContextDep,
                        start: From = None, end: To = None,
                        consistency_token: ConsistencyTokenHeader = None):
    """Studios certified, active, revoked and funded per field, and funding in the period."""
    await _fresh(ctx, response, consistency_token)
    return await ctx.talent.studio_report(*_period(start, end))


@router.get("/experts", response_model=ExpertPage, responses=_PROBLEMS,
            operation_id="listExperts")
async def list_experts(
    response: Response, principal: Reader, ctx: ContextDep, kind: ExpertKind | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Text in the name.")] = None,
    on_roster: Annotated[date | None, Query(
        description="Only experts on the roster that day (registered, term not ended).")] = None,
    limit: Limit = 50, cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    await _fresh(ctx, response, consistency_token)
    return await ctx.talent.experts(kind=kind, q=q, on_roster=on_roster, limit=limit,
                                    cursor=cursor,
                                    reveal=principal.has(Permission.PERSONAL_DATA_READ))


@router.get("/experts/{expert_id}", response_model=ExpertDetail, responses=_PROBLEMS,
            operation_id="getExpert")
async def get_expert(expert_id: str, response: Response, principal: Reader, ctx: ContextDep,
                     consistency_token: ConsistencyTokenHeader = None,
                     if_none_match: IfNoneMatch = None):
    await _fresh(ctx, response, consistency_token)
    expert = await ctx.talent.expert(expert_id,
                                     reveal=principal.has(Permission.PERSONAL_DATA_READ))
    return _etag(response, expert.version, if_none_match) or expert


@router.get("/experts/{expert_id}/visits/{visit_id}", response_model=VisitView,
            responses=_PROBLEMS, operation_id="getExpertVisit")
async def get_visit(expert_id: str, visit_id: str, response: Response, principal: Reader,
                    ctx: ContextDep, consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.talent.visit(expert_id, visit_id)


@router.get("/experts/{expert_id}/secondments/{secondment_id}", response_model=SecondmentView,
            responses=_PROBLEMS, operation_id="getSecondment")
async def get_secondment(expert_id: str, secondment_id: str, response: Response,
                         principal: Reader, ctx: ContextDep,
                         consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.talent.secondment(expert_id, secondment_id)


@router.get("/think-tank", response_model=ExpertPage, responses=_PROBLEMS,
            operation_id="thinkTankRoster")
async def think_tank_roster(
    response: Response, principal: Reader, ctx: ContextDep,
    as_of: Annotated[date | None, Query(description="Roster on this day; default today.")] = None,
    limit: Limit = 50, cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    """Think-tank experts (智库专家) whose appointment covers ``as_of``; ``total`` is the roster size."""
    await _fresh(ctx, response, consistency_token)
    return await ctx.talent.experts(kind="think_tank_expert", q=None,
                                    on_roster=as_of or date.today(), limit=limit, cursor=cursor,
                                    reveal=principal.has(Permission.PERSONAL_DATA_READ))


@router.get("/reports/visits", response_model=VisitReport, responses=_PROBLEMS,
            operation_id="visitReport")
async def visit_report(response: Response, principal: Reader, ctx: ContextDep,
                       start: From = None, end: To = None,
                       consistency_token: ConsistencyTokenHeader = None):
    """Visits, distinct experts visited and issues raised per expert kind in the period."""
    await _fresh(ctx, response, consistency_token)
    return await ctx.talent.visit_report(*_period(start, end))


@router.get("/follow-ups", response_model=FollowUpPage, responses=_PROBLEMS,
            operation_id="listFollowUps")
async def list_follow_ups(
    response: Response, principal: Reader, ctx: ContextDep,
    status: Literal["open", "closed", "all"] = "open", expert_kind: ExpertKind | None = None,
    overdue: Annotated[bool, Query(description="Only open follow-ups past due on `as_of`.")] = False,
    as_of: Annotated[date | None, Query(description="Day for `overdue`; default today.")] = None,
    limit: Limit = 50, cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    """Follow-ups of problems experts raised, by due date (open ones by default)."""
    await _fresh(ctx, response, consistency_token)
    day = as_of or date.today()
    return await ctx.talent.follow_ups(
        status=None if status == "all" else status, expert_kind=expert_kind,
        overdue_on=day if overdue else None, as_of=day, limit=limit, cursor=cursor)


@router.get("/secondments", response_model=SecondmentPage, responses=_PROBLEMS,
            operation_id="listSecondments")
async def list_secondments(response: Response, principal: Reader, ctx: ContextDep,
                           start: From = None, end: To = None,
                           expert_kind: ExpertKind | None = None, limit: Limit = 50,
                           cursor: Cursor = None,
                           consistency_token: ConsistencyTokenHeader = None):
    """Secondments (挂职) overlapping the period; ``total`` counts them over all pages."""
    await _fresh(ctx, response, consistency_token)
    start, end = _period(start, end)
    return await ctx.talent.secondments(start=start, end=end, expert_kind=expert_kind,
                                        limit=limit, cursor=cursor)


@router.get("/internships", response_model=PositionPage, responses=_PROBLEMS,
            operation_id="listInternshipPositions")
async def list_internships(
    response: Response, principal: Reader, ctx: ContextDep,
    season: InternshipSeason | None = None, status: Literal["open", "completed"] | None = None,
    host_unit: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50, cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    await _fresh(ctx, response, consistency_token)
    return await ctx.talent.positions(season=season, status=status, host_unit=host_unit,
                                      limit=limit, cursor=cursor)


@router.get("/internships/{position_id}", response_model=PositionDetail, responses=_PROBLEMS,
            operation_id="getInternshipPosition")
async def get_internship(position_id: str, response: Response, principal: Reader,
                         ctx: ContextDep, consistency_token: ConsistencyTokenHeader = None,
                         if_none_match: IfNoneMatch = None):
    await _fresh(ctx, response, consistency_token)
    position = await ctx.talent.position(position_id)
    return _etag(response, position.version, if_none_match) or position


@router.get("/internships/{position_id}/placements/{placement_id}", response_model=PlacementView,
            responses=_PROBLEMS, operation_id="getPlacement")
async def get_placement(position_id: str, placement_id: str, response: Response,
                        principal: Reader, ctx: ContextDep,
                        consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.talent.placement(position_id, placement_id)


@router.get("/reports/internships", response_model=InternshipReport, responses=_PROBLEMS,
            operation_id="internshipReport")
async def internship_report(response: Response, principal: Reader, ctx: ContextDep,
                            start: From = None, end: To = None,
                            season: InternshipSeason | None = None,
                            consistency_token: ConsistencyTokenHeader = None):
    """Slots offered, students placed and fill rate of positions published in the period."""
    await _fresh(ctx, response, consistency_token)
    start, end = _period(start, end)
    return await ctx.talent.internship_report(start, end, season)


@router.get("/universities", response_model=UniversityPage, responses=_PROBLEMS,
            operation_id="listUniversities")
async def list_universities(response: Response, principal: Reader, ctx: ContextDep,
                            limit: Limit = 50, cursor: Cursor = None,
                            consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.talent.universities(limit=limit, cursor=cursor)


@router.get("/universities/{university_id}", response_model=UniversityDetail,
            responses=_PROBLEMS, operation_id="getUniversity")
async def get_university(university_id: str, response: Response, principal: Reader,
                         ctx: ContextDep, consistency_token: ConsistencyTokenHeader = None,
                         if_none_match: IfNoneMatch = None):
    await _fresh(ctx, response, consistency_token)
    university = await ctx.talent.university(university_id)
    return _etag(response, university.version, if_none_match) or university


@router.get("/universities/{university_id}/agreements/{agreement_id}",
            response_model=AgreementView, responses=_PROBLEMS, operation_id="getAgreement")
async def get_agreement(university_id: str, agreement_id: str, response: Response,
                        principal: Reader, ctx: ContextDep,
                        consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.talent.agreement(university_id, agreement_id)


@router.get("/reports/universities", response_model=UniversityReport, responses=_PROBLEMS,
            operation_id="universityReport")
async def university_report(response: Response, principal: Reader, ctx: ContextDep,
                            start: From = None, end: To = None,
                            consistency_token: ConsistencyTokenHeader = None):
    """Recruitment promotion events and cooperation agreements in the period."""
    await _fresh(ctx, response, consistency_token)
    return await ctx.talent.university_report(*_period(start, end))
