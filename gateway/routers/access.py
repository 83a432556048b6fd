"""The audit log (auditors and admin) and the live stream of changes (every role, scoped)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from gateway.context import ContextDep
from gateway.queries_audit import AuditPage
from gateway.routers.governance import scope_of
from services.kernel.auth import Permission, Principal
from services.kernel.errors import ZugongError
from services.kernel.http import PROBLEM_JSON
from services.kernel.service_app import require

__all__ = ["SERVICE_READ", "router"]

router = APIRouter(prefix="/api/v1", tags=["audit and live updates"])
Auditor = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]
Live = Annotated[Principal, Depends(require(Permission.EVENTS_READ))]
ConsistencyTokenHeader = Annotated[str | None, Header(
    alias="X-Consistency-Token",
    description="Token from a command's answer: wait until the audit log includes it.")]
SERVICE_READ = {"personnel": Permission.PERSONNEL_READ, "training": Permission.TRAINING_READ,
                "talent": Permission.TALENT_READ, "governance": Permission.GOVERNANCE_READ}
"""The permission that lets a role see a service's changes on the live stream."""
POLL_SECONDS = 0.2

_PROBLEMS = {code: {"content": {PROBLEM_JSON: {}}, "description": text} for code, text in {
    400: "Malformed cursor or Last-Event-ID", 401: "Missing or invalid token",
    403: "Role lacks the permission", 422: "Invalid input"}.items()}


class BadRequest(ZugongError):
    status, title, type_slug = 400, "Bad request", "bad-request"


class BadPeriod(ZugongError):
    status, title, type_slug = 422, "Invalid period", "bad-period"


@router.get("/audit", response_model=AuditPage, responses=_PROBLEMS, operation_id="listAuditEntries")
async def list_audit_entries(
    response: Response, principal: Auditor, ctx: ContextDep,
    actor: Annotated[str | None, Query(max_length=200, description="Who (token subject).")] = None,
    service: Annotated[str | None, Query(max_length=40, description="Only this service's "
                                         "changes, e.g. `personnel`.")] = None,
    record: Annotated[str | None, Query(max_length=200,
                                        description="Only this record (its id or stream id).")] = None,
    type: Annotated[str | None, Query(max_length=120, description="Only this event type.")] = None,
    correlation_id: Annotated[str | None, Query(max_length=100)] = None,
    date_from: Annotated[date | None, Query(alias="from", description="First day.")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Last day.")] = None,
    period: Annotated[Literal["recorded", "effective"], Query(
        description="Whether `from`/`to` apply to when it was recorded or to its business "
                    "date.")] = "recorded",
    order: Annotated[Literal["desc", "asc"], Query(description="Newest first by default.")
                     ] = "desc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200,
                                        description="`next_cursor` of the previous page.")] = None,
    consistency_token: ConsistencyTokenHeader = None,
):
    """Who did what, when, on which record: every change of every service, from the events'
    metadata (actor, correlation id, type, record, business date, recorded time)."""
    if date_from and date_to and date_to < date_from:
        raise BadPeriod("`to` precedes `from`",
                        errors=[{"pointer": "query:to", "detail": "before from"}])
    state = await ctx.consistency.wait("audit", consistency_token)
    if state:
        response.headers["X-Consistency"] = state
    return await ctx.audit.entries(
        actor=actor, service=service, record=record, type=type, correlation_id=correlation_id,
        date_from=date_from, date_to=date_to, period=period, order=order, limit=limit,
        cursor=cursor)


def _start(last_event_id: str | None, after: int | None) -> int | None:
    if last_event_id is None:
        return after
    if not last_event_id.strip().isdigit():
        raise BadRequest("Last-Event-ID must be the id of an event this stream sent",
                         errors=[{"pointer": "header:Last-Event-ID", "detail": "not an id"}])
    return int(last_event_id)


@router.get("/stream", response_class=StreamingResponse, operation_id="streamChanges",
            responses={**_PROBLEMS, 200: {"content": {"text/event-stream": {}},
                                          "description": "Server-sent events, one per change."}})
async def stream_changes(
    request: Request, principal: Live, ctx: ContextDep,
    last_event_id: Annotated[str | None, Header(
        alias="Last-Event-ID", max_length=30,
        description="Resume after this event id (browsers send it on reconnect).")] = None,
    after: Annotated[int | None, Query(ge=0, description="Start after this event id (0 = from "
                                       "the beginning); default: only changes from now on.")] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000, description="Close the stream after "
                                       "this many events (for polling clients and tests).")] = None,
    heartbeat: Annotated[float, Query(ge=1, le=300, description="Seconds between keep-alive "
                                      "comments while nothing happens.")] = 15.0,
):
    """Server-sent events of the changes the caller may see: each service's changes only for
    roles that may read it, a township operator's only for its township, personal data
    masked. Each event's `id` is its audit-log id; reconnect with `Last-Event-ID` to resume."""
    services = {name for name, permission in SERVICE_READ.items() if principal.has(permission)}
    township = scope_of(principal)
    start = _start(last_event_id, after)
    if start is None:
        start = await ctx.audit.last_id()

    async def events() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        cursor, sent, quiet = start, 0, 0.0
        while True:
            changes, scanned = await ctx.audit.changes_after(cursor, services=services,
                                                             township=township)
            for change in changes:
                yield f"id: {change.id}\nevent: {change.type}\ndata: {change.model_dump_json()}\n\n"
                sent += 1
                if limit is not None and sent >= limit:
                    return
            if scanned != cursor:
                cursor, quiet = scanned, 0.0
                continue
            if await request.is_disconnected():
                return
            await asyncio.sleep(POLL_SECONDS)
            quiet += POLL_SECONDS
            if quiet >= heartbeat:
                yield ": keep-alive\n\n"
                quiet = 0.0

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

