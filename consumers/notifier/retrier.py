"""Retrying pending deliveries, per target, for as long as it takes: `Retrier.run`.

A task beside the event loop of `consumers.notifier.service`: every ``tick`` it looks for the
targets with pending deliveries (`consumers.notifier.receipts.ReceiptStore.pending`) that are due,
that is, their backoff has passed (`consumers.notifier.dispatch.TargetHealth`) or an operator asked
for a retry (``aduan notifier retry``), and starts one task per target (at most ``concurrency`` at
once) that works through that target's letters, oldest first. So a slow or dead target holds up
nothing but itself. Only the deliveries this notifier owns are retried: those whose owner (case
or officer) hashes to a partition of ``cases.events`` assigned to it, as the digests are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime

from consumers.notifier.clients import Assigned
from consumers.notifier.context import NotifierContext
from consumers.notifier.directory import Target
from consumers.notifier.dispatch import Dispatcher
from consumers.notifier.pending import PendingEntry
from consumers.topics import partition_for

log = logging.getLogger("aduan.notifier")

__all__ = ["Retrier", "oldest_pending_seconds", "owned_by"]


def owned_by(events: Assigned, events_topic: str) -> Callable[[str], bool]:
    """Whether an owner (a case id, an officer id) hashes to a partition of ``events_topic``
    assigned to this notifier now."""
    total = len(events.partitions_for_topic(events_topic) or ())
    mine = {tp.partition for tp in events.assignment() if tp.topic == events_topic}
    return lambda owner: bool(total) and partition_for(owner.encode(), total) in mine


def oldest_pending_seconds(entries: list[PendingEntry], now: datetime) -> float:
    """Age of the oldest pending delivery (0 when none)."""
    if not entries:
        return 0.0
    return max(0.0, (now - min(e.since for e in entries)).total_seconds())


class Retrier:
    def __init__(
        self,
        context: NotifierContext,
        dispatcher: Dispatcher,
        *,
        events: Callable[[], Assigned],
        events_topic: str,
        tick: float = 0.2,
        concurrency: int = 8,
    ) -> None:
        self.context = context
        self.dispatcher = dispatcher
        self.events = events
        self.events_topic = events_topic
        self.tick = tick
        self._slots = asyncio.Semaphore(concurrency)
        self._running: dict[str, asyncio.Task[None]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set; then waits for the retries under way."""
        try:
            while not stop.is_set():
                self.start_due()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.tick)
        finally:
            if self._running:
                await asyncio.gather(*self._running.values(), return_exceptions=True)

    def due_targets(self) -> dict[str, list[PendingEntry]]:
        """Target id -> its pending entries, for each target this notifier should retry now."""
        receipts = self.context.receipts
        forced, receipts.forced = receipts.forced, set()
        owned = owned_by(self.events(), self.events_topic)
        now = time.monotonic()
        due: dict[str, list[PendingEntry]] = {}
        for entry in list(receipts.pending.values()):
            if entry.target in self._running or not owned(entry.owner):
                continue
            health = self.dispatcher.health.get(entry.target)
            if entry.target in forced or health is None or health.next_at <= now:
                due.setdefault(entry.target, []).append(entry)
        return due

    def start_due(self) -> None:
        for target_id, entries in self.due_targets().items():
            task = asyncio.create_task(self._retry(target_id, entries))
            self._running[target_id] = task
            task.add_done_callback(self._finished(target_id))

    def _finished(self, target_id: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_: asyncio.Task[None]) -> None:
            self._running.pop(target_id, None)

        return forget

    def _target(self, entry: PendingEntry) -> Target | None:
        directory = self.context.directory
        try:
            officer = directory.officer(entry.officer)
        except KeyError:
            return None
        return next((t for t in directory.targets(officer) if t.id == entry.target), None)

    async def _retry(self, target_id: str, entries: list[PendingEntry]) -> None:
        async with self._slots:
            try:
                target = self._target(entries[0])
                if target is None:
                    for entry in entries:
                        await self.dispatcher.gone(entry, "no longer in the officer directory")
                    return
                await self.dispatcher.retry(target, entries)
            except Exception:  # e.g. the broker away: the entries stay pending, tried again
                log.exception("retrying %s failed; it stays pending", target_id)
                self.dispatcher.failed(target_id)
