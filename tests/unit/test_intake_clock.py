"""Issue 12 defect 3: the system, not the sender, starts the SLA clock.

Every adapter stamps ``received_at`` with the gateway's clock at receipt and keeps what the
channel claims (``Date:``, WhatsApp's ``timestamp``, an SMS provider's time, a post's time, a
LAPOR! report's creation) as ``channel_sent_at``; the engine distrusts a ``received_at`` far from
its own clock (an intake published to Kafka by a channel written elsewhere).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumers.adapters.email import from_email
from consumers.adapters.sms import SmsInbound, from_sms
from consumers.adapters.social import LaporForward, SocialMention, from_lapor, from_social
from consumers.adapters.whatsapp import from_whatsapp
from consumers.gateway.store import AttachmentStore
from tests.unit.test_core_support import intake, workflow
from workflow.codec import encode, parse_intake
from workflow.events import CaseOpened
from workflow.intake import ComplaintSubmitted

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FUTURE = NOW + timedelta(days=24)
PAST = NOW - timedelta(days=400)
Adapter = Callable[[datetime, Path], ComplaintSubmitted]


def by_email(claim: datetime, tmp: Path) -> ComplaintSubmitted:
    date = claim.strftime("%a, %d %b %Y %H:%M:%S +0000")
    raw = (
        f"From: warga@example.id\r\nSubject: Lampu jalan mati\r\nDate: {date}\r\n"
        f"Message-ID: <clock-{claim:%Y%m%d}@example.id>\r\n\r\nLampu jalan di Masohi mati.\r\n"
    ).encode()
    return from_email(raw, NOW, AttachmentStore(tmp / "store").save)


def by_whatsapp(claim: datetime, tmp: Path) -> ComplaintSubmitted:
    message = {
        "from": "6281298765432",
        "id": f"wamid.{int(claim.timestamp())}",
        "timestamp": str(int(claim.timestamp())),
        "type": "text",
        "text": {"body": "ADUAN Air PDAM mati#Sudah tiga hari air tidak mengalir"},
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"changes": [{"field": "messages", "value": {"messages": [message]}}]}],
    }
    [complaint] = from_whatsapp(body, NOW)
    return complaint


def by_sms(claim: datetime, tmp: Path) -> ComplaintSubmitted:
    sms = SmsInbound.model_validate(
        {
            "message_id": "sms-1",
            "from": "081234567890",
            "text": "Puskesmas tutup",
            "received_at": claim,
        }
    )
    return from_sms(sms, NOW)


def by_lapor(claim: datetime, tmp: Path) -> ComplaintSubmitted:
    report = LaporForward(
        tracking_id="#8123456",
        title="Bantuan sosial tidak sampai",
        content="BLT tahap 2 di Desa Haruru belum diterima.",
        created_at=claim,
    )
    return from_lapor(report, NOW)


def by_social(claim: datetime, tmp: Path) -> ComplaintSubmitted:
    mention = SocialMention(
        platform="x",
        post_id="1897012345678901234",
        author_handle="warga_masohi",
        text="@pemkabmalteng jalan ke Tehoru putus",
        posted_at=claim,
    )
    return from_social(mention, NOW)


ADAPTERS = {
    "email": by_email,
    "whatsapp": by_whatsapp,
    "sms": by_sms,
    "lapor": by_lapor,
    "social": by_social,
}


@pytest.mark.parametrize("claim", [FUTURE, PAST], ids=["future-dated", "backdated"])
@pytest.mark.parametrize("channel", sorted(ADAPTERS))
def test_the_receipt_starts_the_clock_and_the_claim_is_kept(
    channel: str, claim: datetime, tmp_path: Path
) -> None:
    complaint = ADAPTERS[channel](claim, tmp_path)
    assert complaint.payload.received_at == NOW
    assert complaint.occurred_at == NOW
    assert complaint.payload.channel_sent_at == claim
    assert parse_intake(encode(complaint)) == complaint
    opened = open_at(complaint, NOW + timedelta(seconds=2))
    assert opened.payload.received_at == NOW
    assert opened.payload.channel_sent_at == claim
    assert opened.payload.received_at_claimed is None
    clock = opened.payload.timers.clock
    assert clock is not None
    assert clock.started_at == NOW


def test_a_claim_the_wire_cannot_carry_is_dropped_not_fatal(tmp_path: Path) -> None:
    """WhatsApp ``timestamp`` 0 (1970) and a mail dated in year 2999 still file a complaint."""
    epoch = by_whatsapp(datetime(1970, 1, 1, tzinfo=UTC), tmp_path)
    assert epoch.payload.received_at == NOW
    assert epoch.payload.channel_sent_at is None
    far = by_email(datetime(2999, 1, 1, tzinfo=UTC), tmp_path)
    assert far.payload.channel_sent_at is None


def test_a_mail_without_a_usable_date_has_no_claim(tmp_path: Path) -> None:
    raw = b"From: a@example.id\r\nDate: kemarin sore\r\nSubject: Tes\r\n\r\nLampu jalan mati.\r\n"
    complaint = from_email(raw, NOW, AttachmentStore(tmp_path / "s").save)
    assert complaint.payload.received_at == NOW
    assert complaint.payload.channel_sent_at is None


# -- the engine's guard for intakes published directly to Kafka -------------------------------


def open_at(message: ComplaintSubmitted, now: datetime) -> CaseOpened:
    [event] = workflow().decide(None, message, now)
    assert isinstance(event, CaseOpened)
    return event


@pytest.mark.parametrize(
    "offset",
    [timedelta(days=24), timedelta(minutes=6), -timedelta(hours=25), -timedelta(days=400)],
    ids=["24d-ahead", "6min-ahead", "25h-behind", "400d-behind"],
)
def test_the_engine_starts_an_implausible_received_at_at_its_own_clock(
    offset: timedelta,
) -> None:
    engine_now = NOW
    claim = engine_now + offset
    opened = open_at(intake(at=claim), engine_now)
    assert opened.payload.received_at == engine_now
    assert opened.payload.received_at_claimed == claim
    clock = opened.payload.timers.clock
    assert clock is not None
    assert clock.started_at == engine_now
    case = workflow().evolve(None, opened)
    assert case.opened_at == engine_now


@pytest.mark.parametrize(
    "offset",
    [timedelta(minutes=4), timedelta(0), -timedelta(hours=23)],
    ids=["clock-skew", "same-instant", "backlog-23h"],
)
def test_the_engine_trusts_a_received_at_within_its_tolerance(offset: timedelta) -> None:
    claim = NOW + offset
    opened = open_at(intake(at=claim), NOW)
    assert opened.payload.received_at == claim
    assert opened.payload.received_at_claimed is None
    clock = opened.payload.timers.clock
    assert clock is not None
    assert clock.started_at == claim
