"""Sending the daily digests that have come due (`consumers.notifier.digest` has the pieces).

Called on every iteration of the notifier's loop, with or without events. Only when the directory
enables the digest: each officer whose partition of ``cases.events`` this notifier owns gets it
once per local date; the same receipts as alerts (key ``digest|<officer>|<date>``) are checked
before sending and written after, and a target that fails leaves it pending for the retrier,
as an alert (`consumers.notifier.dispatch`). Its lines come from the receipts of delivered
alerts, so they survive a restart. Between due instants the check is one comparison with the clock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from aiokafka import TopicPartition

from consumers.notifier.clients import Assigned
from consumers.notifier.context import NotifierContext
from consumers.notifier.digest import (
    count_escalated,
    digest_key,
    latest_due,
    next_due,
    render_digest,
)
from consumers.notifier.directory import Officer, Target
from consumers.notifier.dispatch import Dispatcher, Letter
from consumers.notifier.receipts import digest_receipt
from consumers.topics import partition_for

log = logging.getLogger("aduan.notifier")

__all__ = ["DigestRunner"]


@dataclass(frozen=True)
class _Due:
    officer: Officer
    tz: str
    day: date
    instant: datetime

    @property
    def key(self) -> str:
        return digest_key(self.officer.id, self.day)


@dataclass(frozen=True)
class _Digest:
    """One officer's rendered digest."""

    due: _Due
    subject: str
    body: str
    count: int


class DigestRunner:
    def __init__(
        self,
        context: NotifierContext,
        dispatcher: Dispatcher,
        *,
        catch_up: Callable[[], Awaitable[None]],
        events_topic: str,
    ) -> None:
        self.context = context
        self.dispatcher = dispatcher
        self.directory = context.directory
        self.policy = context.policy
        self.clock = context.clock
        self.stats = context.stats
        self.receipts = context.receipts
        self.cases = context.cases
        self.outbox = context.outbox
        self.catch_up = catch_up
        self.events_topic = events_topic
        self.next_check: datetime | None = None
        """No digest can come due before this instant (None: look now)."""
        self._assignment: frozenset[TopicPartition] = frozenset()

    def _owned_partitions(self, consumer: Assigned) -> tuple[set[int], int]:
        """(partitions of cases.events this notifier owns, their total count). An officer's
        digest belongs to the owner of partition ``partition_for(officer id)``, so two notifiers
        in the group do not both send it."""
        total = len(consumer.partitions_for_topic(self.events_topic) or ())
        owned = {tp.partition for tp in consumer.assignment() if tp.topic == self.events_topic}
        return owned, total

    async def run_due(self, consumer: Assigned) -> None:
        """Send every digest that is due and not yet receipted (cheap when none is due)."""
        officers = self.directory.digest_officers()
        if not officers:
            return
        assignment = frozenset(consumer.assignment())
        if assignment != self._assignment:  # a rebalance: digests may have moved here
            self._assignment = assignment
            self.next_check = None
        now = self.clock()
        if self.next_check is not None and now < self.next_check:
            return
        owned, total = self._owned_partitions(consumer)
        if not owned or not total:
            return  # not assigned yet: look again on the next iteration
        at = self.directory.digest.time
        due: list[_Due] = []
        upcoming: list[datetime] = []
        for officer in officers:
            tz = self.directory.officer_zone(officer, self.policy)
            upcoming.append(next_due(now, at, tz))
            if partition_for(officer.id.encode(), total) not in owned:
                continue
            day, instant = latest_due(now, at, tz)
            key = digest_key(officer.id, day)
            if all(self.receipts.handled(key, t.id) for t in self.directory.targets(officer)):
                continue
            due.append(_Due(officer, tz, day, instant))
        if due:
            await self._send(due)
        self.next_check = min(upcoming)

    async def _send(self, due: list[_Due]) -> None:
        await self.catch_up()  # receipts of another notifier, and fresh snapshots
        self.receipts.book.prune(min(d.instant for d in due) - timedelta(hours=48))
        escalated = count_escalated(
            self.cases.values(), self.directory, [d.officer.id for d in due]
        )
        for one in due:
            await self._digest_officer(one, escalated.get(one.officer.id))

    async def _digest_officer(self, due: _Due, escalated: int | None) -> None:
        officer = due.officer
        items = self.receipts.book.window(
            officer.id, due.instant - timedelta(hours=24), due.instant
        )
        if not items:
            return  # a quiet day: no digest
        for target in self.directory.targets(officer):
            if self.receipts.handled(due.key, target.id):
                self.stats.duplicates_skipped += 1
                continue
            subject, body = render_digest(
                items,
                escalated,
                day=due.day,
                due=due.instant,
                tz=due.tz,
                language=self.directory.language_for(officer),
                policy=self.policy,
                case_url=self.directory.case_url,
                recipient_role=officer.role,
                channel=target.channel,
            )
            await self._digest_target(_Digest(due, subject, body, len(items)), target)

    async def _digest_target(self, digest: _Digest, target: Target) -> None:
        due = digest.due
        receipt = digest_receipt(
            due.key,
            target=target.id,
            officer=due.officer.id,
            channel=target.channel,
            delivered=True,
            attempts=0,
            day=due.day,
            due=due.instant,
            alerts=digest.count,
            recorded_at=self.clock(),
        )
        # What a dead letter of a digest carries: no event, a summary of the digest.
        summary = {
            "key": due.key,
            "officer": due.officer.id,
            "date": str(due.day),
            "alerts": digest.count,
        }
        letter = Letter(
            target=target,
            subject=digest.subject,
            body=digest.body,
            severity="info",
            receipt=receipt,
            owner=due.officer.id,
            original=json.dumps(summary, separators=(",", ":")).encode(),
        )
        await self.dispatcher.first(letter)
