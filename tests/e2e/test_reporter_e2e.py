"""Issue 15 end to end on the real broker: complaints by WhatsApp, SMS (confidential) and email
through the real gateway and a real worker; the reporter service tells each reporter on their
own channel through local provider servers (real HTTP and SMTP); replies by WhatsApp, SMS and
email become commands; an opt-out stops messages; the messaging service is stopped and the
worker killed mid-run, and nothing is sent twice or missed; the confidential reporter's number
is on no topic but intake, the reply topic and the contact store."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer

from consumers.gateway.security import DEV_API_KEY, DEV_WHATSAPP, whatsapp_signature
from consumers.reporter.runner import create_service
from consumers.reporter.service import ReporterService
from consumers.reporter.settings import ReporterSettings
from consumers.settings import EngineSettings
from tests.e2e import builders as b
from tests.e2e.harness import EngineHarness
from tests.e2e.test_gateway_e2e import Gateway, _ready, until
from tests.reporter_providers import (
    PHONE_NUMBER_ID,
    SMS_SID,
    SMS_TOKEN,
    WA_TOKEN,
    MailServer,
    ProviderServer,
)

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

WA_PHONE = "6281234567890"
SMS_PHONE = "+6281311112222"
MAIL = "warga@example.com"


class Reporters:
    """The reporter service of the test, restartable, on the test's event loop."""

    def __init__(self, engine: EngineHarness, providers: ProviderServer, mail: MailServer):
        self.engine_settings = EngineSettings(
            kafka_bootstrap=[engine.bootstrap], topic_prefix=engine.prefix
        )
        self.settings = ReporterSettings(
            lookup_url="https://aduan.example.go.id/v1/cases/",
            whatsapp_base_url=providers.url,
            whatsapp_phone_number_id=PHONE_NUMBER_ID,
            whatsapp_token=WA_TOKEN,  # type: ignore[arg-type]
            sms_base_url=providers.url,
            sms_account_sid=SMS_SID,
            sms_auth_token=SMS_TOKEN,  # type: ignore[arg-type]
            sms_from="ADUAN",
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            smtp_from="aduan@pemda.example",
            smtp_reply_to="pengaduan@pemda.example",
            per_recipient_gap_seconds=0.2,
            backoff_base=0.05,
        )
        self.service: ReporterService | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> ReporterService:
        self._stop = asyncio.Event()
        self.service = create_service(self.engine_settings, self.settings)
        self._task = asyncio.create_task(self.service.run(self._stop))
        await asyncio.wait_for(self.service.ready.wait(), 60)
        return self.service

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 30)


