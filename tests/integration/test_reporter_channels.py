"""The reporter channels against local servers speaking the providers' documented shapes (real
HTTP and SMTP): WhatsApp text inside the 24-hour window and template outside it, Twilio-style
SMS, email; retries through an outage; a permanent refusal is not retried."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from consumers.reporter.channels import (
    Outgoing,
    SmsSender,
    SmtpConfig,
    SmtpSender,
    WhatsAppSender,
)
from consumers.reporter.delivery import RecipientPacer, RetryPolicy, send_with_retries
from consumers.reporter.messages import Rendered
from tests.reporter_providers import (
    PHONE_NUMBER_ID,
    SMS_SID,
    SMS_TOKEN,
    WA_TOKEN,
    MailServer,
    ProviderServer,
)

NOW = datetime.fromisoformat("2026-12-07T12:00:00+09:00")
PHONE = "+6281234567890"
RENDERED = Rendered(
    subject="Pengaduan ADU-AAAA-BBBB-CCCC telah diterima",
    body="Pengaduan Anda telah kami terima dengan nomor ADU-AAAA-BBBB-CCCC.",
    template="aduan_diterima",
    params=("ADU-AAAA-BBBB-CCCC",),
)
FAST = RetryPolicy(max_attempts=5, base=0.01, cap=0.05, give_up_after=10)


@pytest.fixture
def providers() -> Iterator[ProviderServer]:
    with ProviderServer() as server:
        yield server


def whatsapp(providers: ProviderServer) -> WhatsAppSender:
    return WhatsAppSender(providers.url, PHONE_NUMBER_ID, WA_TOKEN)


def outgoing(last_inbound: datetime | None) -> Outgoing:
    return Outgoing(PHONE, RENDERED, "id", last_inbound_at=last_inbound, now=NOW)


async def test_whatsapp_text_inside_the_window_template_outside(
    providers: ProviderServer,
) -> None:
    sender = whatsapp(providers)
    assert await sender.send(outgoing(NOW - timedelta(hours=2))) == "wamid.1"
    await sender.send(outgoing(NOW - timedelta(hours=25)))
    await sender.send(outgoing(None))
    text, template, no_inbound = providers.recorded.whatsapp
    assert text["type"] == "text"
    assert text["to"] == "6281234567890"
    assert text["text"]["body"] == RENDERED.body
    assert template["type"] == "template"
    assert template["template"]["name"] == "aduan_diterima"
    assert template["template"]["language"] == {"code": "id"}
    [component] = template["template"]["components"]
    assert component["parameters"] == [{"type": "text", "text": "ADU-AAAA-BBBB-CCCC"}]
    assert no_inbound["type"] == "template"
    assert providers.recorded.rejected == []


async def test_whatsapp_falls_back_to_the_template_when_meta_says_the_window_closed(
    providers: ProviderServer,
) -> None:
    providers.recorded.window_closed = True
    await whatsapp(providers).send(outgoing(NOW - timedelta(hours=1)))
    [sent] = providers.recorded.whatsapp
    assert sent["type"] == "template"


async def test_sms_is_a_twilio_form_with_basic_auth(providers: ProviderServer) -> None:
    sender = SmsSender(providers.url, SMS_SID, SMS_TOKEN, "ADUAN")
    sid = await sender.send(outgoing(None))
    assert sid.startswith("SM")
    assert providers.recorded.sms == [{"To": PHONE, "From": "ADUAN", "Body": RENDERED.body}]


async def test_an_outage_is_retried_and_a_refusal_is_not(providers: ProviderServer) -> None:
    providers.recorded.fail_next = 2
    result = await send_with_retries(whatsapp(providers), outgoing(None), FAST)
    assert result.delivered
    assert result.attempts == 3
    refused = WhatsAppSender(providers.url, PHONE_NUMBER_ID, "wrong-token")
    result = await send_with_retries(refused, outgoing(None), FAST)
    assert not result.delivered
    assert result.attempts == 1
    assert "401" in result.reason
    assert PHONE not in result.reason


async def test_email_over_smtp_in_utf8_with_a_reply_address() -> None:
    with MailServer() as mail:
        config = SmtpConfig("127.0.0.1", mail.port, "aduan@pemda.example", "balas@pemda.example")
        message = Outgoing("warga@example.com", RENDERED, "id")
        await SmtpSender(config).send(message)
        [received] = mail.messages
    assert received["To"] == "warga@example.com"
    assert received["Subject"] == RENDERED.subject
    assert received["Reply-To"] == "balas@pemda.example"
    assert received.get_content().strip() == RENDERED.body


def test_the_pacer_spaces_and_caps_messages_per_recipient() -> None:
    now = [0.0]
    pacer = RecipientPacer(per_hour=3, gap=1.0, clock=lambda: now[0])
    assert pacer.wait_for(PHONE) == 0
    pacer.note(PHONE)
    assert pacer.wait_for(PHONE) == pytest.approx(1.0)
    assert pacer.wait_for("+6281111111111") == 0
    for _ in range(2):
        now[0] += 1.0
        pacer.note(PHONE)
    now[0] += 1.0
    assert pacer.wait_for(PHONE) == pytest.approx(3600 - 3.0)
