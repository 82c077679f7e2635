"""The notifier process: ``cases.events`` in, alerts out, receipts on ``notifications.receipts``.

`Notifier` wires the rooms and runs the loop (plain aiokafka, manual commits, its own consumer
group, ``read_committed``):

1. At start, read ``notifications.receipts`` and ``cases.state`` from the beginning into memory
   (`consumers.notifier.side_topics`): the (idempotency key, target) pairs already handled, the
   time of each case's last reminder, and each case's agencies and escalation level.
2. Fetch a batch of events; catch the receipts and snapshots up to their end offsets.
3. Hand each event to `consumers.notifier.handler.AlertHandler`: one attempt per target, then a
   receipt, a pending record, or (a permanently invalid target) a dead letter.
4. Commit the input offsets of the batch.
5. On every iteration (with or without events): handle the operators' replay requests of dead
   letters (`consumers.notifier.replays`), send the daily digests that have come due
   (`consumers.notifier.digest_runner`); about once a second, catch the receipts up (an
   operator's retry or replay request, another notifier's receipts).

Beside the loop, `consumers.notifier.retrier.Retrier` retries the pending deliveries, per target,
with capped backoff (``backoff_cap``, default every 5 minutes at the longest), until delivered.

Guarantee: at least once per (case, kind, level) and target, whatever the outage and however
often the notifier restarts meanwhile (a pending delivery is a record on the receipts topic), and
no duplicate after a restart, a redelivery or a rebalance, except in one window: the notifier
dies after a target accepted the message and before the receipt write was acknowledged (a few
milliseconds per target). That one target then gets the alert again after the restart. Delivery
and receipt cannot be made atomic with an SMTP server or a webhook; writing each receipt
immediately (not per batch) keeps the window to one target.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition

from consumers.notifier.clients import ClientFactory, EventSource, KafkaClients
from consumers.notifier.context import NotifierContext
from consumers.notifier.delivery import AppriseSender, Sender
from consumers.notifier.digest_runner import DigestRunner
from consumers.notifier.directory import Directory
from consumers.notifier.dispatch import Dispatcher
from consumers.notifier.handler import AlertHandler
from consumers.notifier.outbox import Outbox
from consumers.notifier.receipts import ReceiptStore
from consumers.notifier.replays import Replayer
from consumers.notifier.retrier import Retrier, oldest_pending_seconds
from consumers.notifier.settings import NotifierSettings, NotifierTopics
from consumers.notifier.side_topics import CaseBook, SideTopics
from consumers.notifier.stats import NotifierStats, write_stats
from consumers.settings import EngineSettings
from workflow.policy import Policy

log = logging.getLogger("aduan.notifier")

__all__ = ["Notifier", "wall_clock"]

CATCH_UP_EVERY = 1.0
"""Seconds between catch-ups of the side topics while no events come."""


def wall_clock() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """One notifier process. Build with `consumers.notifier.runner.create_notifier`; `run` until
    ``stop`` is set.

    ``clock`` (aware datetimes; default the wall clock) stamps receipts and decides when a daily
    digest is due; ``clients`` builds the Kafka clients (default: aiokafka). Tests pass their own.
    """

    def __init__(
        self,
        engine: EngineSettings,
        settings: NotifierSettings,
        directory: Directory,
        policy: Policy,
        sender: Sender | None = None,
        clock: Callable[[], datetime] = wall_clock,
        clients: ClientFactory = KafkaClients,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.directory = directory
        self.policy = policy
        self.clock = clock
        self.stats = NotifierStats()
        self.receipts = ReceiptStore()
        self.cases: CaseBook = {}
        self.ready = asyncio.Event()
        self.topics = NotifierTopics.of(engine)
        self.clients = clients(engine, settings)
        self.outbox = Outbox(self.clients, self.topics, self.receipts)
        self.side = SideTopics(self.clients, self.topics, self.receipts, self.cases)
        context = NotifierContext(
            settings=settings,
            directory=directory,
            policy=policy,
            sender=sender if sender is not None else AppriseSender(),
            clock=clock,
            stats=self.stats,
            receipts=self.receipts,
            cases=self.cases,
            outbox=self.outbox,
        )
        self.dispatcher = Dispatcher(context)
        self.handler = AlertHandler(context, self.dispatcher)
        self.digests = DigestRunner(
            context, self.dispatcher, catch_up=self.side.catch_up, events_topic=self.topics.events
        )
        self.retrier = Retrier(
            context,
            self.dispatcher,
            events=lambda: self.clients.events,
            events_topic=self.topics.events,
        )
        self.replayer = Replayer(
            context,
            self.handler,
            events=lambda: self.clients.events,
            events_topic=self.topics.events,
        )

    def pending(self) -> tuple[int, float] | None:
        """(deliveries pending, age in seconds of the oldest), as the receipts say; None until
        they are loaded (a restarted notifier reporting 0 would resolve the failing alert)."""
        if not self.side.loaded:
            return None
        entries = list(self.receipts.pending.values())
        return len(entries), oldest_pending_seconds(entries, self.clock())

    @property
    def group_id(self) -> str:
        return self.engine.topic(self.settings.group_id)

    async def _handle_batch(
        self, consumer: EventSource, batch: dict[TopicPartition, list[Any]]
    ) -> None:
        await self.side.catch_up()
        for tp, records in batch.items():
            for record in records:
                await self.handler.handle(record)
            try:
                await consumer.commit({tp: records[-1].offset + 1})
            except Exception as exc:  # a rebalance took the partition: receipts cover it
                log.warning("commit of %s failed (%s); receipts prevent resending", tp, exc)

    async def _loop(self, stop: asyncio.Event) -> None:
        consumer = self.clients.events
        caught_up = time.monotonic()
        written = ""
        while not stop.is_set():
            batch = await consumer.getmany(
                timeout_ms=self.settings.poll_ms, max_records=self.settings.batch_max
            )
            if batch:
                await self._handle_batch(consumer, batch)
                caught_up = time.monotonic()
            elif time.monotonic() - caught_up >= CATCH_UP_EVERY:
                await self.side.catch_up()
                caught_up = time.monotonic()
            await self.replayer.run_due()
            await self.digests.run_due(consumer)
            written = write_stats(self.stats, self.settings.stats_file, unless=written)

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self.clients.start()
            await self.side.load()
            log.info(
                "notifier: %d receipts, %d cases loaded; following %s as group %s",
                len(self.receipts.done),
                len(self.cases),
                self.topics.events,
                self.group_id,
            )
            await self.clients.join_group()
            self.ready.set()
            write_stats(self.stats, self.settings.stats_file)
            retrier = asyncio.create_task(self.retrier.run(stop))
            try:
                await self._loop(stop)
            finally:
                stop.set()
                await retrier
        finally:
            await self.clients.stop()
            write_stats(self.stats, self.settings.stats_file)