def whatsapp_webhook(message_id: str, text: str, at: int) -> dict[str, Any]:
    message = {
        "from": WA_PHONE,
        "id": message_id,
        "timestamp": str(at),
        "type": "text",
        "text": {"body": text},
    }
    value = {
        "messaging_product": "whatsapp",
        "contacts": [{"wa_id": WA_PHONE, "profile": {"name": "Maria"}}],
        "messages": [message],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


def email(message_id: str, subject: str, body: str) -> bytes:
    return (
        f"From: Warga Masohi <{MAIL}>\r\nTo: pengaduan@pemda.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{message_id}@example.com>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


class Channels:
    def __init__(self, client: httpx.AsyncClient, epoch: int) -> None:
        self.client = client
        self.epoch = epoch

    async def whatsapp(self, message_id: str, text: str) -> str:
        raw = json.dumps(whatsapp_webhook(message_id, text, self.epoch)).encode()
        signature = whatsapp_signature(DEV_WHATSAPP.app_secret, raw)
        answer = await self.client.post(
            "/v1/intake/whatsapp",
            content=raw,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        )
        assert answer.status_code in (200, 202), answer.text
        return str(answer.json()["tracking_numbers"][0])

    async def sms(self, message_id: str, text: str) -> str:
        body = {"message_id": message_id, "from": SMS_PHONE, "text": text}
        answer = await self.client.post(
            "/v1/intake/sms", json=body, headers={"X-API-Key": DEV_API_KEY}
        )
        assert answer.status_code == 202, answer.text
        return str(answer.json()["tracking_number"])

    async def email(self, message_id: str, subject: str, text: str) -> str:
        answer = await self.client.post(
            "/v1/intake/email",
            content=email(message_id, subject, text),
            headers={"X-API-Key": DEV_API_KEY, "Content-Type": "message/rfc822"},
        )
        assert answer.status_code == 202, answer.text
        return str(answer.json()["tracking_number"])


def staff(engine: EngineHarness, *commands: Any) -> None:
    for command in commands:
        key, value = b.wire(command)
        engine.publish("cases.commands", value, key)


def whatsapp_texts(providers: ProviderServer) -> list[str]:
    out = []
    for m in providers.recorded.whatsapp:
        if m["type"] == "text":
            out.append(m["text"]["body"])
        else:
            out.append(" ".join(p["text"] for p in m["template"]["components"][0]["parameters"]))
    return out


def sms_texts(providers: ProviderServer) -> list[str]:
    return [m["Body"] for m in providers.recorded.sms]


def mail_texts(mail: MailServer) -> list[str]:
    return [str(m.get_content()).strip() for m in mail.messages]


async def wait_count(get: Callable[[], list[str]], n: int, what: str) -> list[str]:
    async def check() -> list[str] | None:
        got = get()
        return got if len(got) >= n else None

    result: list[str] = await until(check, what, limit=90)
    return result


def topic_bytes(engine: EngineHarness, name: str) -> list[bytes]:
    consumer = KafkaConsumer(
        engine.topic(name),
        bootstrap_servers=engine.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        return [(r.key or b"") + b" " + (r.value or b"") for r in consumer]
    finally:
        consumer.close()


def test_reporters_are_told_on_their_channel_and_their_replies_drive_the_case(
    engine: EngineHarness, tmp_path: Path
) -> None:
    engine.start_worker()
    with ProviderServer() as providers, MailServer() as mail:
        asyncio.run(_flow(engine, tmp_path, providers, mail))


async def _flow(
    engine: EngineHarness, tmp_path: Path, providers: ProviderServer, mail: MailServer
) -> None:
    reporters = Reporters(engine, providers, mail)
    await reporters.start()
    t = engine.start
    async with Gateway(engine, tmp_path / "store") as client:
        await until(lambda: _ready(client), "gateway readiness")
        ch = Channels(client, int(t.timestamp()))
        wa_case = await ch.whatsapp("wamid.in.1", "Puskesmas tutup pada jam pelayanan pagi ini.")
        sms_case = await ch.sms(
            "sms-in-1", "ADUAN RAHASIA Lampu jalan di Desa Amahai mati sudah sebulan"
        )
        mail_case = await ch.email("mail-in-1", "Pelayanan KTP lambat", "KTP saya belum jadi.")
        await wait_count(lambda: whatsapp_texts(providers), 1, "WhatsApp received")
        await wait_count(lambda: sms_texts(providers), 1, "SMS received")
        await wait_count(lambda: mail_texts(mail), 1, "email received")

        # information request -> answered by a WhatsApp reply
        staff(engine, b.formal(wa_case, t), b.request_information(wa_case, t))
        await wait_count(lambda: whatsapp_texts(providers), 2, "WhatsApp information request")
        await ch.whatsapp("wamid.in.2", "INFO Puskesmas Masohi, Jalan Abdullah Soulissa")
        await wait_count(lambda: whatsapp_texts(providers), 3, "information received")

        # the messaging service stops mid-run; its successor sends nothing twice, misses nothing
        await reporters.stop()
        for case in (sms_case, mail_case):
            staff(engine, b.formal(case, t), b.material(case, t), b.accept(case, t))
            staff(engine, b.plan(case, t), b.resolve(case, t))
        # ... and so does the worker, with those commands just published (SIGKILL, no commit)
        engine.workers[0].kill()
        await asyncio.to_thread(engine.start_worker, "w2")
        await reporters.start()
        await wait_count(lambda: sms_texts(providers), 4, "SMS referred, plan, resolved")
        await wait_count(lambda: mail_texts(mail), 4, "email referred, plan, resolved")

        # a dispute by SMS (conversation match), a confirmation by email (tracking number)
        await ch.sms("sms-in-2", "TIDAK lampu masih mati di depan sekolah")
        await wait_count(lambda: sms_texts(providers), 5, "dispute received")
        await ch.email(
            "mail-in-2",
            f"Re: Pengaduan {mail_case} telah ditindaklanjuti",
            "YA\n\nPada Senin aduan@pemda.example menulis:\n> Jika Anda puas, balas YA.",
        )
        await wait_count(lambda: mail_texts(mail), 5, "closed after confirmation")

        # an opt-out stops messages, the case goes on
        await ch.whatsapp("wamid.in.3", "BERHENTI")
        await wait_count(lambda: whatsapp_texts(providers), 4, "opt-out confirmed")
        staff(engine, b.material(wa_case, t), b.accept(wa_case, t), b.plan(wa_case, t))
        staff(engine, b.resolve(sms_case, t))
        try:
            await wait_count(lambda: sms_texts(providers), 6, "second resolution by SMS")
        except AssertionError:
            events = [json.loads(r.split(b" ", 1)[1]) for r in topic_bytes(engine, "cases.events")]
            print(
                [
                    (e["type"], e["payload"].get("detail"))
                    for e in events
                    if e["case_id"] == sms_case
                ]
            )
            if reporters.service:
                svc = reporters.service
                print(svc.replies, svc.book.waiting, sms_case, mail_case, list(svc.book.contacts))
            raise
        # the opted-out case's plan was seen and not sent (counted), rather than a fixed sleep
        await until(lambda: _counted(reporters, "plan_posted", "opted_out"), "opted-out plan")
    await reporters.stop()

    _check_messages(providers, mail, wa_case, sms_case, mail_case)
    _check_privacy(engine)


async def _counted(reporters: Reporters, kind: str, outcome: str) -> bool:
    service = reporters.service
    assert service is not None
    labels = {"channel": "whatsapp", "kind": kind, "outcome": outcome}
    value = service.registry.get_sample_value("aduan_reporter_messages_total", labels)
    return bool(value)


def _check_messages(
    providers: ProviderServer, mail: MailServer, wa_case: str, sms_case: str, mail_case: str
) -> None:
    wa, sms, mails = whatsapp_texts(providers), sms_texts(providers), mail_texts(mail)
    assert providers.recorded.rejected == []
    assert len(wa) == 4, wa
    assert wa_case in wa[0]
    assert "Mohon sebutkan nama puskesmas." in wa[1]
    assert "informasi tambahan" in wa[2]
    assert "tidak akan menerima pesan lagi" in wa[3]
    assert len(sms) == 6, sms
    assert sms_case in sms[0]
    assert "diteruskan ke" in sms[1]
    assert "rencana tindak lanjut" in sms[2]
    assert "balas YA" in sms[3]
    assert "dibuka kembali" in sms[4]
    assert "balas YA" in sms[5]
    assert len(mails) == 5, mails
    assert mail_case in mails[0]
    assert "telah ditutup" in mails[4]
    for body in wa + sms + mails:
        assert "Pengaduan" in body or "pengaduan" in body  # Indonesian, every one
    # once each: no body twice on one channel, except the two distinct resolutions
    repeated = {body: n for body, n in Counter(wa + mails).items() if n > 1}
    assert not repeated, repeated
    assert Counter(sms)[sms[3]] == 2  # two resolutions, one message each


def _check_privacy(engine: EngineHarness) -> None:
    national = SMS_PHONE.removeprefix("+62")
    for name in ("cases.events", "cases.state", "reporter.receipts", "deadletter"):
        leaked = [r for r in topic_bytes(engine, name) if national.encode() in r]
        assert not leaked, (name, leaked[:1])
    assert any(national.encode() in r for r in topic_bytes(engine, "reporter.contacts"))
    assert any(national.encode() in r for r in topic_bytes(engine, "complaints.intake"))
