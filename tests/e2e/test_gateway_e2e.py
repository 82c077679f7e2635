"""From an HTTP submission to a case visible through lookup and Open311: real broker, real
engine worker (subprocess), the gateway in process with its real Kafka producer and read model."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from consumers.gateway.app import create_app
from consumers.gateway.security import DEV_API_KEY, DEV_TOKENS, OperatorRole, dev_security
from consumers.gateway.settings import GatewaySettings
from tests.e2e.harness import EngineHarness

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]

VERIFIER = {"Authorization": f"Bearer {DEV_TOKENS[OperatorRole.VERIFIER]}"}
AGENCY = {"Authorization": f"Bearer {DEV_TOKENS[OperatorRole.AGENCY_OFFICER]}"}


async def until(check: Callable[[], Awaitable[Any]], what: str, limit: float = 60) -> Any:
    deadline = time.monotonic() + limit
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {limit:.0f}s waiting for {what}")
        await asyncio.sleep(0.2)


class Gateway:
    """The gateway app on the test broker, driven through httpx's ASGI transport."""

    def __init__(self, engine: EngineHarness, store: Path) -> None:
        settings = GatewaySettings(
            kafka_bootstrap=[engine.bootstrap],
            topic_prefix=engine.prefix,
            gateway_store_dir=store,
            gateway_rate_per_minute=0,
            gateway_dev_mode=True,
            readmodel_url=f"sqlite:///{store.parent / 'readmodel.sqlite'}",
        )
        # the gateway stamps received_at with the engine's simulated "now"
        self.app = create_app(settings, security=dev_security(), clock=lambda: engine.start)

    async def __aenter__(self) -> httpx.AsyncClient:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        transport = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://gateway")
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        await self._lifespan.__aexit__(None, None, None)


async def state_of(client: httpx.AsyncClient, tracking: str, wanted: str) -> Any:
    async def check() -> Any:
        answer = await client.get(f"/v1/cases/{tracking}", headers=VERIFIER)
        return (
            answer.json()
            if answer.status_code == 200 and answer.json()["state"] == wanted
            else None
        )

    return await until(check, f"{tracking} in state {wanted}")


def test_http_submission_to_lookup_and_open311(engine: EngineHarness, tmp_path: Path) -> None:
    engine.start_worker()
    asyncio.run(_submission_to_lookup(engine, tmp_path))


async def _submission_to_lookup(engine: EngineHarness, tmp_path: Path) -> None:
    form = {
        "submission_id": "e2e-1",
        "text": "Jalan di Desa Amahai berlubang besar, sudah 3 bulan tidak diperbaiki.",
        "name": "Budi Santoso",
        "phone": "081234567890",
        "confidentiality": "anonymous",
        "location": {"address": "Desa Amahai", "latitude": -3.33, "longitude": 128.92},
    }
    async with Gateway(engine, tmp_path / "store") as client:
        await until(lambda: _ready(client), "gateway readiness (producer + read model caught up)")
        answer = await client.post("/v1/intake/web", json=form, headers={"X-API-Key": DEV_API_KEY})
        assert answer.status_code == 202, answer.text
        tracking = answer.json()["tracking_number"]
        again = await client.post("/v1/intake/web", json=form, headers={"X-API-Key": DEV_API_KEY})
        assert again.json()["tracking_number"] == tracking

        received = await state_of(client, tracking, "received")
        assert received["case"]["reporter"]["name"] is None  # anonymous on the snapshot
        public = (await client.get(f"/v1/cases/{tracking}")).json()
        assert "Budi" not in str(public)
        assert public["expected_at"]

        for type_, payload in (
            ("CompleteFormalVerification", {}),
            ("CompleteMaterialVerification", {"agency": "PUPR"}),
        ):
            sent = await client.post(
                f"/v1/cases/{tracking}/commands",
                json={"type": type_, "payload": payload},
                headers=VERIFIER,
            )
            assert sent.status_code == 202, sent.text
        referred = await state_of(client, tracking, "referred")
        assert referred["agency"] == "PUPR"
        kinds = [e["type"] for e in referred["history"]]
        assert kinds[:2] == ["CaseOpened", "FormalVerificationCompleted"], kinds
        assert "SlaWarningRaised" not in kinds
        officer = await client.get(f"/v1/cases/{tracking}", headers=AGENCY)
        assert officer.status_code == 200

        [request] = (await client.get(f"/open311/v2/requests/{tracking}.json")).json()
        assert request["status"] == "open"
        assert request["agency_responsible"] == "Dinas Pekerjaan Umum dan Penataan Ruang"
        assert request["expected_datetime"]
        assert request["lat"] == -3.33
        listed = (await client.get("/open311/v2/requests.json")).json()
        assert tracking in [r["service_request_id"] for r in listed]

    # a restarted gateway rebuilds its read model from the compacted cases.state
    async with Gateway(engine, tmp_path / "store") as client:
        await until(lambda: _ready(client), "restarted gateway readiness")
        again = (await client.get(f"/v1/cases/{tracking}")).json()
        assert again["state"] == "referred"


async def _ready(client: httpx.AsyncClient) -> bool:
    answer = await client.get("/readyz")
    return answer.status_code == 200
