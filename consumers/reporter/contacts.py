"""The reporter contact store: topic ``reporter.contacts`` (compacted), keyed by case id.

The one place outside ``complaints.intake`` where a reporter's address lives, so a confidential
reporter can still be told what happens while events and snapshots carry no contact
(`workflow.reporter.reporter_view`). Readable only by the reporter-messaging service and the
operator (deploy/kafka/acls.json). Records (JSON values):

* key ``<case id>``: the contact, written by the engine when the intake opens the case
  (`contact_record`); the same bytes for a redelivered intake, so a rewrite changes nothing;
* key ``optout:<case id>``: the reporter sent BERHENTI/STOP; the case goes on, messages stop;
* key ``ended:<case id>``: the case reached an end state at ``ended_at``;
* key ``waiting:<case id>``: what the case waits for from the reporter (``information``,
  ``confirmation`` or null), so a reply can be matched after a restart too;
* a tombstone (value None) for each of these, written `ContactBook.expired` time after the
  end, so compaction forgets the address.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from workflow.intake import ComplaintSubmitted

log = logging.getLogger("aduan.reporter")

__all__ = [
    "Contact",
    "ContactBook",
    "contact_record",
    "ended_record",
    "optout_record",
    "waiting_record",
]

OPTOUT_PREFIX = "optout:"
ENDED_PREFIX = "ended:"
WAITING_PREFIX = "waiting:"


@dataclass(frozen=True)
class Contact:
    """How to reach the reporter of one case. ``repr`` shows no address."""

    case_id: str
    channel: str
    phone: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    language: str = "id"
    confidentiality: str = "public"
    received_at: datetime | None = None
    """The intake's time: on WhatsApp the reporter's first inbound message."""


def contact_record(intake: ComplaintSubmitted) -> tuple[bytes, bytes] | None:
    """(key, value) of the contact for the case ``intake`` opens; None without phone or email."""
    payload = intake.payload
    reporter = payload.reporter
    if reporter.phone is None and reporter.email is None:
        return None
    case_id = intake.derived_case_id
    value = {
        "case_id": case_id,
        "channel": str(payload.channel),
        "phone": reporter.phone,
        "email": reporter.email,
        "language": payload.language,
        "confidentiality": str(reporter.confidentiality),
        "received_at": payload.received_at.isoformat(),
    }
    return case_id.encode(), json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def optout_record(case_id: str, at: datetime) -> tuple[bytes, bytes]:
    return f"{OPTOUT_PREFIX}{case_id}".encode(), json.dumps({"at": at.isoformat()}).encode()


def ended_record(case_id: str, at: datetime) -> tuple[bytes, bytes]:
    return f"{ENDED_PREFIX}{case_id}".encode(), json.dumps({"at": at.isoformat()}).encode()


def waiting_record(case_id: str, waiting: str | None) -> tuple[bytes, bytes]:
    return f"{WAITING_PREFIX}{case_id}".encode(), json.dumps({"for": waiting}).encode()


def _contact(value: dict[str, Any]) -> Contact:
    received = value.get("received_at")
    return Contact(
        case_id=str(value["case_id"]),
        channel=str(value["channel"]),
        phone=value.get("phone"),
        email=value.get("email"),
        language=str(value.get("language") or "id"),
        confidentiality=str(value.get("confidentiality") or "public"),
        received_at=datetime.fromisoformat(received) if received else None,
    )


@dataclass
class ContactBook:
    """What ``reporter.contacts`` says, rebuilt from the topic at start and kept current."""

    contacts: dict[str, Contact] = field(default_factory=dict)
    opted_out: dict[str, datetime] = field(default_factory=dict)
    ended: dict[str, datetime] = field(default_factory=dict)
    waiting: dict[str, str] = field(default_factory=dict)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        name = key.decode(errors="replace")
        try:
            parsed = json.loads(value) if value is not None else None
            if name.startswith(OPTOUT_PREFIX):
                _set_or_drop(self.opted_out, name.removeprefix(OPTOUT_PREFIX), parsed)
            elif name.startswith(ENDED_PREFIX):
                _set_or_drop(self.ended, name.removeprefix(ENDED_PREFIX), parsed)
            elif name.startswith(WAITING_PREFIX):
                case_id = name.removeprefix(WAITING_PREFIX)
                if parsed is None or parsed.get("for") is None:
                    self.waiting.pop(case_id, None)
                else:
                    self.waiting[case_id] = str(parsed["for"])
            elif parsed is None:
                self.contacts.pop(name, None)
            else:
                self.contacts[name] = _contact(parsed)
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable contact record")  # never the value: an address

    def contact(self, case_id: str) -> Contact | None:
        return self.contacts.get(case_id)

    def cases_of(self, *, phone: str | None = None, email: str | None = None) -> list[str]:
        """The cases (not ended) whose reporter has this address: a reply's conversation."""
        found = []
        for case_id, contact in self.contacts.items():
            if case_id in self.ended:
                continue
            if (phone and contact.phone == phone) or (email and contact.email == email):
                found.append(case_id)
        return sorted(found)

    def expired(self, now: datetime, keep: timedelta) -> list[bytes]:
        """The keys to tombstone: every record of a case that ended more than ``keep`` ago."""
        keys: list[bytes] = []
        for case_id, at in self.ended.items():
            if now - at >= keep:
                keys += [
                    case_id.encode(),
                    f"{OPTOUT_PREFIX}{case_id}".encode(),
                    f"{WAITING_PREFIX}{case_id}".encode(),
                    f"{ENDED_PREFIX}{case_id}".encode(),
                ]
        return keys


def _set_or_drop(book: dict[str, datetime], case_id: str, parsed: Any) -> None:
    if parsed is None:
        book.pop(case_id, None)
    else:
        book[case_id] = datetime.fromisoformat(parsed["at"])
