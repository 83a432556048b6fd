"""Health, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.context import ContextDep
from services.kernel.ops_server import readiness

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", operation_id="healthz")
async def healthz():
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", operation_id="readyz")
async def readyz(ctx: ContextDep):
    """Ready when every dependency answers and projections are caught up within the threshold."""
    ready, body = await readiness(ctx.readiness)
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", operation_id="metrics")
async def metrics(ctx: ContextDep):
    """Prometheus metrics of this process."""
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
