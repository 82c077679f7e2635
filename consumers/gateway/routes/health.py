"""``/healthz`` (the process answers) and ``/readyz`` (producer started, read model caught up)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from consumers.gateway.context import GatewayDep

health = APIRouter(tags=["health"])


@health.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health.get("/readyz", summary="Readiness: producer started and read model caught up")
async def readyz(gw: GatewayDep) -> JSONResponse:
    body = {
        "producer": gw.publisher.ready,
        "read_model": gw.read_model.ready,
        "cases": len(gw.read_model.cases),
    }
    ready = gw.publisher.ready and gw.read_model.ready
    return JSONResponse({"ready": ready, **body}, status_code=200 if ready else 503)
