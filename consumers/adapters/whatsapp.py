"""WhatsApp Business Cloud API webhook: ``entry[].changes[].value.messages[]``.

Text messages use the short keyword format as SMS does; image / document / audio / video
messages become attachments referenced as ``whatsapp-media:<media id>`` (the media itself stays
with Meta until fetched), their caption is the text; a location message becomes the location.
Status updates (``statuses[]``) and other fields carry no complaint and are ignored. The
signature check (``X-Hub-Signature-256``) is done by the gateway on the raw body before this
adapter runs (`consumers.gateway.security.check_whatsapp_signature`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from consumers.adapters.base import (
    AdapterError,
    ComplaintDraft,
    build_complaint,
    clean_content_type,
    clean_name,
    location_from,
    parse_keyword_text,
)
from workflow.enums import Channel
from workflow.intake import ComplaintSubmitted
from workflow.values import Attachment

_MEDIA = ("image", "document", "audio", "video")


def _obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AdapterError("invalid_payload", f"{where}: must be an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise AdapterError("invalid_payload", f"{where}: must be an array")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise AdapterError("invalid_payload", f"{where}: missing or not a string")
    return value


def from_whatsapp(
    payload: Any, now: datetime, agency_codes: frozenset[str] = frozenset()
) -> list[ComplaintSubmitted]:
    """Every inbound user message of a webhook delivery -> intake messages (maybe none)."""
    body = _obj(payload, "<body>")
    if body.get("object") != "whatsapp_business_account":
        raise AdapterError("invalid_payload", "object: must be 'whatsapp_business_account'")
    complaints = []
    for i, entry in enumerate(_list(body.get("entry"), "entry")):
        entry = _obj(entry, f"entry[{i}]")
        for j, change in enumerate(_list(entry.get("changes"), f"entry[{i}].changes")):
            where = f"entry[{i}].changes[{j}]"
            change = _obj(change, where)
            if change.get("field") != "messages":
                continue
            value = _obj(change.get("value"), f"{where}.value")
            names = {}
            for contact in _list(value.get("contacts"), f"{where}.value.contacts"):
                if isinstance(contact, dict) and isinstance(contact.get("profile"), dict):
                    names[contact.get("wa_id")] = contact["profile"].get("name")
            for k, message in enumerate(_list(value.get("messages"), f"{where}.value.messages")):
                complaint = _message(
                    _obj(message, f"{where}.value.messages[{k}]"),
                    f"{where}.value.messages[{k}]",
                    names,
                    now,
                    agency_codes,
                )
                if complaint is not None:
                    complaints.append(complaint)
    return complaints


def _message(
    message: dict[str, Any],
    where: str,
    names: dict[Any, Any],
    now: datetime,
    agency_codes: frozenset[str],
) -> ComplaintSubmitted | None:
    message_id = _str(message.get("id"), f"{where}.id")
    sender = _str(message.get("from"), f"{where}.from")
    kind = message.get("type")
    sent_at = _sent_at(message.get("timestamp"), where)
    text = ""
    attachments: list[Attachment] = []
    location = None
    if kind == "text":
        text = _str(_obj(message.get("text"), f"{where}.text").get("body"), f"{where}.text.body")
    elif kind in _MEDIA:
        media = _obj(message.get(kind), f"{where}.{kind}")
        media_id = _str(media.get("id"), f"{where}.{kind}.id")
        text = str(media.get("caption") or "")
        attachments.append(
            Attachment(
                uri=f"whatsapp-media:{media_id[:200]}",
                size_bytes=0,
                content_type=clean_content_type(media.get("mime_type")),
                name=clean_name(media.get("filename")),
            )
        )
    elif kind == "location":
        loc = _obj(message.get("location"), f"{where}.location")
        location = location_from(
            loc.get("address") or loc.get("name"), loc.get("latitude"), loc.get("longitude")
        )
        text = str(loc.get("name") or loc.get("address") or "")
    else:
        return None  # reactions, stickers, system messages: nothing to file
    if not text.strip():
        text = "(lampiran tanpa keterangan)" if attachments or location else ""
    report = parse_keyword_text(text, agency_codes)
    draft = ComplaintDraft(
        channel=Channel.WHATSAPP,
        channel_message_id=message_id,
        received_at=now,
        channel_sent_at=sent_at,
        text=report.text,
        subject=report.subject,
        name=names.get(sender),
        phone="+" + sender.lstrip("+"),
        confidentiality=report.confidentiality,
        agency_hint=report.agency_hint,
        location=location or location_from(report.address),
        attachments=attachments,
    )
    return build_complaint(draft)


def _sent_at(stamp: Any, where: str) -> datetime | None:
    """The message's ``timestamp`` (Unix seconds, as the sender's phone reported it)."""
    if stamp is None:
        return None
    try:
        return datetime.fromtimestamp(int(stamp), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise AdapterError("invalid_payload", f"{where}.timestamp: not a Unix time") from None
