"""HTTP plumbing shared by the gateway and the services: RFC 9457 problems, request context,
metrics middleware."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.kernel.errors import ZugongError
from services.kernel.ids import random_uuid
from services.kernel.logging import bind_correlation_id, get_logger
from services.kernel.metrics import Metrics

__all__ = [
    "PROBLEM_JSON",
    "RequestContextMiddleware",
    "install_problem_handlers",
    "install_request_context",
    "problem_response",
]

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://zugong.example/problems/"
log = get_logger("zugong.http")


def problem_response(
    status: int, title: str, detail: str, *, slug: str, errors: list[dict] | None = None,
    instance: str | None = None, headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _pointer(loc: tuple) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, parts = parts[0], parts[1:]
    else:
        where = "body"
    pointer = "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)
    return pointer if where == "body" else f"{where}:{'/'.join(parts)}"


def _validation_errors(error: RequestValidationError) -> list[dict]:
    out = []
    for item in error.errors():
        kind = item.get("type", "")
        if kind == "json_invalid":
            out.append({"pointer": "#", "detail": "the body is not valid JSON: "
                        + str(item.get("ctx", {}).get("error", "")), "code": kind})
            continue
        message = item.get("msg", "invalid")
        if kind == "extra_forbidden":
            message = "unknown field"
        out.append({"pointer": _pointer(tuple(item.get("loc", ()))), "detail": message,
                    "code": kind})
    return out


def install_problem_handlers(app: FastAPI) -> None:
    """Every error leaves as problem+json; bad input is never a 500 and never a stack trace."""

    @app.exception_handler(ZugongError)
    async def _domain(request: Request, exc: ZugongError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.status, exc.title, exc.detail, slug=exc.type_slug,
                                errors=exc.errors, instance=request.url.path, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = _validation_errors(exc)
        return problem_response(422, "Invalid request", "the request failed validation; "
                                "see errors", slug="validation", errors=errors,
                                instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return problem_response(exc.status_code, title, str(exc.detail),
                                slug=title.lower().replace(" ", "-"), instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled_error", path=request.url.path)
        return problem_response(500, "Internal error", "an unexpected error occurred; it has "
                                "been logged with this request's correlation id",
                                slug="internal", instance=request.url.path)


def install_request_context(app: FastAPI, metrics: Metrics, app_name: str) -> None:
    """Correlation id per request (from X-Correlation-Id or new) and latency by route."""
    app.add_middleware(RequestContextMiddleware, metrics=metrics, app_name=app_name)


class RequestContextMiddleware:
    """A pure ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (``@app.middleware``) runs
    each request through extra tasks and memory streams, which cost ~0.6 ms per request on
    the benchmark machine (bare endpoint: 2,864/s without it, 1,039/s with it)."""

    def __init__(self, app, metrics: Metrics, app_name: str) -> None:
        self.app, self.metrics, self.app_name = app, metrics, app_name
        self._latency: dict[tuple[str, str, int], Any] = {}  # labelled children: labels() is slow

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = next((v.decode("latin-1") for k, v in scope["headers"]
                               if k == b"x-correlation-id"), "") or random_uuid()
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        bind_correlation_id(correlation_id)
        started = time.perf_counter()
        status = 500

        async def send_with_context(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()),
                                      (b"x-correlation-id", correlation_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            key = (scope["method"], path, status)
            child = self._latency.get(key)
            if child is None:
                child = self._latency[key] = self.metrics.http_latency.labels(
                    self.app_name, scope["method"], path, str(status))
            child.observe(time.perf_counter() - started)
