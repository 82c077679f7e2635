"""One letter to one target: the first attempt, every retry, and what each outcome writes.

`Letter` is a rendered message for one target with the receipt it earns. `Dispatcher.first`
tries it once: delivered -> receipt ``delivered``; the target permanently invalid -> the dead
letter (reason ``invalid_target``, the event's bytes) and receipt ``deadlettered``; failed for now
-> a pending record (`consumers.notifier.pending`) and the target is *failing*. While a target is
failing, new letters for it are made pending without an attempt (a down mail server costs no
connect timeout per alert, and the retrier keeps the order); `Dispatcher.retry` works through one
target's pending letters, oldest first, until one fails again. Each target has its own backoff
(`consumers.notifier.delivery.Backoff`): a dead webhook does not slow an officer's email.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from consumers.notifier.context import NotifierContext
from consumers.notifier.delivery import Backoff, DeliveryFailed, PermanentFailure
from consumers.notifier.directory import Target
from consumers.notifier.pending import PendingEntry, final_receipt, pending_record

log = logging.getLogger("aduan.notifier")

__all__ = ["INVALID_TARGET", "Dispatcher", "Letter", "TargetHealth"]

INVALID_TARGET = "invalid_target"
REFRESH_AFTER = timedelta(days=1)
"""A pending record not rewritten for this long is rewritten by the next failed retry."""


@dataclass(frozen=True)
class Letter:
    """A rendered message for one target and the receipt it earns when delivered."""

    target: Target
    subject: str
    body: str
    severity: str
    receipt: dict[str, Any]
    """The receipt's fields (key, target, officer, ...); outcome and attempts are set here."""
    owner: str
    """Whose partition of cases.events owns the retries: a case id, or an officer's id."""
    original: bytes | None
    """The bytes a dead letter carries: the event's, or a summary built here."""
    source: tuple[str, int, int] | None = None
    """(topic, partition, offset) of the event, for the dead letter's headers."""

    @property
    def key(self) -> str:
        return str(self.receipt["key"])


@dataclass
class TargetHealth:
    """One target's retry state (in memory: after a restart every pending target is due)."""

    failures: int = 0
    next_at: float = 0.0
    """time.monotonic() before which it is not tried again."""


