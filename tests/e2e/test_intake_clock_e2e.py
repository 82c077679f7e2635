"""Issue 12 defect 3 end to end: a future-dated and a backdated complaint, through the gateway
and a real engine worker on the shared broker, open cases whose SLA clock starts at receipt;
an intake published straight to Kafka with a far-off ``received_at`` starts at the engine's clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from consumers.gateway.security import DEV_API_KEY
from tests.e2e import builders as b
from tests.e2e.harness import EngineHarness
from tests.e2e.test_gateway_e2e import Gateway, _ready, until
from workflow.codec import encode

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]

KEY = {"X-API-Key": DEV_API_KEY}
WHATSAPP_SECRET = "dev-whatsapp-secret"


def test_future_and_backdated_complaints_start_at_receipt(
    engine: EngineHarness, tmp_path: Path
) -> None:
    engine.start_worker()
    tracking = asyncio.run(_submit_claims(engine, tmp_path))
    future = engine.start + timedelta(days=24)
    direct = b.complaint("direct-future-1", future)
    key, value = direct.derived_case_id.encode(), encode(direct)
    engine.publish("complaints.intake", value, key)

    events = engine.reader("cases.events")
    wanted = {*tracking, direct.derived_case_id}
    values = events.wait(
        lambda vs: wanted <= {e["case_id"] for e in vs if e["type"] == "CaseOpened"},
        60,
        "a CaseOpened for every complaint",
    )
    opened = {e["case_id"]: e["payload"] for e in values if e["type"] == "CaseOpened"}
    for case_id in wanted:
        payload = opened[case_id]
        assert _instant(payload["received_at"]) == engine.start, payload
        assert _instant(payload["timers"]["clock"]["started_at"]) == engine.start
    claims = {_instant(opened[t]["channel_sent_at"]) for t in tracking}
    assert claims == {engine.start + timedelta(days=24), engine.start - timedelta(days=400)}
    assert _instant(opened[direct.derived_case_id]["received_at_claimed"]) == future


async def _submit_claims(engine: EngineHarness, tmp_path: Path) -> list[str]:
    ahead = engine.start + timedelta(days=24)
    behind = engine.start - timedelta(days=400)
    async with Gateway(engine, tmp_path / "store") as client:
        await until(lambda: _ready(client), "gateway readiness")
        tracking = [
            await _email(client, ahead.strftime("%a, %d %b %Y %H:%M:%S %z"), "future"),
            await _email(client, behind.strftime("%a, %d %b %Y %H:%M:%S %z"), "past"),
            await _whatsapp(client, int(ahead.timestamp())),
            await _sms(client, behind.isoformat()),
            await _lapor(client, behind.isoformat()),
        ]
    return tracking


async def _accepted(answer: httpx.Response) -> str:
    assert answer.status_code in (200, 202), answer.text
    body: dict[str, Any] = answer.json()
    return str(body.get("tracking_number") or body["tracking_numbers"][0])


async def _email(client: httpx.AsyncClient, date: str, tag: str) -> str:
    raw = (
        f"From: warga@example.id\r\nSubject: Lampu jalan mati\r\nDate: {date}\r\n"
        f"Message-ID: <clock-{tag}@example.id>\r\n\r\nLampu jalan di Masohi mati.\r\n"
    ).encode()
    headers = {**KEY, "Content-Type": "message/rfc822"}
    return await _accepted(await client.post("/v1/intake/email", content=raw, headers=headers))


async def _whatsapp(client: httpx.AsyncClient, stamp: int) -> str:
    message = {
        "from": "6281298765432",
        "id": "wamid.clock-future",
        "timestamp": str(stamp),
        "type": "text",
        "text": {"body": "Air PDAM mati sudah tiga hari"},
    }
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"changes": [{"field": "messages", "value": {"messages": [message]}}]}],
        }
    ).encode()
    signature = hmac.new(WHATSAPP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"}
    return await _accepted(await client.post("/v1/intake/whatsapp", content=body, headers=headers))


async def _sms(client: httpx.AsyncClient, received_at: str) -> str:
    sms = {"message_id": "sms-clock-1", "from": "081234567890", "text": "Puskesmas tutup"}
    answer = await client.post(
        "/v1/intake/sms", json={**sms, "received_at": received_at}, headers=KEY
    )
    return await _accepted(answer)


async def _lapor(client: httpx.AsyncClient, created_at: str) -> str:
    report = {
        "tracking_id": "8123999",
        "title": "Bansos tidak sampai",
        "content": "BLT tahap 2 di Desa Haruru belum diterima.",
        "created_at": created_at,
    }
    return await _accepted(await client.post("/v1/intake/lapor", json=report, headers=KEY))


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)
