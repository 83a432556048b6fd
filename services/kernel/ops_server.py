"""The operations endpoint of a worker process (relay): /metrics, /healthz and /readyz.

HTTP services have these routes in their own app; a relay has no app, so it serves them on
its metrics port. /readyz answers 200 only when every check passes, else 503, with each
check's detail (the same body as the gateway's).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["Check", "ops_app", "readiness", "serve_ops"]

Check = Callable[[], Awaitable[tuple[bool, str]]]
"""A readiness check: (ok, one-line detail)."""


async def _run(check: Check) -> tuple[bool, str]:
    try:
        return await asyncio.wait_for(check(), 5.0)
    except Exception as error:
        return False, f"{type(error).__name__}: {error}"[:300]


async def readiness(checks: dict[str, Check]) -> tuple[bool, dict]:
    """Runs every check at once (5 s each); (ready, the /readyz body)."""
    names = list(checks)
    results = await asyncio.gather(*(_run(checks[n]) for n in names))
    body = {n: {"ok": ok, "detail": detail} for n, (ok, detail) in zip(names, results, strict=True)}
    ready = all(c["ok"] for c in body.values())
    return ready, {"status": "ready" if ready else "not_ready", "checks": body}


def ops_app(registry: CollectorRegistry, checks: dict[str, Check]) -> Starlette:
    async def metrics(_request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def healthz(_request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_request) -> JSONResponse:
        ready, body = await readiness(checks)
        return JSONResponse(body, status_code=200 if ready else 503)

    return Starlette(routes=[Route("/metrics", metrics), Route("/healthz", healthz),
                             Route("/readyz", readyz)])


async def serve_ops(port: int, registry: CollectorRegistry, checks: dict[str, Check],
                    stop: asyncio.Event, host: str = "0.0.0.0") -> None:
    """Serve ``ops_app`` until ``stop`` is set."""
    server = uvicorn.Server(uvicorn.Config(ops_app(registry, checks), host=host, port=port,
                                           log_level="warning", lifespan="off",
                                           access_log=False))
    server.capture_signals = contextlib.nullcontext  # the worker owns SIGINT and SIGTERM
    task = asyncio.create_task(server.serve())
    try:
        await stop.wait()
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5.0)
