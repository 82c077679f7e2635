"""Receipts on ``notifications.receipts``: what has been handled, one record per (key, target).

`ReceiptStore` is what the topic says, rebuilt from it at start and kept current by every receipt
this notifier writes (and, on catch-up, those another notifier wrote). `alert_receipt` and
`digest_receipt` build the records; their format is read back by `ReceiptStore.apply` and by
`consumers.notifier.digest.DigestBook`, so it is the contract between runs.

Outcomes: ``delivered``, ``deadlettered`` (a permanently invalid target), ``no_recipients``
settle a (key, target) for good; ``pending`` (`consumers.notifier.pending`) keeps it open until
one of those follows. A ``retry`` record is an operator's request to retry pending ones now; a
``replay`` record one to handle a dead-lettered event again, settled by its ``replayed`` record.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from consumers.notifier.alerts import Alert
from consumers.notifier.digest import DigestBook
from consumers.notifier.pending import (
    PENDING,
    REPLAY,
    REPLAYED,
    RETRY,
    PendingEntry,
    ReplayRequest,
    RetryRequest,
)

log = logging.getLogger("aduan.notifier")

__all__ = ["ReceiptStore", "alert_receipt", "digest_receipt", "encode_receipt"]


@dataclass
class ReceiptStore:
    """What the receipts topic says has been handled (rebuilt from the topic at start)."""

    done: set[tuple[str, str]] = field(default_factory=set)
    """Settled (key, target) pairs: delivered, dead-lettered or without recipients."""
    deadlettered: set[tuple[str, str]] = field(default_factory=set)
    """The settled pairs whose target was dead-lettered (a replayed event retries them)."""
    pending: dict[tuple[str, str], PendingEntry] = field(default_factory=dict)
    forced: set[str] = field(default_factory=set)
    """Targets an operator asked to retry now (taken by the retrier)."""
    keys: set[str] = field(default_factory=set)
    last_reminder: dict[tuple[str, str | None], datetime] = field(default_factory=dict)
    """(case, agency reminded) -> when its last delivered reminder was raised: each agency's
    top level is paced on its own (a receipt from before the agency field: agency None)."""
    book: DigestBook = field(default_factory=DigestBook)
    """Delivered alerts per officer, for the daily digest."""
    replays: dict[str, ReplayRequest] = field(default_factory=dict)
    """Replay requests not handled yet, by dead letter ref (taken by the replayer)."""
    replayed: set[str] = field(default_factory=set)
    """Dead letter refs whose replay has been handled: a repeated request is ignored."""

    def apply(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            receipt = json.loads(value)
            if receipt.get("outcome") == RETRY:
                self._retry(RetryRequest(str(receipt["key"])))
                return
            if receipt.get("outcome") in (REPLAY, REPLAYED):
                self._replay(receipt)
                return
            pair = (receipt["key"], receipt["target"])
            if receipt.get("outcome") == PENDING:
                # A late pending record never reopens a delivery; a dead-lettered target that
                # a replayed event tried again (and failed for now) is pending again.
                if pair in self.done and pair not in self.deadlettered:
                    return
                self.done.discard(pair)
                self.deadlettered.discard(pair)
                self.pending[pair] = PendingEntry.of(receipt)
                self.keys.add(receipt["key"])
                return
            self.pending.pop(pair, None)
            self.done.add(pair)
            if receipt.get("outcome") == "deadlettered":
                self.deadlettered.add(pair)
            else:
                self.deadlettered.discard(pair)
            self.keys.add(receipt["key"])
            if receipt.get("kind") == "reminder" and receipt.get("outcome") == "delivered":
                at = datetime.fromisoformat(receipt["occurred_at"])
                reminded = (str(receipt["case_id"]), receipt.get("agency"))
                last = self.last_reminder.get(reminded)
                if last is None or at > last:
                    self.last_reminder[reminded] = at
            self.book.apply(receipt)
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable receipt")

    def handled(self, key: str, target: str) -> bool:
        """Settled or pending: nothing to send for it now (the retrier owns a pending one)."""
        return (key, target) in self.done or (key, target) in self.pending

    def open_again(self, key: str, target: str) -> bool:
        """Whether a replayed event may try (key, target) again: it was dead-lettered."""
        return (key, target) in self.deadlettered

    def _replay(self, receipt: dict[str, Any]) -> None:
        ref = str(receipt["ref"])
        if receipt["outcome"] == REPLAYED:
            self.replayed.add(ref)
            self.replays.pop(ref, None)
        elif ref not in self.replayed:
            self.replays[ref] = ReplayRequest.of(receipt)

    def _retry(self, request: RetryRequest) -> None:
        self.forced.update(e.target for e in self.pending.values() if request.matches(e))


def encode_receipt(value: dict[str, Any]) -> tuple[bytes, bytes]:
    """(record key, record value) of a receipt: keyed by its idempotency key."""
    return str(value["key"]).encode(), json.dumps(value, separators=(",", ":")).encode()


def alert_receipt(
    alert: Alert,
    *,
    target: str,
    officer: str,
    channel: str,
    outcome: str,
    attempts: int,
    recorded_at: datetime,
) -> dict[str, Any]:
    # stage, agency, deadline and threshold were added for the digest: a receipt without
    # them (written before) is still read, and its digest line shows less.
    return {
        "key": alert.key,
        "target": target,
        "officer": officer,
        "channel": channel,
        "case_id": alert.case_id,
        "kind": alert.kind,
        "level": alert.level,
        "outcome": outcome,
        "attempts": attempts,
        "event_id": alert.event_id,
        "occurred_at": alert.occurred_at.isoformat(),
        "recorded_at": recorded_at.isoformat(),
        "stage": alert.stage.value if alert.stage is not None else None,
        "agency": alert.agency,
        "deadline": alert.deadline.isoformat() if alert.deadline else None,
        "threshold": alert.threshold,
        # The stage clock's unit and budget left, so the digest says it in office time too.
        "unit": alert.unit.value if alert.unit is not None else None,
        "left_seconds": alert.left_seconds,
    }


def digest_receipt(
    key: str,
    *,
    target: str,
    officer: str,
    channel: str,
    delivered: bool,
    attempts: int,
    day: date,
    due: datetime,
    alerts: int,
    recorded_at: datetime,
) -> dict[str, Any]:
    return {
        "key": key,
        "target": target,
        "officer": officer,
        "channel": channel,
        "case_id": "-",
        "kind": "digest",
        "level": 0,
        "outcome": "delivered" if delivered else "deadlettered",
        "attempts": attempts,
        "event_id": "-",
        "occurred_at": due.isoformat(),
        "recorded_at": recorded_at.isoformat(),
        "date": str(day),
        "alerts": alerts,
    }
