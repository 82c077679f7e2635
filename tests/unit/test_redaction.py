"""Redaction of personal data (workflow.redaction) and the identity of non-public reporters
kept out of what the core stores."""

from __future__ import annotations

from datetime import UTC, datetime

from workflow.core import Workflow
from workflow.enums import Channel, Confidentiality
from workflow.intake import ComplaintPayload, ComplaintSubmitted
from workflow.policy import load_policy
from workflow.redaction import redact, redact_identity
from workflow.reporter import Reporter

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_redact_removes_contacts_numbers_and_names() -> None:
    text = (
        "Hubungi saya di +62 812 3456 7890 atau 0911-21234 / ani@example.id. NIK "
        "8101012345670001, rekening BRI 0123-01-000123-50-9. Tanggal 02-03-2026, 3 bulan. "
        "Ani Lestari"
    )
    out = redact(text, ["Ani Lestari"])
    assert out == (
        "Hubungi saya di [telepon] atau [telepon] / [email]. NIK [NIK], rekening BRI [nomor]. "
        "Tanggal 02-03-2026, 3 bulan. [nama]"
    )


def test_redact_identity_only_for_non_public_reporters() -> None:
    text = "Tolong. Salam, Ani Lestari (0812-3456-7890, Ani@Example.id). Petugas: 0813-1111-2222"
    rekening = "Transfer ke rekening 1234567890123."
    anonymous_only = Reporter(confidentiality=Confidentiality.ANONYMOUS)
    assert redact_identity(rekening, anonymous_only) == rekening  # evidence stays
    anonymous = Reporter(
        name="Ani Lestari",
        phone="081234567890",
        email="ani@example.id",
        confidentiality=Confidentiality.ANONYMOUS,
    )
    assert redact_identity(text, anonymous) == (
        "Tolong. Salam, [nama] ([telepon], [email]). Petugas: [telepon]"
    )
    public = anonymous.model_copy(update={"confidentiality": Confidentiality.PUBLIC})
    assert redact_identity(text, public) == text


def test_the_core_stores_no_signature_of_an_anonymous_reporter() -> None:
    reporter = Reporter(
        name="Ani Lestari", phone="081234567890", confidentiality=Confidentiality.ANONYMOUS
    )
    complaint = ComplaintSubmitted(
        event_id="intake:x",
        occurred_at=NOW,
        payload=ComplaintPayload(
            channel=Channel.EMAIL,
            channel_message_id="m-1",
            received_at=NOW,
            reporter=reporter,
            subject="Ani Lestari: pungli di kantor camat",
            text="Petugas minta uang.\n\nSalam,\nAni Lestari\n+62 812-3456-7890",
        ),
    )
    case, events = Workflow(load_policy(), reporter_key=b"k" * 32).handle(None, complaint, NOW)
    stored = "".join(e.model_dump_json() for e in events) + (case.model_dump_json() if case else "")
    assert "Ani" not in stored
    assert "3456" not in stored
    assert "Petugas minta uang." in stored
