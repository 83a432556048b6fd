"""Training routes: commands forwarded to the training service, queries from read models."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from contracts.api.personnel import CommandAccepted
from contracts.api.training import (
    CancelClass,
    CompleteClass,
    CompleteStudyChapter,
    EnrolTrainee,
    LaunchStudyCampaign,
    OpenClass,
    RecordAttendance,
    RecordMassEvent,
    ReviseHeadCount,
    ScheduleClass,
    ScheduleSession,
)
from contracts.training import ClassKind, MassEventKind
from gateway.context import ContextDep
from gateway.queries_training import (
    ClassDetail,
    ClassesHeldReport,
    ClassPage,
    CreditHoursReport,
    CreditHoursView,
    MassEventReport,
    MassEventView,
    SessionView,
    StudyCampaignPage,
    StudyCampaignView,
    TraineePage,
)
from gateway.routers.personnel import (
    _PROBLEMS,
    ConsistencyTokenHeader,
    IfNoneMatch,
    _consistency_header,
    _etag,
)
from services.kernel.auth import Permission, Principal
from services.kernel.service_app import DirectCommandRoute, IdempotencyKey, IfMatch, require

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/training", tags=["training"], route_class=DirectCommandRoute)
Reader = Annotated[Principal, Depends(require(Permission.TRAINING_READ))]
Writer = Annotated[Principal, Depends(require(Permission.TRAINING_WRITE))]
PROJECTION = "training"
SessionNo = Annotated[int, Path(ge=1, le=10_000, description="Number of the session in the class.")]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]
From = Annotated[date | None, Query(alias="from", description="First day of the period.")]
To = Annotated[date | None, Query(alias="to", description="Last day of the period.")]
Level = Annotated[str | None, Query(
    max_length=40, description="Requirement level (section, county, ...); default section "
    "until personnel publishes ranks and posts.")]


async def _forward(ctx, request: Request) -> Response:
    return await ctx.services["training"].forward(request)


async def _fresh(ctx, response: Response, token: str | None) -> None:
    _consistency_header(response, await ctx.consistency.wait(PROJECTION, token))


# -- commands (forwarded) ---------------------------------------------------------------------

@router.post("/classes", status_code=201, response_model=CommandAccepted, responses=_PROBLEMS,
             operation_id="scheduleTrainingClass")
async def schedule_class(body: ScheduleClass, request: Request, principal: Writer,
                         ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@router.post("/classes/{class_id}/opening", status_code=201, response_model=CommandAccepted,
             responses=_PROBLEMS, operation_id="openTrainingClass")
async def open_class(class_id: str, body: OpenClass, request: Request, principal: Writer,
                     ctx: ContextDep, idempotency_key: IdempotencyKey = None,
                     if_match: IfMatch = None):
    return await _forward(ctx, request)


@router.post("/classes/{class_id}/completion", status_code=201, response_model=CommandAccepted,
             responses=_PROBLEMS, operation_id="completeTrainingClass")
async def complete_class(class_id: str, body: CompleteClass, request: Request,
                         principal: Writer, ctx: ContextDep,
                         idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    return await _forward(ctx, request)


@router.post("/classes/{class_id}/cancellation", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS,
             operation_id="cancelTrainingClass")
async def cancel_class(class_id: str, body: CancelClass, request: Request, principal: Writer,
                       ctx: ContextDep, idempotency_key: IdempotencyKey = None,
                       if_match: IfMatch = None):
    return await _forward(ctx, request)


@router.post("/classes/{class_id}/sessions", status_code=201, response_model=CommandAccepted,
             responses=_PROBLEMS, operation_id="scheduleTrainingSession")
async def schedule_session(class_id: str, body: ScheduleSession, request: Request,
                           principal: Writer, ctx: ContextDep,
                           idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@router.post("/classes/{class_id}/enrolments", status_code=201, response_model=CommandAccepted,
             responses=_PROBLEMS, operation_id="enrolTrainee")
async def enrol_trainee(class_id: str, body: EnrolTrainee, request: Request, principal: Writer,
                        ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    """409 `cadre-not-yet-known` means training has not (yet) received the cadre from
    personnel: retry shortly with the same Idempotency-Key."""
    return await _forward(ctx, request)


@router.post("/classes/{class_id}/sessions/{session_no}/attendance", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS,
             operation_id="recordTrainingAttendance")
async def record_attendance(class_id: str, session_no: SessionNo, body: RecordAttendance,
                            request: Request, principal: Writer, ctx: ContextDep,
                            idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@router.post("/mass-events", status_code=201, response_model=CommandAccepted,
             responses=_PROBLEMS, operation_id="recordMassEvent")
async def record_mass_event(body: RecordMassEvent, request: Request, principal: Writer,
                            ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@router.post("/mass-events/{mass_event_id}/head-count-revisions", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS,
             operation_id="reviseMassEventHeadCount")
async def revise_head_count(mass_event_id: str, body: ReviseHeadCount, request: Request,
                            principal: Writer, ctx: ContextDep,
                            idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    return await _forward(ctx, request)


@router.post("/campaigns", status_code=201, response_model=CommandAccepted,
             responses=_PROBLEMS, operation_id="launchStudyCampaign")
async def launch_campaign(body: LaunchStudyCampaign, request: Request, principal: Writer,
                          ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@router.post("/campaigns/{campaign_id}/chapters", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS,
             operation_id="completeStudyChapter")
async def complete_chapter(campaign_id: str, body: CompleteStudyChapter, request: Request,
                           principal: Writer, ctx: ContextDep,
                           idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


# -- queries ----------------------------------------------------------------------------------

@router.get("/classes", response_model=ClassPage, responses=_PROBLEMS,
            operation_id="listTrainingClasses")
async def list_classes(
    response: Response, principal: Reader, ctx: ContextDep, period_from: From = None,
    period_to: To = None, kind: Annotated[ClassKind | None, Query()] = None,
    status: Annotated[Literal["scheduled", "open", "completed", "cancelled"] | None,
                      Query()] = None,
    limit: Limit = 50, cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    """Classes starting in the period, by start date."""
    await _fresh(ctx, response, consistency_token)
    return await ctx.training.classes(kind=kind, status=status, period_from=period_from,
                                      period_to=period_to, limit=limit, cursor=cursor)


@router.get("/classes/{class_id}", response_model=ClassDetail, responses=_PROBLEMS,
            operation_id="getTrainingClass")
async def get_class(class_id: str, response: Response, principal: Reader, ctx: ContextDep,
                    consistency_token: ConsistencyTokenHeader = None,
                    if_none_match: IfNoneMatch = None):
    """The class with its sessions, attendance, completion and the rates."""
    await _fresh(ctx, response, consistency_token)
    detail = await ctx.training.training_class(class_id)
    return _etag(response, detail.version, if_none_match) or detail


@router.get("/classes/{class_id}/sessions/{session_no}", response_model=SessionView,
            responses=_PROBLEMS, operation_id="getTrainingSession")
async def get_session(class_id: str, session_no: SessionNo, response: Response,
                      principal: Reader, ctx: ContextDep,
                      consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.training.session(class_id, session_no)


@router.get("/classes/{class_id}/trainees", response_model=TraineePage, responses=_PROBLEMS,
            operation_id="listTrainees")
async def list_trainees(
    class_id: str, response: Response, principal: Reader, ctx: ContextDep,
    status: Annotated[Literal["active", "withdrawn", "completed"] | None, Query()] = None,
    limit: Limit = 100, cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    await _fresh(ctx, response, consistency_token)
    return await ctx.training.trainees(class_id, status=status, limit=limit, cursor=cursor)


@router.get("/reports/classes-held", response_model=ClassesHeldReport, responses=_PROBLEMS,
            operation_id="reportClassesHeld")
async def classes_held(response: Response, principal: Reader, ctx: ContextDep,
                       period_from: Annotated[date, Query(alias="from")],
                       period_to: Annotated[date, Query(alias="to")],
                       consistency_token: ConsistencyTokenHeader = None):
    """Classes held (opened or completed, not cancelled) starting in the period, by kind,
    with the invited lectures given in the period."""
    await _fresh(ctx, response, consistency_token)
    return await ctx.training.classes_held(period_from, period_to)


@router.get("/cadres/{cadre_id}/credit-hours", response_model=CreditHoursView,
            responses=_PROBLEMS, operation_id="getCadreCreditHours")
async def cadre_credit_hours(cadre_id: str, response: Response, principal: Reader,
                             ctx: ContextDep, year: Annotated[int, Query(ge=1950, le=2200)],
                             level: Level = None,
                             consistency_token: ConsistencyTokenHeader = None):
    """A cadre's credited hours in ``year`` and in the requirement's window vs the requirement."""
    await _fresh(ctx, response, consistency_token)
    return await ctx.training.credit_hours(cadre_id, year, level)


@router.get("/reports/credit-hours", response_model=CreditHoursReport, responses=_PROBLEMS,
            operation_id="reportCreditHours")
async def credit_hours_report(
    response: Response, principal: Reader, ctx: ContextDep,
    year: Annotated[int, Query(ge=1950, le=2200)], level: Level = None,
    unit_id: Annotated[str | None, Query(max_length=64)] = None, limit: Limit = 100,
    cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    """Every cadre (optionally of one unit) against the requirement: who met it, the rate."""
    await _fresh(ctx, response, consistency_token)
    return await ctx.training.credit_hours_report(year=year, level=level, unit_id=unit_id,
                                                  limit=limit, cursor=cursor)


@router.get("/mass-events", response_model=MassEventReport, responses=_PROBLEMS,
            operation_id="listMassEvents")
async def list_mass_events(
    response: Response, principal: Reader, ctx: ContextDep, period_from: From = None,
    period_to: To = None, kind: Annotated[MassEventKind | None, Query()] = None,
    limit: Limit = 100, cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    """Mass events held in the period, with the total head-count (over all pages)."""
    await _fresh(ctx, response, consistency_token)
    return await ctx.training.mass_events(period_from=period_from, period_to=period_to,
                                          kind=kind, limit=limit, cursor=cursor)


@router.get("/mass-events/{mass_event_id}", response_model=MassEventView, responses=_PROBLEMS,
            operation_id="getMassEvent")
async def get_mass_event(mass_event_id: str, response: Response, principal: Reader,
                         ctx: ContextDep, consistency_token: ConsistencyTokenHeader = None,
                         if_none_match: IfNoneMatch = None):
    await _fresh(ctx, response, consistency_token)
    view = await ctx.training.mass_event(mass_event_id)
    return _etag(response, view.version, if_none_match) or view


@router.get("/campaigns", response_model=StudyCampaignPage, responses=_PROBLEMS,
            operation_id="listStudyCampaigns")
async def list_campaigns(
    response: Response, principal: Reader, ctx: ContextDep,
    status: Annotated[Literal["running", "completed"] | None, Query()] = None,
    limit: Limit = 50, cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    await _fresh(ctx, response, consistency_token)
    return await ctx.training.campaigns(status=status, limit=limit, cursor=cursor)


@router.get("/campaigns/{campaign_id}", response_model=StudyCampaignView, responses=_PROBLEMS,
            operation_id="getStudyCampaign")
async def get_campaign(campaign_id: str, response: Response, principal: Reader,
                       ctx: ContextDep, consistency_token: ConsistencyTokenHeader = None,
                       if_none_match: IfNoneMatch = None):
    """The campaign's progress chapter by chapter."""
    await _fresh(ctx, response, consistency_token)
    view = await ctx.training.campaign(campaign_id)
    return _etag(response, view.version, if_none_match) or view
