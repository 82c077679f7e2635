"""Channel adapters on realistic provider payloads (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumers.adapters.base import AdapterError, parse_keyword_text
from consumers.adapters.email import from_email, html_to_text
from consumers.adapters.sms import SmsInbound, from_sms, sms_from_form
from consumers.adapters.social import LaporForward, SocialMention, from_lapor, from_social
from consumers.adapters.web import OperatorComplaint, WebComplaint, from_operator, from_web
from consumers.adapters.whatsapp import from_whatsapp
from consumers.gateway.store import AttachmentStore
from workflow.codec import encode, parse_intake
from workflow.enums import Channel, Confidentiality
from workflow.intake import case_id_for

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CODES = frozenset({"PUPR", "DINKES"})


def roundtrip(complaint: object) -> None:
    """Whatever an adapter builds is a valid intake message on the wire."""
    assert parse_intake(encode(complaint)) == complaint  # type: ignore[arg-type]


# -- web / operator --------------------------------------------------------------------------


def test_web_form_maps_fields_and_is_deterministic() -> None:
    form = WebComplaint(
        submission_id="f-1",
        text="Jalan di Desa Amahai berlubang, sudah 3 bulan tidak diperbaiki.",
        name="Budi Santoso",
        phone="0812-3456-7890",
        email="budi@example.id",
        confidentiality=Confidentiality.ANONYMOUS,
    )
    one = from_web(form, "portal", NOW)
    two = from_web(form, "portal", NOW)
    assert one.derived_case_id == two.derived_case_id == case_id_for("web", "portal:f-1")
    assert one.event_id == two.event_id
    assert one.payload.reporter.phone == "+6281234567890"
    assert one.payload.reporter.confidentiality is Confidentiality.ANONYMOUS
    assert one.payload.subject.startswith("Jalan di Desa Amahai")
    roundtrip(one)


def test_web_form_bad_phone_names_the_field_not_the_value() -> None:
    # the model refuses it already (its pattern); the adapter's own check stays as a defence
    form = WebComplaint.model_construct(submission_id="f-2", text="Keluhan", phone="12")
    with pytest.raises(AdapterError) as err:
        from_web(form, "portal", NOW)
    assert err.value.reason == "invalid_payload"
    assert "reporter.phone" in err.value.detail
    assert "12" not in err.value.detail.replace("reporter", "")


def test_operator_form_records_the_operator_in_the_message_id() -> None:
    form = OperatorComplaint(submission_id="t-77", text="Pelayanan KTP lambat", channel="walk_in")
    complaint = from_operator(form, "op-ambon-07", NOW)
    assert complaint.payload.channel is Channel.WALK_IN
    assert complaint.payload.channel_message_id == "op-ambon-07:t-77"


# -- SMS ---------------------------------------------------------------------------------------


def test_sms_keyword_format() -> None:
    sms = SmsInbound.model_validate(
        {
            "message_id": "sms-5531",
            "from": "+62 812-3456-7890",
            "text": "ADUAN RAHASIA #PUPR Jalan rusak#Jalan di Desa Amahai berlubang besar#Amahai",
        }
    )
    complaint = from_sms(sms, NOW, CODES)
    p = complaint.payload
    assert p.channel is Channel.SMS
    assert p.subject == "Jalan rusak"
    assert p.text == "Jalan di Desa Amahai berlubang besar"
    assert p.agency_hint == "PUPR"
    assert p.location is not None
    assert p.location.address == "Amahai"
    assert p.reporter.confidentiality is Confidentiality.CONFIDENTIAL
    assert p.received_at == NOW
    roundtrip(complaint)


def test_sms_free_text_and_unknown_hash_word() -> None:
    report = parse_keyword_text("lapor #XYZ puskesmas tutup", CODES)
    assert report.keyword
    assert report.agency_hint is None
    assert report.text == "XYZ puskesmas tutup"
    plain = parse_keyword_text("Puskesmas Masohi tutup siang hari", CODES)
    assert not plain.keyword
    assert plain.text.startswith("Puskesmas")


def test_sms_twilio_form_and_missing_field() -> None:
    sms = sms_from_form({"MessageSid": "SM123", "From": "+6281234567890", "Body": "Lampu mati"})
    assert from_sms(sms, NOW).payload.channel_message_id == "SM123"
    with pytest.raises(AdapterError, match="Body: Field required"):
        sms_from_form({"MessageSid": "SM124", "From": "+6281234567890"})


def test_sms_same_message_twice_is_one_case() -> None:
    raw = {"message_id": "m-1", "from": "081234567890", "text": "Air PDAM mati"}
    a = from_sms(SmsInbound.model_validate(raw), NOW)
    b = from_sms(SmsInbound.model_validate(raw), datetime(2026, 3, 3, tzinfo=UTC))
    assert a.derived_case_id == b.derived_case_id


# -- WhatsApp ----------------------------------------------------------------------------------


def wa_payload(*messages: dict[str, object]) -> dict[str, object]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "6282137373737",
                                "phone_number_id": "106540352242922",
                            },
                            "contacts": [
                                {"profile": {"name": "Siti Aminah"}, "wa_id": "6281298765432"}
                            ],
                            "messages": list(messages),
                        },
                    }
                ],
            }
        ],
    }


def test_whatsapp_text_image_location_and_status() -> None:
    payload = wa_payload(
        {
            "from": "6281298765432",
            "id": "wamid.HBgLNjI4MTI5ODc2NTQzMhUCABIYFjNFQjA",
            "timestamp": "1772442000",
            "type": "text",
            "text": {"body": "ADUAN ANONIM Sampah menumpuk#Sampah di pasar Masohi belum diangkut"},
        },
        {
            "from": "6281298765432",
            "id": "wamid.IMG1",
            "timestamp": "1772442060",
            "type": "image",
            "image": {"caption": "Foto jalan", "mime_type": "image/jpeg", "id": "1234567890"},
        },
        {
            "from": "6281298765432",
            "id": "wamid.LOC1",
            "timestamp": "1772442090",
            "type": "location",
            "location": {"latitude": -3.2989, "longitude": 128.9584, "name": "Pasar Masohi"},
        },
        {"from": "6281298765432", "id": "wamid.R1", "type": "reaction", "reaction": {}},
    )
    complaints = from_whatsapp(payload, NOW, CODES)
    assert len(complaints) == 3
    text, image, loc = complaints
    assert text.payload.reporter.name == "Siti Aminah"  # the engine hides it on the snapshot
    assert text.payload.reporter.confidentiality is Confidentiality.ANONYMOUS
    assert text.payload.reporter.phone == "+6281298765432"
    assert text.payload.received_at == NOW
    assert text.payload.channel_sent_at == datetime.fromtimestamp(1772442000, tz=UTC)
    assert image.payload.attachments[0].uri == "whatsapp-media:1234567890"
    assert image.payload.reporter.name == "Siti Aminah"
    assert loc.payload.location is not None
    assert loc.payload.location.latitude == -3.2989
    for complaint in complaints:
        roundtrip(complaint)
    statuses = {
        "object": "whatsapp_business_account",
        "entry": [{"changes": [{"field": "messages", "value": {"statuses": [{"id": "x"}]}}]}],
    }
    assert from_whatsapp(statuses, NOW) == []


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ([], "<body>"),
        ({"object": "page"}, "object"),
        ({"object": "whatsapp_business_account", "entry": {}}, "entry"),
        (wa_payload({"from": "62812", "type": "text", "text": {"body": "x"}}), ".id"),
        (wa_payload({"id": "w1", "from": "6281298765432", "type": "text", "text": {}}), "body"),
        (
            wa_payload({"id": "w1", "from": "6281298765432", "timestamp": "soon", "type": "text"}),
            "timestamp",
        ),
    ],
)
def test_whatsapp_malformed(payload: object, where: str) -> None:
    with pytest.raises(AdapterError) as err:
        from_whatsapp(payload, NOW)
    assert where in err.value.detail


# -- e-mail ------------------------------------------------------------------------------------

QP_MAIL = b"""From: "Rina Wattimena" <rina@example.id>
To: pengaduan@malukutengahkab.go.id
Subject: =?UTF-8?Q?Keluhan_pelayanan_KTP_=E2=80=93_Dukcapil?=
Date: Mon, 02 Mar 2026 10:15:00 +0900
Message-ID: <20260302101500.1234@example.id>
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Sudah dua minggu KTP-el saya belum jadi. Petugas bilang blangko habis =E2=80=94=
 mohon ditindaklanjuti. Terima kasih.
