"""Retrying pending reporter messages for as long as it takes: `Retrier.start_due`.

Called by the service's loop after each batch (so no second task reads the side topics): it
starts one task per due queue (one case's messages on one channel, oldest first; at most
``concurrency`` at once), so a dead provider or a recipient over the rate limit holds up nothing
but its own queue, never the event loop or another reporter. Only the queues whose case hashes
to a partition of ``cases.events`` assigned to this process are retried, as the officer alerts
are (`consumers.notifier.retrier`): two messaging processes never both retry one message.

A retry is one attempt; a transient failure rewrites the pending record with the attempts
counted and the next instant (the officer alerts' capped exponential backoff,
`consumers.notifier.delivery.Backoff`); a permanent refusal, or a message still failing after
``retry_for`` (days of outage), is settled ``failed``. A recipient over its rate limit only waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from consumers.notifier.delivery import Backoff
from consumers.reporter.channels import ChannelSender, Outgoing, SendFailed
from consumers.reporter.contacts import ContactBook
from consumers.reporter.delivery import Attempted, RecipientPacer, channel_for
from consumers.reporter.pending import PendingBook, PendingMessage

log = logging.getLogger("aduan.reporter")

__all__ = ["Retrier", "RetrySchedule"]

Settle = Callable[[PendingMessage, Attempted], Awaitable[None]]
Write = Callable[[PendingMessage], Awaitable[None]]


@dataclass(frozen=True)
class RetrySchedule:
    base: float
    cap: float
    retry_for: timedelta

    def next_at(self, now: datetime, attempts: int) -> datetime:
        return now + timedelta(seconds=Backoff(self.base, self.cap).delay(max(1, attempts)))


class Retrier:
    def __init__(
        self,
        book: PendingBook,
        contacts: ContactBook,
        senders: Mapping[str, ChannelSender],
        pacer: RecipientPacer,
        schedule: RetrySchedule,
        *,
        clock: Callable[[], datetime],
        owned: Callable[[], Callable[[str], bool]],
        settle: Settle,
        write: Write,
        concurrency: int = 8,
    ) -> None:
        self.book, self.contacts, self.senders = book, contacts, senders
        self.pacer, self.schedule, self.clock = pacer, schedule, clock
        self._owned, self._settle, self._write = owned, settle, write
        self._slots = asyncio.Semaphore(concurrency)
        self._running: dict[str, asyncio.Task[None]] = {}

    def start_due(self) -> None:
        for queue, entries in self.book.due(self.clock(), self._owned()).items():
            if queue in self._running:
                continue
            task = asyncio.create_task(self._work(entries))
            self._running[queue] = task
            task.add_done_callback(self._forget(queue))

    def _forget(self, queue: str) -> Callable[[asyncio.Task[None]], None]:
        def forget(_: asyncio.Task[None]) -> None:
            self._running.pop(queue, None)

        return forget

    async def drain(self) -> None:
        """Wait for the retries under way (at shutdown)."""
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _work(self, entries: list[PendingMessage]) -> None:
        async with self._slots:
            for entry in entries:
                try:
                    if not await self._attempt(entry):
                        return  # the queue's head waits: the rest waits behind it
                except Exception:  # e.g. the broker away: it stays pending, tried again
                    log.exception("retrying reporter message %s failed", entry.key)
                    self.book.later(entry, self.schedule.next_at(self.clock(), entry.attempts))
                    return

    async def _attempt(self, entry: PendingMessage) -> bool:
        """One try of ``entry``; True when it is settled (the next of its queue may go)."""
        contact = self.contacts.contact(entry.case_id)
        route = channel_for(contact, self.senders) if contact is not None else None
        gone = "opted out" if entry.case_id in self.contacts.opted_out else None
        if route is None or route[0] != entry.channel:
            gone = "no contact on this channel any more (e.g. tombstoned)"
        if gone is not None or route is None:
            await self._settle(entry, Attempted(False, entry.attempts, reason=gone or ""))
            return True
        address, now = route[1], self.clock()
        wait = self.pacer.wait_for(address)
        if wait > 0:
            self.book.later(entry, now + timedelta(seconds=wait))
            return False
        message = Outgoing(
            address, entry.rendered, entry.language, entry.last_inbound_at, now, entry.case_id
        )
        attempts = entry.attempts + 1
        try:
            provider_id = await self.senders[entry.channel].send(message)
        except SendFailed as exc:
            if exc.permanent or now - entry.since >= self.schedule.retry_for:
                await self._settle(entry, Attempted(False, attempts, reason=str(exc)))
                return True
            again = replace(
                entry,
                attempts=attempts,
                next_at=self.schedule.next_at(now, attempts),
                last_error=str(exc),
            )
            await self._write(again)
            return False
        self.pacer.note(address)
        await self._settle(entry, Attempted(True, attempts, provider_id))
        return True
