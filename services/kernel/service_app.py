"""What every service's HTTP app shares: auth, command metadata from headers, metrics, errors."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import FastAPI, Header, Request, Response
from pydantic import BaseModel

from services.kernel.auth import Permission, Principal, TokenVerifier
from services.kernel.commands import CommandOutcome
from services.kernel.errors import ZugongError
from services.kernel.eventstore import CommandMetadata
from services.kernel.http import install_problem_handlers, install_request_context
from services.kernel.metrics import Metrics

__all__ = [
    "IdempotencyKey",
    "IfMatch",
    "accepted",
    "authenticated",
    "command_metadata",
    "new_service_app",
    "parse_if_match",
    "require",
    "run_command",
]

_IF_MATCH = re.compile(r'^(?:W/)?"?(\d+)"?$')


class BadHeader(ZugongError):
    status, title, type_slug = 400, "Bad header", "bad-header"


def parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    match = _IF_MATCH.match(value.strip())
    if not match:
        raise BadHeader(f'If-Match must be a version ETag such as "3", not {value!r}',
                        errors=[{"pointer": "header:If-Match", "detail": "not a version ETag"}])
    return int(match.group(1))


# Dependencies are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in its
# thread pool, a round trip to a worker thread and back per dependency and request.
async def authenticated(request: Request) -> Principal:
    verifier: TokenVerifier = request.app.state.verifier
    principal = verifier.verify(request.headers.get("authorization"))
    request.state.principal = principal
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    # One dependency, not one on top of ``authenticated``: FastAPI resolves each nested
    # dependency per request at a cost comparable to the whole command.
    async def dependency(request: Request) -> Principal:
        principal = await authenticated(request)
        principal.require(permission)
        return principal

    dependency.required_permission = permission  # type: ignore[attr-defined]
    return dependency


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                               description="Retry-safe key for this command.")]
IfMatch = Annotated[str | None, Header(alias="If-Match",
                                       description='Expected current version, e.g. "3".')]


def command_metadata(request: Request, principal: Principal, body: BaseModel | None,
                     idempotency_key: str | None, *, path_params: dict | None = None,
                     ) -> CommandMetadata:
    correlation_id = getattr(request.state, "correlation_id", None) or str(uuid.uuid4())
    key = f"{principal.subject}:{idempotency_key}" if idempotency_key else None
    fingerprint = CommandMetadata.fingerprint_of({  # compared only for a keyed command
        "path": request.url.path, "params": path_params or {},
        "body": body.model_dump(mode="json") if body is not None else None}) if key else ""
    return CommandMetadata(actor=principal.subject, correlation_id=correlation_id,
                           causation_id=request.headers.get("x-causation-id") or correlation_id,
                           idempotency_key=key, fingerprint=fingerprint)


async def run_command(request: Request, service: str, command: str,
                      call: Callable[[], Awaitable[CommandOutcome]]) -> CommandOutcome:
    metrics: Metrics = request.app.state.metrics
    started = time.perf_counter()
    outcome = "error"
    try:
        result = await call()
        outcome = "replayed" if result.replayed else "accepted"
        return result
    except ZugongError as error:
        outcome = {409: "conflict", 412: "precondition_failed", 404: "not_found"}.get(
            error.status, "rejected")
        raise
    finally:
        metrics.commands.labels(service, command, outcome).inc()
        metrics.command_latency.labels(service, command).observe(time.perf_counter() - started)


def accepted(outcome: CommandOutcome, response: Response, location: str) -> dict:
    response.status_code = 201
    response.headers["ETag"] = f'"{outcome.version}"'
    response.headers["Location"] = location
    response.headers["X-Consistency-Token"] = outcome.consistency_token
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return outcome.body()


def new_service_app(name: str, *, metrics: Metrics, verifier: TokenVerifier,
                    lifespan=None) -> FastAPI:
    app = FastAPI(title=f"Zugong {name} service", version="1", lifespan=lifespan)
    app.state.metrics = metrics
    app.state.verifier = verifier
    install_problem_handlers(app)
    install_request_context(app, metrics, name)
    return app