"""


def store(tmp_path: Path) -> AttachmentStore:
    return AttachmentStore(tmp_path / "store")


def test_email_quoted_printable(tmp_path: Path) -> None:
    complaint = from_email(QP_MAIL, NOW, store(tmp_path).save)
    p = complaint.payload
    assert p.subject == "Keluhan pelayanan KTP – Dukcapil"
    assert "blangko habis — mohon" in p.text
    assert p.reporter.email == "rina@example.id"
    assert p.reporter.name == "Rina Wattimena"
    assert p.channel_message_id == "20260302101500.1234@example.id"
    assert p.received_at == NOW
    assert p.channel_sent_at is not None
    assert p.channel_sent_at.utcoffset() == timedelta(hours=9)
    assert p.channel_sent_at.hour == 10
    roundtrip(complaint)
    assert from_email(QP_MAIL, NOW, store(tmp_path).save).derived_case_id == (
        complaint.derived_case_id
    )


def test_email_html_only_base64_with_attachment(tmp_path: Path) -> None:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "warga@example.id"
    msg["Subject"] = "[RAHASIA] Pungli di kantor kelurahan"
    msg["Message-ID"] = "<pungli-1@example.id>"
    msg.set_content(
        "<html><head><style>p{}</style></head><body><p>Petugas meminta <b>uang pelicin</b>"
        " Rp&nbsp;200.000 untuk surat keterangan.</p><p>Mohon diperiksa.</p></body></html>",
        subtype="html",
        cte="base64",
    )
    msg.add_attachment(
        b"%PDF-1.4 bukti", maintype="application", subtype="pdf", filename="bukti.pdf"
    )
    s = store(tmp_path)
    complaint = from_email(bytes(msg), NOW, s.save)
    p = complaint.payload
    assert p.reporter.confidentiality is Confidentiality.CONFIDENTIAL
    assert p.subject == "Pungli di kantor kelurahan"
    assert "uang pelicin Rp 200.000" in p.text
    assert "<" not in p.text
    assert "p{}" not in p.text
    [attachment] = p.attachments
    assert attachment.content_type == "application/pdf"
    assert attachment.name == "bukti.pdf"
    assert s.open_uri(attachment.uri) == b"%PDF-1.4 bukti"


def test_email_without_message_id_uses_content_hash(tmp_path: Path) -> None:
    raw = b"From: a@example.id\r\nSubject: Tes\r\n\r\nLampu jalan mati.\r\n"
    a = from_email(raw, NOW, store(tmp_path).save)
    assert a.payload.channel_message_id.startswith("sha256:")
    assert a.payload.received_at == NOW


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"From: a@example.id\r\nContent-Type: multipart/mixed\r\n\r\nno boundary here\r\n",
        b'From: a@example.id\r\nContent-Type: multipart/mixed; boundary="XX"\r\n\r\nno parts\r\n',
        b"just some text without any header\r\n",
    ],
)
def test_email_broken_mime(raw: bytes, tmp_path: Path) -> None:
    with pytest.raises(AdapterError) as err:
        from_email(raw, NOW, store(tmp_path).save)
    assert err.value.reason in ("broken_mime", "empty_complaint")


def test_html_to_text_keeps_indonesian() -> None:
    assert html_to_text("<p>Jalan <i>rusak</i></p><p>di Saparua&hellip;</p>") == (
        "Jalan rusak\n\ndi Saparua…"
    )


# -- social, LAPOR! ----------------------------------------------------------------------------


def test_social_mention() -> None:
    mention = SocialMention(
        platform="x",
        post_id="1897012345678901234",
        author_handle="warga_masohi",
        author_name="Warga Masohi",
        text="@pemkabmalteng jalan ke Tehoru putus sejak kemarin #lapor",
        url="https://x.com/warga_masohi/status/1897012345678901234",
        posted_at=NOW,
    )
    complaint = from_social(mention, NOW)
    assert complaint.payload.channel_message_id == "x:1897012345678901234"
    assert complaint.payload.reporter.name == "Warga Masohi (@warga_masohi)"
    assert complaint.payload.external_reference == mention.url
    roundtrip(complaint)


def test_lapor_forward_keeps_tracking_id_and_secrecy() -> None:
    report = LaporForward.model_validate(
        {
            "tracking_id": "#8123456",
            "title": "Bantuan sosial tidak sampai",
            "content": "BLT tahap 2 di Desa Haruru belum diterima.",
            "created_at": "2026-03-01T08:00:00+07:00",
            "category": "penyimpangan_prosedur",
            "reporter": {"name": "Anonim", "secret": True},
        }
    )
    complaint = from_lapor(report, NOW)
    assert complaint.payload.external_reference == "8123456"
    assert complaint.payload.channel is Channel.SP4N_LAPOR
    assert complaint.payload.reporter.confidentiality is Confidentiality.CONFIDENTIAL
    assert complaint.derived_case_id == case_id_for("sp4n_lapor", "8123456")
    roundtrip(complaint)
