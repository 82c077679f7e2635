"""The event relay: publishes what the case agent wrote to its table, exactly once.

The case agent's only output is its table (a faust table, whose changelog topic is the durable
record of every case change, each with the events that change produced; see
:mod:`consumers.engine.records`). The relay consumes that changelog and, per batch and per
partition, in one Kafka transaction: sends the outbox events to ``cases.events``, the snapshot to
``cases.state`` and its own input offset. Readers with ``isolation_level=read_committed``
therefore see every event once, even when a worker is killed mid-batch: the open transaction is
aborted when the partition's transactional producer is started again (same ``transactional_id``),
and the batch is redone.

Transactional ids are per changelog partition (``<app id>-relay-<p>``), which is what fences a
zombie relay that still believes it owns a partition after a rebalance.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from consumers.engine.records import is_held, unframe
from consumers.settings import EngineSettings

log = logging.getLogger(__name__)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped here
    def __init__(self, relay: EventRelay) -> None:
        self._relay = relay

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        await self._relay.release(list(revoked))

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        await self._relay.acquire(list(assigned))


class EventRelay:
    """Changelog -> cases.events + cases.state, transactionally, for the partitions it is given."""

    def __init__(
        self,
        settings: EngineSettings,
        *,
        on_published: Callable[[bytes, Sequence[bytes]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.on_published = on_published  # metrics: called per record once its batch commits
        self.group_id = f"{settings.full_app_id}-relay"
        self.events_topic = settings.topic("cases.events")
        self.state_topic = settings.topic("cases.state")
        self._producers: dict[int, AIOKafkaProducer] = {}
        self._lock = asyncio.Lock()
        self.published_events = 0
        self.published_snapshots = 0
        self.failures = 0

    async def acquire(self, partitions: list[TopicPartition]) -> None:
        async with self._lock:
            for tp in partitions:
                if tp.partition in self._producers:
                    continue
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.settings.kafka_bootstrap,
                    transactional_id=f"{self.settings.full_app_id}-relay-{tp.partition}",
                    enable_idempotence=True,
                    acks="all",
                )
                # start() runs InitProducerId: it fences an older producer with the same id and
                # aborts the transaction that one left open.
                await producer.start()
                self._producers[tp.partition] = producer

    async def release(self, partitions: list[TopicPartition]) -> None:
        async with self._lock:
            for tp in partitions:
                producer = self._producers.pop(tp.partition, None)
                if producer is not None:
                    try:
                        await producer.stop()
                    except Exception as exc:  # a broken producer must not stop the relay
                        log.warning("stopping the relay producer of %s: %r", tp, exc)

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            consumer.subscribe([self.settings.case_changelog_topic], listener=_Rebalance(self))
            while not stop.is_set():
                batches = await consumer.getmany(
                    timeout_ms=self.settings.relay_poll_ms,
                    max_records=self.settings.relay_batch_max,
                )
                for tp, records in batches.items():
                    if tp.partition not in self._producers and tp in consumer.assignment():
                        # Still ours (e.g. after our producer was fenced by a zombie that
                        # re-initialised later): take the partition's transactional id back.
                        await self.acquire([tp])
                    try:
                        await self._publish(tp, records)
                    except Exception as exc:
                        # Nothing of the batch is visible (the transaction aborted or never
                        # committed): go back and redo it with a fresh producer. A producer that
                        # failed mid-transaction may be fenced or stuck in an error state; a new
                        # one re-initialises the partition's transactional id, which also aborts
                        # whatever the old one left open.
                        self.failures += 1
                        log.warning("relay batch for %s not published (%r); redoing", tp, exc)
                        await self.release([tp])
                        consumer.seek(tp, records[0].offset)
                        if not isinstance(exc, KafkaError):
                            await asyncio.sleep(1.0)  # not a broker hiccup: do not spin
        finally:
            await consumer.stop()
            await self.release([TopicPartition("", p) for p in list(self._producers)])

    async def _publish(self, tp: TopicPartition, records: list[Any]) -> None:
        async with self._lock:
            producer = self._producers.get(tp.partition)
            if producer is None:  # revoked while we were fetching; the new owner redoes it
                return
            committed: list[tuple[bytes, list[bytes]]] = []
            async with producer.transaction():
                events = snapshots = 0
                for record in records:
                    key: bytes | None = record.key
                    value: bytes | None = record.value
                    if value is None or is_held(value):
                        continue  # a deletion, or commands waiting for their intake
                    try:
                        snapshot, *outbox = unframe(value)
                    except ValueError as exc:
                        log.error("skipping unreadable changelog record %s: %s", tp, exc)
                        continue
                    for event in outbox:
                        await producer.send(self.events_topic, key=key, value=event)
                    await producer.send(self.state_topic, key=key, value=snapshot)
                    events += len(outbox)
                    snapshots += 1
                    committed.append((snapshot, outbox))
                last_offset: int = records[-1].offset
                await producer.send_offsets_to_transaction({tp: last_offset + 1}, self.group_id)
            self.published_events += events
            self.published_snapshots += snapshots
            if self.on_published is not None:
                for snapshot, outbox in committed:
                    self.on_published(snapshot, outbox)
