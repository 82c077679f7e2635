"""Reporter messages not delivered yet, kept on ``reporter.receipts`` so a restart keeps them.

The officer alerts' design (`consumers.notifier.pending`), for one reporter message instead of
one (alert, target) pair: a message that cannot go now (the provider fails for now, or its
recipient is over the rate limit, or an earlier message of the same case and channel still
waits) gets a *pending* record in place of its receipt, under the same record key (the
idempotency key of (case, moment, channel)). It holds what a retry needs without the event:
the rendered text, the language, the WhatsApp window's last inbound instant, the attempts so
far, since when and the last error, but never the address: the retry looks the contact up again
in ``reporter.contacts`` (so a tombstoned contact is not written to after all). The receipt
``delivered`` or ``failed`` that follows under the same key settles it for good: a pending
record read after it (a catch-up reading older records) never reopens it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from consumers.reporter.messages import Rendered

log = logging.getLogger("aduan.reporter")

__all__ = ["PENDING", "PendingBook", "PendingMessage"]

PENDING = "pending"


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class PendingMessage:
    """One reporter message waiting to be (re)sent; ``repr`` shows no text."""

    key: str
    case_id: str
    kind: str
    event_id: str
    channel: str
    attempts: int
    since: datetime
    next_at: datetime
    last_error: str
    rendered: Rendered = field(repr=False)
    language: str = "id"
    last_inbound_at: datetime | None = None

    @property
    def queue(self) -> str:
        """Messages of one queue go out in order: one case's messages on one channel."""
        return f"{self.case_id}|{self.channel}"

    def record(self, recorded_at: datetime) -> dict[str, Any]:
        """The pending record (a receipt with outcome ``pending`` and the retry's needs)."""
        r = self.rendered
        return {
            "key": self.key,
            "case_id": self.case_id,
            "kind": self.kind,
            "event_id": self.event_id,
            "channel": self.channel,
            "outcome": PENDING,
            "attempts": self.attempts,
            "since": self.since.isoformat(),
            "next_at": self.next_at.isoformat(),
            "last_error": self.last_error[:500],
            "rendered": {
                "subject": r.subject,
                "body": r.body,
                "template": r.template,
                "params": list(r.params),
                "language": r.language,
            },
            "language": self.language,
            "last_inbound_at": self.last_inbound_at.isoformat() if self.last_inbound_at else None,
            "recorded_at": recorded_at.isoformat(),
        }

    @classmethod
    def of(cls, record: dict[str, Any]) -> PendingMessage:
        """Raises KeyError, ValueError or TypeError on a malformed record."""
        text = record["rendered"]
        since = datetime.fromisoformat(record["since"])
        return cls(
            key=str(record["key"]),
            case_id=str(record["case_id"]),
            kind=str(record["kind"]),
            event_id=str(record["event_id"]),
            channel=str(record["channel"]),
            attempts=int(record["attempts"]),
            since=since,
            next_at=_when(record.get("next_at")) or since,
            last_error=str(record.get("last_error") or ""),
            rendered=Rendered(
                str(text["subject"]),
                str(text["body"]),
                str(text["template"]),
                tuple(str(p) for p in text["params"]),
                str(text.get("language") or record.get("language") or "id"),
            ),
            language=str(record.get("language") or "id"),
            last_inbound_at=_when(record.get("last_inbound_at")),
        )


@dataclass
class PendingBook:
    """The pending messages the receipts topic holds (rebuilt from it at start)."""

    entries: dict[str, PendingMessage] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)

    def apply(self, receipt: dict[str, Any]) -> None:
        """One receipt read from the topic (or just written)."""
        key = str(receipt["key"])
        if receipt.get("outcome") != PENDING:
            self.settle(key)
            return
        if key in self.settled:
            return  # a late pending record never reopens a settled message
        try:
            entry = PendingMessage.of(receipt)
        except (KeyError, ValueError, TypeError):
            log.warning("ignoring an unreadable pending reporter message")
            return
        known = self.entries.get(key)
        if known is None or entry.attempts >= known.attempts:
            self.entries[key] = entry

    def put(self, entry: PendingMessage) -> None:
        if entry.key not in self.settled:
            self.entries[entry.key] = entry

    def settle(self, key: str) -> None:
        self.settled.add(key)
        self.entries.pop(key, None)

    def later(self, entry: PendingMessage, next_at: datetime) -> None:
        """Hold ``entry`` until ``next_at`` (in memory: a pacing wait needs no record)."""
        if entry.key in self.entries:
            self.entries[entry.key] = replace(entry, next_at=next_at)

    def queued(self, case_id: str, channel: str) -> bool:
        """Whether a message of this case and channel still waits (a new one goes after it)."""
        queue = f"{case_id}|{channel}"
        return any(e.queue == queue for e in self.entries.values())

    def due(self, now: datetime, owned: Callable[[str], bool]) -> dict[str, list[PendingMessage]]:
        """Queue -> its messages, oldest first, for each owned queue whose head is due."""
        queues: dict[str, list[PendingMessage]] = {}
        for entry in self.entries.values():
            if owned(entry.case_id):
                queues.setdefault(entry.queue, []).append(entry)
        due: dict[str, list[PendingMessage]] = {}
        for queue, entries in queues.items():
            entries.sort(key=lambda e: (e.since, e.key))
            if entries[0].next_at <= now:
                due[queue] = entries
        return due
