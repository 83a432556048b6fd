"""HTTP API of the training service: commands only (queries are the gateway's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

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
from services.training import handlers
from services.training.handlers import TrainingDeps

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/training", tags=["training"], route_class=DirectCommandRoute)
Writer = Annotated[Principal, Depends(require(Permission.TRAINING_WRITE))]
SERVICE = "training"
SessionNo = Annotated[int, Path(ge=1, le=10_000, description="Number of the session in the class.")]


async def deps(request: Request) -> TrainingDeps:
    return request.app.state.training


Deps = Annotated[TrainingDeps, Depends(deps)]


def _class_location(class_id: str) -> str:
    return f"/api/v1/training/classes/{class_id}"


@router.post("/classes", status_code=201, response_model=CommandAccepted,
             operation_id="training_schedule_class")
async def schedule_class(body: ScheduleClass, request: Request, response: Response,
                         principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key)
    outcome = await run_command(request, SERVICE, "schedule_class",
                                lambda: handlers.schedule_class(body, meta, d))
    return accepted(outcome, response, _class_location(outcome.id))


@router.post("/classes/{class_id}/opening", status_code=201, response_model=CommandAccepted,
             operation_id="training_open_class")
async def open_class(class_id: str, body: OpenClass, request: Request, response: Response,
                     principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None,
                     if_match: IfMatch = None):
    expected = parse_if_match(if_match)
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"class_id": class_id})
    outcome = await run_command(request, SERVICE, "open_class", lambda: handlers.open_class(
        class_id, body, meta, d, if_match=expected))
    return accepted(outcome, response, _class_location(outcome.id))


@router.post("/classes/{class_id}/completion", status_code=201, response_model=CommandAccepted,
             operation_id="training_complete_class")
async def complete_class(class_id: str, body: CompleteClass, request: Request,
                         response: Response, principal: Writer, d: Deps,
                         idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    expected = parse_if_match(if_match)
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"class_id": class_id})
    outcome = await run_command(request, SERVICE, "complete_class",
                                lambda: handlers.complete_class(class_id, body, meta, d,
                                                                if_match=expected))
    return accepted(outcome, response, _class_location(outcome.id))


@router.post("/classes/{class_id}/cancellation", status_code=201,
             response_model=CommandAccepted, operation_id="training_cancel_class")
async def cancel_class(class_id: str, body: CancelClass, request: Request, response: Response,
                       principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None,
                       if_match: IfMatch = None):
    expected = parse_if_match(if_match)
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"class_id": class_id})
    outcome = await run_command(request, SERVICE, "cancel_class",
                                lambda: handlers.cancel_class(class_id, body, meta, d,
                                                              if_match=expected))
    return accepted(outcome, response, _class_location(outcome.id))


@router.post("/classes/{class_id}/sessions", status_code=201, response_model=CommandAccepted,
             operation_id="training_schedule_session")
async def schedule_session(class_id: str, body: ScheduleSession, request: Request,
                           response: Response, principal: Writer, d: Deps,
                           idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"class_id": class_id})
    number = 0

    async def call():
        nonlocal number
        outcome, number = await handlers.schedule_session(class_id, body, meta, d)
        return outcome

    outcome = await run_command(request, SERVICE, "schedule_session", call)
    return accepted(outcome, response, f"{_class_location(outcome.id)}/sessions/{number}")


@router.post("/classes/{class_id}/enrolments", status_code=201, response_model=CommandAccepted,
             operation_id="training_enrol_trainee")
async def enrol_trainee(class_id: str, body: EnrolTrainee, request: Request,
                        response: Response, principal: Writer, d: Deps,
                        idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"class_id": class_id})
    outcome = await run_command(request, SERVICE, "enrol_trainee",
                                lambda: handlers.enrol_trainee(class_id, body, meta, d))
    return accepted(outcome, response, _class_location(outcome.id))


@router.post("/classes/{class_id}/sessions/{session_no}/attendance", status_code=201,
             response_model=CommandAccepted, operation_id="training_record_attendance")
async def record_attendance(class_id: str, session_no: SessionNo, body: RecordAttendance,
                            request: Request, response: Response, principal: Writer, d: Deps,
                            idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"class_id": class_id, "session_no": session_no})
    outcome = await run_command(request, SERVICE, "record_attendance",
                                lambda: handlers.record_attendance(class_id, session_no, body,
                                                                   meta, d))
    return accepted(outcome, response, f"{_class_location(outcome.id)}/sessions/{session_no}")


@router.post("/mass-events", status_code=201, response_model=CommandAccepted,
             operation_id="training_record_mass_event")
async def record_mass_event(body: RecordMassEvent, request: Request, response: Response,
                            principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key)
    outcome = await run_command(request, SERVICE, "record_mass_event",
                                lambda: handlers.record_mass_event(body, meta, d))
    return accepted(outcome, response, f"/api/v1/training/mass-events/{outcome.id}")


@router.post("/mass-events/{mass_event_id}/head-count-revisions", status_code=201,
             response_model=CommandAccepted, operation_id="training_revise_head_count")
async def revise_head_count(mass_event_id: str, body: ReviseHeadCount, request: Request,
                            response: Response, principal: Writer, d: Deps,
                            idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    expected = parse_if_match(if_match)
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"mass_event_id": mass_event_id})
    outcome = await run_command(request, SERVICE, "revise_head_count",
                                lambda: handlers.revise_head_count(mass_event_id, body, meta, d,
                                                                   if_match=expected))
    return accepted(outcome, response, f"/api/v1/training/mass-events/{outcome.id}")


@router.post("/campaigns", status_code=201, response_model=CommandAccepted,
             operation_id="training_launch_campaign")
async def launch_campaign(body: LaunchStudyCampaign, request: Request, response: Response,
                          principal: Writer, d: Deps, idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key)
    outcome = await run_command(request, SERVICE, "launch_campaign",
                                lambda: handlers.launch_campaign(body, meta, d))
    return accepted(outcome, response, f"/api/v1/training/campaigns/{outcome.id}")


@router.post("/campaigns/{campaign_id}/chapters", status_code=201,
             response_model=CommandAccepted, operation_id="training_complete_chapter")
async def complete_chapter(campaign_id: str, body: CompleteStudyChapter, request: Request,
                           response: Response, principal: Writer, d: Deps,
                           idempotency_key: IdempotencyKey = None):
    meta = command_metadata(request, principal, body, idempotency_key,
                            path_params={"campaign_id": campaign_id})
    outcome = await run_command(request, SERVICE, "complete_chapter",
                                lambda: handlers.complete_chapter(campaign_id, body, meta, d))
    return accepted(outcome, response, f"/api/v1/training/campaigns/{outcome.id}")
