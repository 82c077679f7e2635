"""The reporter-messaging process: ``cases.events`` in, messages to reporters out.

Per batch of events: catch ``reporter.contacts`` and ``reporter.receipts`` up to their ends;
for each event that is a reporter-facing moment (`consumers.reporter.messages.moment_of`), find
the case's contact, pick the channel, skip what a receipt says was handled, pace per recipient,
send with a few quick retries, write the receipt at once (no address in it); then commit the
batch. A message that cannot go now (provider down, recipient over its rate limit, an earlier
message of its case and channel still waiting) is written *pending* instead and retried by
`consumers.reporter.retrier` for as long as it takes, across restarts; nothing waits in line.

Guarantee: once per (case, moment, channel) across restarts, redeliveries and rebalances, except
when the process dies between the provider accepting a message and the receipt being
acknowledged (milliseconds per message): that message is sent again after the restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from consumers.deadletter import deadletter_headers
from consumers.reporter.channels import ChannelSender, Outgoing
from consumers.reporter.clients import ReporterClients
from consumers.reporter.contacts import Contact, ContactBook, ended_record, waiting_record
from consumers.reporter.delivery import Attempted, RecipientPacer, channel_for, send_with_retries
from consumers.reporter.inbound import InboundHandler
from consumers.reporter.messages import FINAL_KINDS, Moment, Texts, moment_of
from consumers.reporter.pending import PendingBook, PendingMessage
from consumers.reporter.retrier import Retrier
from consumers.reporter.settings import ReporterSettings
from consumers.topics import partition_for
from workflow.codec import InvalidMessage, parse_event, parse_intake
from workflow.intake import ComplaintSubmitted
from workflow.policy import Policy

log = logging.getLogger("aduan.reporter")

__all__ = ["ReporterService", "messages_counter"]

_REPORTER_ACTIONS = frozenset({"InformationProvided", "ResolutionConfirmed", "ResolutionDisputed"})
#: What a case waits for from the reporter after a moment of this kind (absent: nothing).
_WAITING_AFTER = {
    "information_requested": "information",
    "information_requested_agency": "information",
    "resolved": "confirmation",
    "reminder_information": "information",
    "reminder_confirmation": "confirmation",
}


def messages_counter(registry: CollectorRegistry) -> Counter:
    return Counter(
        "aduan_reporter_messages",
        "Messages to reporters by channel, kind and outcome "
        "(delivered, failed, pending, duplicate, opted_out, no_contact).",
        ["channel", "kind", "outcome"],
        registry=registry,
    )


def wall_clock() -> datetime:
    return datetime.now(UTC)


class ReporterService:
    def __init__(
        self,
        clients: ReporterClients,
        settings: ReporterSettings,
        policy: Policy,
        texts: Texts,
        senders: Mapping[str, ChannelSender],
        *,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.clients = clients
        self.topics = clients.topics
        self.settings = settings
        self.policy = policy
        self.texts = texts
        self.senders = dict(senders)
        self.clock = clock
        self.book = ContactBook()
        self.handled: set[str] = set()
        self.last_inbound: dict[str, datetime] = {}
        self.pacer = RecipientPacer(
            settings.per_recipient_per_hour, settings.per_recipient_gap_seconds
        )
        self.registry = registry or CollectorRegistry()
        self.messages = messages_counter(self.registry)
        self.ready = asyncio.Event()
        self.inbound = InboundHandler(self.book, clients.send, clients.topic, self._answer, clock)
        self.replies: dict[str, int] = {}
        self.pending = PendingBook()
        self.retrier = Retrier(
            self.pending,
            self.book,
            self.senders,
            self.pacer,
            settings.schedule,
            clock=clock,
            owned=self._owned,
            settle=self._settle,
            write=self._write_pending,
        )
        waiting = Gauge(
            "aduan_reporter_pending_messages",
            "Reporter messages not delivered yet (retried until delivered or failed).",
            registry=self.registry,
        )
        waiting.set_function(lambda: len(self.pending.entries))

    # -- side topics -------------------------------------------------------------------------

    def _apply_side(self, topic: str, record: Any) -> None:
        if topic == self.topics.contacts:
            self.book.apply(record.key, record.value)
        elif record.value is not None:
            try:
                receipt = json.loads(record.value)
                self.handled.add(str(receipt["key"]))
                self.pending.apply(receipt)
            except (ValueError, KeyError, TypeError):
                log.warning("ignoring an unreadable reporter receipt")

    async def _contact_for(self, case_id: str) -> Contact | None:
        """The case's contact; the engine writes it before the events, but on another topic,
        so a moment that arrives first waits a little for it."""
        contact = self.book.contact(case_id)
        waited = 0.0
        while contact is None and waited < self.settings.contact_wait_seconds:
            await asyncio.sleep(0.2)
            waited += 0.2
            await self.clients.catch_up(self._apply_side)
            contact = self.book.contact(case_id)
        return contact

    # -- one event ---------------------------------------------------------------------------

    async def handle(self, record: Any) -> None:
        if record.topic == self.topics.inbound:
            await self._handle_reply(record)
            return
        try:
            event = parse_event(record.value or b"")
        except InvalidMessage as exc:
            headers = deadletter_headers(str(exc.reason), str(exc), record)
            await self.clients.send(self.topics.deadletter, record.key, record.value, headers)
            return
        if event.type in _REPORTER_ACTIONS:
            self.last_inbound[event.case_id] = event.occurred_at
        moment = moment_of(event, self.policy)
        if moment is None:
            return
        await self._note_waiting(moment)
        if moment.kind in FINAL_KINDS:
            await self.clients.send(
                self.topics.contacts, *ended_record(moment.case_id, self.clock())
            )
        contact = await self._contact_for(moment.case_id)
        route = channel_for(contact, self.senders) if contact is not None else None
        if contact is None or route is None:
            # Web, Open311 and LAPOR! reporters without a contact read the public lookup.
            self.messages.labels("none", moment.kind, "no_contact").inc()
            return
        channel, address = route
        if moment.case_id in self.book.opted_out:
            self.messages.labels(channel, moment.kind, "opted_out").inc()
            return
        if moment.key(channel) in self.handled:
            self.messages.labels(channel, moment.kind, "duplicate").inc()
            return
        await self._send(moment, contact, channel, address)

    async def _note_waiting(self, moment: Moment) -> None:
        waiting = _WAITING_AFTER.get(moment.kind)
        if self.book.waiting.get(moment.case_id) != waiting:
            await self.clients.send(self.topics.contacts, *waiting_record(moment.case_id, waiting))
            self.book.apply(*waiting_record(moment.case_id, waiting))

    async def _handle_reply(self, record: Any) -> None:
        try:
            message = parse_intake(record.value or b"")
        except InvalidMessage as exc:
            headers = deadletter_headers(str(exc.reason), str(exc), record)
            await self.clients.send(self.topics.deadletter, record.key, record.value, headers)
            return
        outcome = await self.inbound.handle(message)
        self.replies[outcome] = self.replies.get(outcome, 0) + 1

    async def _answer(self, message: ComplaintSubmitted, name: str, case_id: str) -> None:
        """Answer a reply on its own channel, once per inbound message (receipted)."""
        channel = str(message.payload.channel)
        reporter = message.payload.reporter
        address = reporter.email if channel == "email" else reporter.phone
        key = f"answer|{message.event_id}|{channel}"
        if address is None or channel not in self.senders or key in self.handled:
            return
        rendered = self.texts.reply(name, case_id, message.payload.language)
        now = message.payload.received_at
        outgoing = Outgoing(address, rendered, rendered.language, now, now, case_id)
        result = await send_with_retries(self.senders[channel], outgoing, self.settings.retry)
        await self._receipt(key, case_id, "answer", message.event_id, channel, result)
        self.messages.labels(channel, "answer", "delivered" if result.delivered else "failed").inc()

    async def _send(self, moment: Moment, contact: Contact, channel: str, address: str) -> None:
        rendered = self.texts.render(moment, contact.language)
        inbound = [t for t in (contact.received_at, self.last_inbound.get(moment.case_id)) if t]
        outgoing = Outgoing(
            address=address,
            rendered=rendered,
            language=rendered.language,
            last_inbound_at=max(inbound) if contact.channel == "whatsapp" and inbound else None,
            now=moment.occurred_at,
            case_id=moment.case_id,
        )
        now = self.clock()
        later = PendingMessage(
            moment.key(channel),
            moment.case_id,
            moment.kind,
            moment.event_id,
            channel,
            attempts=0,
            since=now,
            next_at=now + timedelta(seconds=self.pacer.wait_for(address)),
            last_error="",
            rendered=rendered,
            language=rendered.language,
            last_inbound_at=outgoing.last_inbound_at,
        )
        if self.pending.queued(moment.case_id, channel) or later.next_at > now:
            # Behind its case's earlier message, or its recipient is over the rate limit.
            queued = replace(later, last_error="queued or rate-limited")
            await self._write_pending(queued, first=True)
            return
        result = await send_with_retries(self.senders[channel], outgoing, self.settings.retry)
        if result.delivered:  # the rate limit counts messages the reporter got
            self.pacer.note(address)
        if not result.delivered and not result.permanent:
            retry_at = self.settings.schedule.next_at(self.clock(), result.attempts)
            failed = replace(later, attempts=result.attempts, last_error=result.reason)
            await self._write_pending(replace(failed, next_at=retry_at), first=True)
            return
        await self._settle(later, result)

    async def _write_pending(self, entry: PendingMessage, *, first: bool = False) -> None:
        """Record ``entry`` as pending (no address in it): the retrier sends it later;
        ``first``: it has just started to wait (counted once as ``pending``)."""
        value = json.dumps(entry.record(self.clock()), separators=(",", ":")).encode()
        await self.clients.send(self.topics.receipts, entry.key.encode(), value)
        self.handled.add(entry.key)
        self.pending.put(entry)
        if first:
            self.messages.labels(entry.channel, entry.kind, "pending").inc()

    async def _settle(self, entry: PendingMessage, result: Attempted) -> None:
        """The final receipt of a message (first try or retry) and its count."""
        await self._receipt(
            entry.key, entry.case_id, entry.kind, entry.event_id, entry.channel, result
        )
        self.pending.settle(entry.key)
        outcome = "delivered" if result.delivered else "failed"
        self.messages.labels(entry.channel, entry.kind, outcome).inc()

    def _owned(self) -> Callable[[str], bool]:
        """Whether this process retries a case's messages: it holds the case's partition of
        ``cases.events`` (as the officer alerts' retrier decides)."""
        events = self.clients.events
        topic = self.topics.events
        total = len(events.partitions_for_topic(topic) or ())
        mine = {tp.partition for tp in events.assignment() if tp.topic == topic}
        return lambda case_id: bool(total) and partition_for(case_id.encode(), total) in mine

    async def _receipt(
        self, key: str, case_id: str, kind: str, event_id: str, channel: str, result: Attempted
    ) -> None:
        """Written at once, before the next message: no address in it."""
        receipt = {
            "key": key,
            "case_id": case_id,
            "kind": kind,
            "event_id": event_id,
            "channel": channel,
            "outcome": "delivered" if result.delivered else "failed",
            "attempts": result.attempts,
            "provider_id": result.provider_id,
            "reason": result.reason,
            "recorded_at": self.clock().isoformat(),
        }
        value = json.dumps(receipt, separators=(",", ":")).encode()
        await self.clients.send(self.topics.receipts, key.encode(), value)
        self.handled.add(key)
        if not result.delivered:
            log.warning("reporter message %s not delivered: %s", key, result.reason)

    # -- the loop ----------------------------------------------------------------------------

    async def _forget_ended(self) -> None:
        keep = timedelta(days=self.settings.contact_keep_days)
        for key in self.book.expired(self.clock(), keep):
            await self.clients.send(self.topics.contacts, key, None)
            self.book.apply(key, None)

    async def _loop(self, stop: asyncio.Event) -> None:
        consumer = self.clients.events
        while not stop.is_set():
            batch = await consumer.getmany(
                timeout_ms=self.settings.poll_ms, max_records=self.settings.batch_max
            )
            if batch:
                await self.clients.catch_up(self._apply_side)
            for tp, records in batch.items():
                for record in records:
                    await self.handle(record)
                try:
                    await consumer.commit({tp: records[-1].offset + 1})
                except Exception as exc:  # a rebalance took the partition: receipts cover it
                    log.warning("commit of %s failed (%s); receipts prevent resending", tp, exc)
            self.retrier.start_due()
            await self._forget_ended()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self.clients.start()
            await self.clients.follow()
            await self.clients.catch_up(self._apply_side)
            await self.clients.join_group()
            self.ready.set()
            await self._loop(stop)
        finally:
            await self.retrier.drain()
            await self.clients.stop()