@dataclass
class Dispatcher:
    context: NotifierContext
    health: dict[str, TargetHealth] = field(default_factory=dict)

    @property
    def backoff(self) -> Backoff:
        settings = self.context.settings
        return Backoff(base=settings.backoff_base, cap=settings.backoff_cap)

    def failing(self, target_id: str) -> bool:
        health = self.health.get(target_id)
        return health is not None and health.failures > 0

    def failed(self, target_id: str) -> None:
        """Count one more failure of ``target_id``: its next retry waits longer."""
        health = self.health.setdefault(target_id, TargetHealth())
        health.failures += 1
        health.next_at = time.monotonic() + self.backoff.delay(health.failures)

    async def first(self, letter: Letter) -> None:
        """Deliver ``letter`` now, or leave it pending (see the module docstring)."""
        target = letter.target
        if self.failing(target.id):
            await self._pend(letter, attempts=0, error="waiting: the target is failing")
            return
        try:
            await self.context.sender.send(target, letter.subject, letter.body, letter.severity)
        except PermanentFailure as exc:
            await self._invalid(letter, str(exc), attempts=1)
        except DeliveryFailed as exc:
            self.failed(target.id)
            log.warning("%s for %s failed, pending: %s", target.label, letter.key, exc)
            await self._pend(letter, attempts=1, error=str(exc) or "delivery failed")
        else:
            self.health.pop(target.id, None)
            await self._delivered(letter.receipt, target, attempts=1)

    async def retry(self, target: Target, entries: list[PendingEntry]) -> None:
        """Retry ``target``'s pending ``entries`` (oldest first) until one fails again."""
        outbox, clock = self.context.outbox, self.context.clock
        for entry in sorted(entries, key=lambda e: e.since):
            self.context.stats.retried += 1
            attempts = entry.attempts + 1
            try:
                await self.context.sender.send(target, entry.subject, entry.body, entry.severity)
            except PermanentFailure as exc:
                await self._invalid(_letter_of(target, entry), str(exc), attempts=attempts)
                continue
            except DeliveryFailed as exc:
                self.failed(target.id)
                log.info("retry of %s for %s failed: %s", target.label, entry.key, exc)
                record = {**entry.record, "attempts": attempts, "last_error": str(exc)[:500]}
                record["recorded_at"] = clock().isoformat()
                await outbox.write_receipt(record)
                await self._refresh(entries, but=entry)
                return
            self.health.pop(target.id, None)
            receipt = final_receipt(
                entry, outcome="delivered", attempts=attempts, recorded_at=clock()
            )
            await self._delivered(receipt, target, attempts=attempts)

    async def _refresh(self, entries: list[PendingEntry], *, but: PendingEntry) -> None:
        """Rewrite the pending records older than `REFRESH_AFTER`: the receipts topic deletes
        by age (7 days by default), and a long outage must not outlast its records."""
        now = self.context.clock()
        for entry in entries:
            written = datetime.fromisoformat(str(entry.record.get("recorded_at") or entry.since))
            if entry is not but and now - written > REFRESH_AFTER:
                record = {**entry.record, "recorded_at": now.isoformat()}
                await self.context.outbox.write_receipt(record)

    async def gone(self, entry: PendingEntry, reason: str) -> None:
        """Dead-letter a pending entry whose target the directory no longer has."""
        channel = entry.record.get("channel")
        target = Target(
            officer=entry.officer,
            channel=channel if channel in ("email", "webhook", "chat") else "email",
            url="-",
            label=entry.target,
        )
        await self._invalid(_letter_of(target, entry), reason, attempts=entry.attempts)

    async def _delivered(self, receipt: dict[str, Any], target: Target, *, attempts: int) -> None:
        stats = self.context.stats
        if receipt.get("kind") == "digest":
            stats.digests += 1
        else:
            stats.delivered += 1
        stats.count_delivery(target.channel)
        log.info("delivered %s to %s (attempt %d)", receipt["key"], target.label, attempts)
        receipt = {**receipt, "outcome": "delivered", "attempts": attempts}
        receipt["recorded_at"] = self.context.clock().isoformat()
        await self.context.outbox.write_receipt(receipt)

    async def _pend(self, letter: Letter, *, attempts: int, error: str) -> None:
        now = self.context.clock()
        record = pending_record(
            letter.receipt,
            letter=(letter.subject, letter.body, letter.severity),
            owner=letter.owner,
            since=now,
            attempts=attempts,
            last_error=error,
            source=letter.source,
            original=letter.original,
            recorded_at=now,
        )
        await self.context.outbox.write_receipt(record)

    async def _invalid(self, letter: Letter, reason: str, *, attempts: int) -> None:
        """Dead-letter a permanently invalid target and settle it (counted by reason)."""
        target = letter.target
        self.context.stats.count_deadletter(INVALID_TARGET)
        log.warning("dead-lettering %s for %s: %s", letter.key, target.label, reason)
        detail = f"{target.id} ({target.label}) after {attempts} attempts: {reason}"
        # Keyed as the event was (by its case), or by the receipt key for a digest.
        key = letter.owner if letter.source is not None else letter.key
        await self.context.outbox.deadletter_at(
            key.encode(), letter.original, INVALID_TARGET, detail, letter.source
        )
        receipt = {**letter.receipt, "outcome": "deadlettered", "attempts": attempts}
        receipt["recorded_at"] = self.context.clock().isoformat()
        await self.context.outbox.write_receipt(receipt)


def _letter_of(target: Target, entry: PendingEntry) -> Letter:
    """A pending entry as the letter it was (for dead-lettering it)."""
    receipt = final_receipt(
        entry, outcome="deadlettered", attempts=entry.attempts, recorded_at=entry.since
    )
    return Letter(
        target=target,
        subject=entry.subject,
        body=entry.body,
        severity=entry.severity,
        receipt=receipt,
        owner=entry.owner,
        original=entry.original,
        source=entry.source,
    )
