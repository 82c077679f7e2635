"""Deliveries not made yet, kept on ``notifications.receipts`` so that a restart keeps them.

A target that fails (for now) gets a *pending* record in place of its receipt, under the same
record key and with the same fields, plus what a retry needs without the original event: the
rendered letter, who owns the retries (the case id of an alert, the officer of a digest: the
owner of that key's partition of ``cases.events`` retries it, so two notifiers never both do),
the attempts so far, when it first failed, the last error, and the bytes to dead-letter if the
target proves permanently invalid. The receipt ``delivered`` (or ``deadlettered``) that follows
under the same key supersedes it; a later retry rewrites it with the attempts counted.

An operator's ``aduan notifier retry`` is a *retry* record on the same topic: every notifier
reading it retries the matching deliveries at once (`RetryRequest`).

``aduan deadletter replay`` of a notifier's dead letter is a *replay* record there too
(`ReplayRequest`: the dead letter's ref, the event's key and bytes, where it was read from), not
the event appended to ``cases.events`` again (which every reader of the engine's log would see
twice): the notifier owning the case handles the event once more as replayed
(`consumers.notifier.replays`) and then writes a *replayed* record under the same key, so a
restart does not replay it again, nor a second request for the same dead letter.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "PENDING",
    "REPLAY",
    "REPLAYED",
    "RETRY",
    "RETRY_ALL",
    "PendingEntry",
    "ReplayRequest",
    "RetryRequest",
    "final_receipt",
    "pending_record",
    "replay_done_record",
    "replay_record",
    "retry_record",
]

PENDING = "pending"
RETRY = "retry"
RETRY_ALL = "*"
REPLAY = "replay"
REPLAYED = "replayed"

# Fields of a pending record that its final receipt does not keep.
_PENDING_ONLY = (
    "subject",
    "body",
    "severity",
    "owner",
    "since",
    "last_error",
    "source",
    "original",
)


@dataclass(frozen=True)
class PendingEntry:
    """One pending delivery, as read back from its record."""

    key: str
    target: str
    officer: str
    owner: str
    since: datetime
    attempts: int
    last_error: str
    record: dict[str, Any]
    """The whole record: the final receipt is made of it (`final_receipt`)."""

    @classmethod
    def of(cls, record: dict[str, Any]) -> PendingEntry:
        """Raises KeyError, ValueError or TypeError on a malformed record."""
        return cls(
            key=str(record["key"]),
            target=str(record["target"]),
            officer=str(record["officer"]),
            owner=str(record["owner"]),
            since=datetime.fromisoformat(record["since"]),
            attempts=int(record["attempts"]),
            last_error=str(record.get("last_error") or ""),
            record=record,
        )

    @property
    def subject(self) -> str:
        return str(self.record["subject"])

    @property
    def body(self) -> str:
        return str(self.record["body"])

    @property
    def severity(self) -> str:
        return str(self.record.get("severity") or "info")

    @property
    def original(self) -> bytes | None:
        raw = self.record.get("original")
        return base64.b64decode(raw) if isinstance(raw, str) else None

    @property
    def source(self) -> tuple[str, int, int] | None:
        """(topic, partition, offset) the alert's event was read from, if any."""
        where = self.record.get("source")
        if not isinstance(where, dict):
            return None
        return str(where["topic"]), int(where["partition"]), int(where["offset"])


def pending_record(
    receipt: dict[str, Any],
    *,
    letter: tuple[str, str, str],
    owner: str,
    since: datetime,
    attempts: int,
    last_error: str,
    source: tuple[str, int, int] | None,
    original: bytes | None,
    recorded_at: datetime,
) -> dict[str, Any]:
    """The pending record for ``receipt`` (its fields, outcome ``pending``); ``letter`` is
    (subject, body, severity)."""
    subject, body, severity = letter
    where = None
    if source is not None:
        where = {"topic": source[0], "partition": source[1], "offset": source[2]}
    return {
        **receipt,
        "outcome": PENDING,
        "attempts": attempts,
        "recorded_at": recorded_at.isoformat(),
        "subject": subject,
        "body": body,
        "severity": severity,
        "owner": owner,
        "since": since.isoformat(),
        "last_error": last_error[:500],
        "source": where,
        "original": base64.b64encode(original).decode() if original is not None else None,
    }


def final_receipt(
    entry: PendingEntry, *, outcome: str, attempts: int, recorded_at: datetime
) -> dict[str, Any]:
    """The receipt that settles ``entry``."""
    receipt = {k: v for k, v in entry.record.items() if k not in _PENDING_ONLY}
    receipt.update(outcome=outcome, attempts=attempts, recorded_at=recorded_at.isoformat())
    return receipt


@dataclass(frozen=True)
class RetryRequest:
    """Retry now the pending deliveries whose key is ``match`` or starts with ``match|`` (a case
    id matches all of its alerts); `RETRY_ALL` matches every one."""

    match: str

    def matches(self, entry: PendingEntry) -> bool:
        m = self.match
        return m == RETRY_ALL or entry.key == m or entry.key.startswith(f"{m}|")


def retry_record(match: str, requested_at: datetime) -> dict[str, Any]:
    """The record ``aduan notifier retry`` writes (its record key: ``match``)."""
    return {"key": match, "outcome": RETRY, "requested_at": requested_at.isoformat()}


def _b64(raw: bytes | None) -> str | None:
    return base64.b64encode(raw).decode() if raw is not None else None


def _unb64(text: Any) -> bytes | None:
    return base64.b64decode(text) if isinstance(text, str) else None


@dataclass(frozen=True)
class ReplayRequest:
    """Handle a dead-lettered event again: ``ref`` is the dead letter's ``partition@offset``,
    ``source`` the (topic, partition, offset) the event was read from."""

    ref: str
    key: bytes | None
    value: bytes | None
    source: tuple[str, int, int]

    @property
    def owner(self) -> str:
        """The case id: the notifier owning its partition of cases.events replays it."""
        return (self.key or b"").decode("utf-8", "replace")

    @classmethod
    def of(cls, record: dict[str, Any]) -> ReplayRequest:
        """Raises KeyError, ValueError or TypeError on a malformed record."""
        where = record["source"]
        return cls(
            ref=str(record["ref"]),
            key=_unb64(record.get("event_key")),
            value=_unb64(record.get("event")),
            source=(str(where["topic"]), int(where["partition"]), int(where["offset"])),
        )


def _replay_key(ref: str) -> str:
    return f"replay|{ref}"


def replay_record(request: ReplayRequest, requested_at: datetime) -> dict[str, Any]:
    """The record ``aduan deadletter replay`` writes for a notifier's dead letter."""
    topic, partition, offset = request.source
    return {
        "key": _replay_key(request.ref),
        "outcome": REPLAY,
        "ref": request.ref,
        "event_key": _b64(request.key),
        "event": _b64(request.value),
        "source": {"topic": topic, "partition": partition, "offset": offset},
        "requested_at": requested_at.isoformat(),
    }


def replay_done_record(ref: str, recorded_at: datetime) -> dict[str, Any]:
    """What the notifier writes once it has handled a replay request."""
    return {
        "key": _replay_key(ref),
        "outcome": REPLAYED,
        "ref": ref,
        "recorded_at": recorded_at.isoformat(),
    }
