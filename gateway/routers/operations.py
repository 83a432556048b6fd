"""Health, readiness and metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.context import ContextDep

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", operation_id="healthz")
async def healthz():
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="readyz")
async def readyz(ctx: ContextDep):
    """Ready when every dependency answers and projections are caught up within the threshold."""
    names = list(ctx.readiness)

    async def run(check):
        try:
            return await asyncio.wait_for(check(), 5.0)
        except Exception as error:
            return False, f"{type(error).__name__}: {error}"[:300]

    results = await asyncio.gather(*(run(ctx.readiness[n]) for n in names))
    checks = {n: {"ok": ok, "detail": detail} for n, (ok, detail) in zip(names, results,
                                                                          strict=True)}
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics", operation_id="metrics")
async def metrics(ctx: ContextDep):
    """Prometheus metrics of this process."""
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
