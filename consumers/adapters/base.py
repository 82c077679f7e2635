"""What every adapter shares: the error type, the draft -> `ComplaintSubmitted` step, keywords,
and the hygiene of attachment metadata (media type, file name) that the gateway's store uses too."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from workflow.enums import (
    Channel,
    Confidentiality,
    MaladministrationCategory,
    Priority,
    ReportType,
)
from workflow.intake import ComplaintPayload, ComplaintSubmitted, case_id_for
from workflow.reporter import Reporter
from workflow.values import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    MAX_SUBJECT_CHARS,
    Attachment,
    Location,
)


class AdapterError(ValueError):
    """A provider payload that cannot become a complaint.

    ``reason``: ``invalid_payload`` (shape or field), ``unsupported_media_type``,
    ``broken_mime``, ``empty_complaint``, and Open311's ``unknown_service_code``,
    ``missing_description``, ``missing_location``. ``status`` is the HTTP status the gateway
    answers.
    """

    def __init__(self, reason: str, detail: str, status: int = 422) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.status = status


@dataclass
class ComplaintDraft:
    """The channel-independent content of a complaint, before validation.

    ``received_at`` is the gateway's clock at receipt (it starts the SLA clock);
    ``channel_sent_at`` is the time the channel claims, kept as information only.
    """

    channel: Channel
    channel_message_id: str
    received_at: datetime
    text: str
    subject: str | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    confidentiality: Confidentiality = Confidentiality.PUBLIC
    report_type: ReportType = ReportType.PENGADUAN
    category: MaladministrationCategory | None = None
    service: str | None = None
    agency_hint: str | None = None
    location: Location | None = None
    attachments: list[Attachment] = field(default_factory=list)
    language: str = "id"
    external_reference: str | None = None
    channel_sent_at: datetime | None = None
    incident_date: date | None = None
    """When the reporter says it happened (the two-year rule), if the channel asks."""
    priority: Priority | None = None
    """Set by an intake operator (call centre, counter), never by the public."""


def claimed_time(value: datetime | None) -> datetime | None:
    """A channel's claimed time as the intake message can carry it: timezone-aware and within
    the wire format's years; otherwise dropped (it never drives a clock, so nothing is lost but
    a meaningless stamp, and the complaint itself is still filed)."""
    if value is None or value.tzinfo is None:
        return None
    return value if EARLIEST_YEAR <= value.year <= LATEST_YEAR else None


_CONTENT_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+$")


def clean_content_type(value: str | None) -> str:
    """The bare media type, or application/octet-stream when missing or malformed."""
    bare = (value or "").split(";", 1)[0].strip().lower()
    return bare if _CONTENT_TYPE.match(bare) else "application/octet-stream"


def clean_name(value: str | None) -> str | None:
    """A file name without any folder part, at most 255 characters."""
    if not value:
        return None
    base = re.split(r"[\\/]", value)[-1].strip().replace("\x00", "")
    return base[:255] or None


def subject_from(text: str, limit: int = 80) -> str:
    """A subject from the first line of the text, cut at a word boundary."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first) <= limit:
        return first
    cut = first[:limit].rsplit(" ", 1)[0] or first[:limit]
    return cut.rstrip(" ,.;:") + "…"


def _detail(exc: ValidationError, prefix: str) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in error["loc"])
        msg = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{prefix}{loc}: {msg}" if loc else f"{prefix}{msg}")
    return "; ".join(parts)


