"""The gateway: the one public entry point (queries, forwarded commands, health, metrics)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from gateway.context import GatewayContext
from gateway.etags import install_etags
from gateway.routers import (
    access,
    dashboard,
    governance,
    operations,
    personnel,
    talent,
    training,
    unified,
)
from services.kernel.http import install_problem_handlers, install_request_context
from services.kernel.metrics import Metrics
from services.kernel.service_app import StaticRouteDispatch
from services.kernel.settings import Settings

__all__ = ["create_app"]

DESCRIPTION = """\
Zugong (组工) — one API for personnel, training, talent and governance.

* **Auth**: `Authorization: Bearer <JWT>`; the role in the token decides what you may do.
* **Errors**: RFC 9457 `application/problem+json` with `errors[].pointer` field paths.
* **Read your writes**: every command answers a `consistency_token`; send it back as
  `X-Consistency-Token` and the query waits (up to 5 s by default) until the read model has
  it. The response header `X-Consistency` says `fresh`, or `stale` if the wait timed out.
* **Concurrency**: resources carry their version as `ETag`; send it as `If-Match` on a
  command to get 412 instead of overwriting a change you have not seen.
* **Retries**: send an `Idempotency-Key` header; a retried command is answered, not re-applied.
"""


def create_app(
    settings: Settings, *, metrics: Metrics,
    context: Callable[[], AbstractAsyncContextManager[GatewayContext]],
) -> FastAPI:
    """``context`` is entered in the lifespan: the runtime decides what it builds."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with context() as ctx:
            app.state.context = ctx
            app.state.verifier = ctx.verifier
            yield

    app = FastAPI(title="Zugong gateway", version="1.0.0", description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.metrics = metrics
    install_problem_handlers(app)
    install_etags(app)
    install_request_context(app, metrics, "gateway")
    if settings.gateway.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.gateway.cors_origins,
                           allow_methods=["*"], allow_headers=["*"],
                           expose_headers=["ETag", "X-Consistency", "X-Consistency-Token",
                                           "X-Correlation-Id", "Location"])
    app.include_router(operations.router)
    app.include_router(personnel.router)
    app.include_router(talent.router)
    app.include_router(training.router)
    app.include_router(governance.router)
    app.include_router(dashboard.router)
    app.include_router(access.router)
    app.include_router(unified.router)
    StaticRouteDispatch.install(app)
    return app
