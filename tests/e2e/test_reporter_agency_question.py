"""Issue 15 part 6 on the real broker: the agency asks the reporter during its work; the
question reaches the reporter on WhatsApp, their WhatsApp reply becomes ``ProvideInformation``
through the gateway and the reporter service, and the case stays with the agency, its stage clock
running again (real worker, gateway, reporter service and a local WhatsApp API server)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import builders as b
from tests.e2e.harness import EngineHarness
from tests.e2e.test_gateway_e2e import Gateway, _ready, until
from tests.e2e.test_reporter_e2e import (
    Channels,
    Reporters,
    staff,
    topic_bytes,
    wait_count,
    whatsapp_texts,
)
from tests.reporter_providers import MailServer, ProviderServer
from workflow.commands import RequestInformation, RequestInformationPayload

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

QUESTION = "Di depan rumah nomor berapa lubang jalannya?"


def test_the_agencys_question_is_answered_by_whatsapp_and_the_case_goes_on(
    engine: EngineHarness, tmp_path: Path
) -> None:
    engine.start_worker()
    with ProviderServer() as providers, MailServer() as mail:
        asyncio.run(_flow(engine, tmp_path, providers, mail))


def events_of(engine: EngineHarness, case_id: str) -> list[dict[str, Any]]:
    events = [json.loads(r.split(b" ", 1)[1]) for r in topic_bytes(engine, "cases.events")]
    return [e for e in events if e["case_id"] == case_id]


async def _flow(
    engine: EngineHarness, tmp_path: Path, providers: ProviderServer, mail: MailServer
) -> None:
    reporters = Reporters(engine, providers, mail)
    await reporters.start()
    t = engine.start
    async with Gateway(engine, tmp_path / "store") as client:
        await until(lambda: _ready(client), "gateway readiness")
        ch = Channels(client, int(t.timestamp()))
        case_id = await ch.whatsapp("wamid.q.1", "Jalan berlubang di depan puskesmas Masohi.")
        staff(engine, b.formal(case_id, t), b.material(case_id, t), b.accept(case_id, t))
        await wait_count(lambda: whatsapp_texts(providers), 2, "received and referred")
        ask = RequestInformation(
            event_id=b.new_id(),
            occurred_at=t,
            case_id=case_id,
            payload=RequestInformationPayload(actor=b.agency_actor("DINKES"), question=QUESTION),
        )
        staff(engine, ask)
        texts = await wait_count(lambda: whatsapp_texts(providers), 3, "the agency's question")
        assert QUESTION in texts[2]
        assert "dihentikan sementara" in texts[2]
        await ch.whatsapp("wamid.q.2", "INFO Nomor 12, pagar hijau")
        texts = await wait_count(lambda: whatsapp_texts(providers), 4, "information received")
        assert "informasi tambahan" in texts[3]
    await reporters.stop()

    history = events_of(engine, case_id)
    types = [e["type"] for e in history]
    assert "CommandRejected" not in types, history
    provided = history[types.index("InformationProvided")]
    assert provided["payload"]["text"] == "Nomor 12, pagar hijau"
    clock = provided["payload"]["timers"]["clock"]
    assert clock["stage"] == "follow_up_plan"  # accepted, no plan yet: the agency's clock
    assert clock["running_since"] is not None  # running again
    assert provided["payload"]["timers"]["reporter_clock"] is None
