"""A reporter's reply (WhatsApp, SMS, email) read as words, and what it becomes.

`looks_like_reply` is the gateway's question before it opens a case: a message from WhatsApp,
SMS or email that names a tracking number, or starts with a reply keyword (YA, TIDAK, INFO,
JAWAB, BERHENTI, STOP), is a reply and goes to ``reporter.inbound`` instead of intake, so a
reply never opens a second case. Everything else is a complaint as before.

`parse_reply` reads the reply; `command_for` turns it into ``ProvideInformation``,
``ConfirmResolution`` or ``DisputeResolution`` for a case that waits for exactly that, with an
event id derived from the channel message, so a redelivered reply is applied once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workflow.commands import (
    ConfirmResolution,
    DisputePayload,
    DisputeResolution,
    NotePayload,
    ProvideInformation,
    ProvideInformationPayload,
)
from workflow.enums import ActorRole, Channel
from workflow.intake import TRACKING_NUMBER, ComplaintSubmitted
from workflow.values import Actor

__all__ = ["Reply", "command_for", "looks_like_reply", "parse_reply"]

REPLY_CHANNELS = frozenset({Channel.WHATSAPP, Channel.SMS, Channel.EMAIL})
CONFIRM = frozenset({"YA", "YES", "SETUJU", "PUAS"})
DISPUTE = frozenset({"TIDAK", "NO", "TOLAK", "BELUM"})
INFO = frozenset({"INFO", "JAWAB", "JAWABAN"})
STOP = frozenset({"BERHENTI", "STOP", "UNSUBSCRIBE"})
KEYWORDS = CONFIRM | DISPUTE | INFO | STOP
REPORTER = Actor(id="reporter", role=ActorRole.REPORTER)
"""Replies act as "the reporter", never under an address or a name."""

_QUOTE_START = re.compile(r"^(On .+wrote:|Pada .+menulis:|-----Original Message-----)", re.I)


@dataclass(frozen=True)
class Reply:
    keyword: str | None
    """CONFIRM, DISPUTE, INFO, STOP or None (free text)."""
    tracking: str | None
    text: str
    """What follows the keyword and the tracking number."""


def _own_words(text: str) -> str:
    """The reply without the quoted message it answers (e-mail clients quote below)."""
    lines = []
    for line in text.splitlines():
        if _QUOTE_START.match(line.strip()):
            break
        if not line.lstrip().startswith(">"):
            lines.append(line)
    return "\n".join(lines).strip()


def _group(word: str) -> str | None:
    for name, words in (("CONFIRM", CONFIRM), ("DISPUTE", DISPUTE), ("INFO", INFO), ("STOP", STOP)):
        if word in words:
            return name
    return None


def parse_reply(text: str, subject: str | None = None) -> Reply:
    own = _own_words(text)
    found = TRACKING_NUMBER.search(own.upper()) or TRACKING_NUMBER.search((subject or "").upper())
    tracking = found.group(0) if found else None
    rest = TRACKING_NUMBER.sub(" ", own.upper()) if found else own.upper()
    words = rest.split()
    keyword = _group(words[0].strip(".,!:;")) if words else None
    # The reporter's own words, case kept: drop the keyword and the tracking number only.
    body = re.sub(TRACKING_NUMBER.pattern, " ", own, flags=re.I).split()
    if keyword is not None and body:
        body = body[1:]
    return Reply(keyword, tracking, " ".join(body).strip(" :,-"))


def looks_like_reply(complaint: ComplaintSubmitted) -> bool:
    payload = complaint.payload
    if payload.channel not in REPLY_CHANNELS:
        return False
    reply = parse_reply(payload.text, payload.subject)
    return reply.tracking is not None or reply.keyword is not None


def command_for(
    reply: Reply, case_id: str, waiting: str | None, message: ComplaintSubmitted, now: datetime
) -> Any | None:
    """The command ``reply`` means for a case that waits for ``waiting`` ("information",
    "confirmation" or None); None when it means nothing there."""
    payload = message.payload
    event_id = f"reply:{payload.channel}:{payload.channel_message_id}"
    common: dict[str, Any] = {"event_id": event_id, "occurred_at": now, "case_id": case_id}
    if waiting == "information" and reply.keyword in (None, "INFO") and reply.text:
        info = ProvideInformationPayload(
            actor=REPORTER, text=reply.text, attachments=payload.attachments
        )
        return ProvideInformation(**common, payload=info)
    if waiting == "confirmation" and reply.keyword == "CONFIRM":
        return ConfirmResolution(**common, payload=NotePayload(actor=REPORTER))
    if waiting == "confirmation" and reply.keyword == "DISPUTE" and reply.text:
        dispute = DisputePayload(actor=REPORTER, reason=reply.text)
        return DisputeResolution(**common, payload=dispute)
    return None
