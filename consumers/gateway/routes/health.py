"""``/healthz`` (the process answers; broker reachability shown) and ``/readyz`` (producer
started, read model caught up, broker reachable)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from consumers.gateway.context import GatewayDep
from consumers.readmodel.queries import QueueQuery

health = APIRouter(tags=["health"])


@health.get("/healthz", summary="Liveness")
async def healthz(gw: GatewayDep) -> dict[str, Any]:
    if gw.broker is None:
        return {"status": "ok"}
    return {"status": "ok", "broker": gw.broker.status()}


@health.get("/readyz", summary="Readiness: producer started and read model caught up")
async def readyz(gw: GatewayDep) -> JSONResponse:
    body: dict[str, Any] = {
        "producer": gw.publisher.ready,
        "read_model": gw.read_model.ready,
        "cases": gw.read_model.count(QueueQuery(include_final=True)),
    }
    connected = True
    if gw.broker is not None:
        body["broker"] = gw.broker.status()
        connected = gw.broker.connected
    ready = gw.publisher.ready and gw.read_model.ready and connected
    return JSONResponse({"ready": ready, **body}, status_code=200 if ready else 503)