def build_complaint(draft: ComplaintDraft) -> ComplaintSubmitted:
    """Validate a draft into the intake message (deterministic ``event_id`` and ``case_id``)."""
    text = draft.text.strip()
    if not text:
        raise AdapterError("empty_complaint", "the complaint text is empty")
    subject = (draft.subject or "").strip() or subject_from(text)
    if len(subject) > MAX_SUBJECT_CHARS:
        subject = subject[: MAX_SUBJECT_CHARS - 1].rstrip() + "…"
    try:
        reporter = Reporter(
            name=(draft.name or "").strip() or None,
            phone=draft.phone or None,
            email=draft.email or None,
            confidentiality=draft.confidentiality,
        )
    except ValidationError as exc:
        raise AdapterError("invalid_payload", _detail(exc, "reporter.")) from None
    case_id = case_id_for(draft.channel, draft.channel_message_id)
    try:
        payload = ComplaintPayload(
            channel=draft.channel,
            channel_message_id=draft.channel_message_id,
            received_at=draft.received_at,
            reporter=reporter,
            subject=subject,
            text=text,
            report_type=draft.report_type,
            category=draft.category,
            service=draft.service,
            agency_hint=draft.agency_hint,
            location=draft.location,
            attachments=tuple(draft.attachments),
            language=draft.language,
            external_reference=draft.external_reference,
            channel_sent_at=claimed_time(draft.channel_sent_at),
            incident_date=draft.incident_date,
            priority=draft.priority,
        )
        return ComplaintSubmitted(
            event_id=f"intake:{case_id}",
            occurred_at=draft.received_at,
            case_id=case_id,
            correlation_id=f"intake:{case_id}",
            payload=payload,
        )
    except ValidationError as exc:
        raise AdapterError("invalid_payload", _detail(exc, "")) from None


# -- the short keyword format shared by SMS and WhatsApp text ---------------------------------

_MARKERS: dict[str, Confidentiality] = {
    "RAHASIA": Confidentiality.CONFIDENTIAL,
    "ANONIM": Confidentiality.ANONYMOUS,
}
_KEYWORD = re.compile(r"^\s*(ADUAN|ADU|LAPOR)\b[\s:]*(.*)$", re.IGNORECASE | re.DOTALL)


@dataclass
class KeywordReport:
    """A parsed short report: ``ADUAN [RAHASIA|ANONIM] [#KODE] judul#isi[#lokasi]``."""

    keyword: bool
    confidentiality: Confidentiality
    agency_hint: str | None
    subject: str | None
    text: str
    address: str | None


def parse_keyword_text(raw: str, agency_codes: frozenset[str] = frozenset()) -> KeywordReport:
    """Parse the SMS keyword format; free text without the keyword is a plain complaint.

    ``ADUAN RAHASIA #PUPR Jalan rusak#Jalan di Desa Amahai berlubang besar#Amahai`` gives
    confidentiality ``confidential``, agency hint ``PUPR``, subject ``Jalan rusak``, text and
    address. ``#KODE`` counts as a hint only when it is a known agency code.
    """
    match = _KEYWORD.match(raw)
    if not match:
        return KeywordReport(False, Confidentiality.PUBLIC, None, None, raw.strip(), None)
    rest = match.group(2).strip()
    confidentiality = Confidentiality.PUBLIC
    agency = None
    while True:
        head, _, tail = rest.partition(" ")
        word = head.strip("#").upper()
        if word in _MARKERS and confidentiality is Confidentiality.PUBLIC:
            confidentiality = _MARKERS[word]
        elif head.startswith("#") and word in agency_codes and agency is None:
            agency = word
        else:
            break
        rest = tail.strip()
    parts = [p.strip() for p in rest.lstrip("#").split("#")]
    if len(parts) >= 2 and parts[0] and parts[1]:
        address = "#".join(parts[2:]).strip() or None
        return KeywordReport(True, confidentiality, agency, parts[0], parts[1], address)
    return KeywordReport(True, confidentiality, agency, None, rest.replace("#", " ").strip(), None)


def location_from(
    address: str | None = None, latitude: Any = None, longitude: Any = None
) -> Location | None:
    """A `Location` when anything is known; AdapterError for bad coordinates."""
    if address is None and latitude is None and longitude is None:
        return None
    try:
        return Location(
            address=(address or None) and address[:500], latitude=latitude, longitude=longitude
        )
    except ValidationError as exc:
        raise AdapterError("invalid_payload", _detail(exc, "location.")) from None
