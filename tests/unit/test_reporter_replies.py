"""Reporter replies read as words (issue 15 part 3): keywords, tracking numbers, quoted mail."""

from __future__ import annotations

from datetime import datetime

import pytest

from consumers.reporter.replies import command_for, looks_like_reply, parse_reply
from tests.e2e import builders as b
from workflow.enums import Channel

T0 = datetime.fromisoformat("2026-12-07T09:00:00+09:00")
CASE = "ADU-AAAA-BBBB-CCCC"


@pytest.mark.parametrize(
    ("text", "keyword", "tracking", "rest"),
    [
        ("YA", "CONFIRM", None, ""),
        ("ya, terima kasih", "CONFIRM", None, "terima kasih"),
        (f"TIDAK {CASE} jalan masih berlubang", "DISPUTE", CASE, "jalan masih berlubang"),
        ("INFO Puskesmas Masohi", "INFO", None, "Puskesmas Masohi"),
        ("berhenti", "STOP", None, ""),
        (f"{CASE.lower()} Puskesmas Masohi", None, CASE, "Puskesmas Masohi"),
        ("Jalan di Amahai rusak", None, None, "Jalan di Amahai rusak"),
    ],
)
def test_keywords_and_tracking_numbers(
    text: str, keyword: str | None, tracking: str | None, rest: str
) -> None:
    reply = parse_reply(text)
    assert (reply.keyword, reply.tracking, reply.text) == (keyword, tracking, rest)


def test_an_email_reply_is_read_without_the_quoted_message() -> None:
    mail = (
        "TIDAK antrean masih panjang\n\n"
        "Pada 7 Des 2026 aduan@pemda menulis:\n> Jika Anda puas, balas YA.\n"
    )
    reply = parse_reply(mail, subject=f"Re: Pengaduan {CASE} telah ditindaklanjuti")
    assert reply.keyword == "DISPUTE"
    assert reply.tracking == CASE
    assert reply.text == "antrean masih panjang"


def test_only_messaging_channels_with_a_keyword_or_number_look_like_replies() -> None:
    assert looks_like_reply(b.complaint("m1", T0, channel=Channel.SMS, text="YA"))
    assert looks_like_reply(b.complaint("m2", T0, channel=Channel.WHATSAPP, text=f"{CASE} ok"))
    assert not looks_like_reply(b.complaint("m3", T0, channel=Channel.SMS, text="Jalan rusak"))
    assert not looks_like_reply(b.complaint("m4", T0, channel=Channel.WEB, text="YA"))


def test_a_reply_becomes_the_command_its_case_waits_for() -> None:
    message = b.complaint("m5", T0, channel=Channel.SMS, text="TIDAK lampu masih mati")
    reply = parse_reply(message.payload.text)
    dispute = command_for(reply, CASE, "confirmation", message, T0)
    assert dispute.type == "DisputeResolution"
    assert dispute.payload.reason == "lampu masih mati"
    assert dispute.payload.actor.id == "reporter"
    assert dispute.event_id == "reply:sms:m5"
    assert command_for(reply, CASE, "information", message, T0) is None
    assert command_for(reply, CASE, None, message, T0) is None
    bare = parse_reply("TIDAK")
    assert command_for(bare, CASE, "confirmation", message, T0) is None  # a reason is needed
    info = command_for(parse_reply("INFO Puskesmas Masohi"), CASE, "information", message, T0)
    assert info.type == "ProvideInformation"
    assert info.payload.text == "Puskesmas Masohi"
