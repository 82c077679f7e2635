"""The projection: ``cases.state`` and ``cases.events`` (read_committed) into a `SqlReadModel`.

Each polled batch is written in one database transaction together with the next offset of every
partition it covers, so a crash anywhere leaves the rows and the offsets agreeing: a restart
seeks to the stored offsets and neither loses nor doubles a record (and an event row is keyed
by its event id, a snapshot replaces only an older version, so a re-read changes nothing).
Partitions without a stored offset start at the beginning. The model is *ready* once the
positions reach the end offsets seen at start.

No consumer group: the partitions are assigned, and the offsets live in the database only. A
record the model cannot parse goes to ``deadletter`` with its bytes (``aduan.deadlettered_by:
readmodel``) before the transaction that moves the offsets past it, and the rest goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from consumers.deadletter import DEADLETTERED_BY, deadletter_headers
from consumers.readmodel.store import Batch, Rejected, SqlReadModel
from consumers.settings import SharedSettings
from consumers.topic_reading import refresh_metadata
from consumers.topics import DEADLETTER

log = logging.getLogger(__name__)

MAX_BATCH = 5000
"""Records per database transaction at most (one poll)."""


class ProjectionError(Exception):
    """A one-off projection (``until_caught_up``) cannot run: no broker, no topic."""


class ForeignReadModel(Exception):
    """The database already holds the read model of other topics (another topic prefix)."""


def check_own_topics(model: SqlReadModel, settings: SharedSettings, shown_url: str) -> None:
    """Refuse a database that was projected from other topics: its cases would be shown beside
    this deployment's (a queue mixing two prefixes' cases), and no offset of ours says so."""
    ours = {settings.topic("cases.state"), settings.topic("cases.events")}
    foreign = sorted({topic for topic, _ in model.stored_offsets()} - ours)
    if foreign:
        named = ", ".join(foreign[:2]) + (f" and {len(foreign) - 2} more" if foreign[2:] else "")
        raise ForeignReadModel(
            f"the read model {shown_url} was projected from other topics ({named}): "
            "give this deployment its own ADUAN_READMODEL_URL (or remove that database)"
        )


class Projection:
    """Feeds a `SqlReadModel` until stopped (or, with ``until_caught_up``, until ready)."""

    def __init__(
        self,
        settings: SharedSettings,
        model: SqlReadModel,
        *,
        until_caught_up: bool = False,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.settings = settings
        self.max_batch = max_batch
        self.model = model
        self.until_caught_up = until_caught_up
        self.started_at: dict[tuple[str, int], int] = {}
        """The position every partition started from (stored offset or 0): tests and logs."""
        self.records_read = 0
        self._task: asyncio.Task[None] | None = None
        self._producer: AIOKafkaProducer | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="read-model-projection")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            **self.settings.aiokafka_client(),
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        if not await self._connect(consumer):
            return
        try:
            state_topic = self.settings.topic("cases.state")
            tps = [
                *await self._partitions(consumer, state_topic),
                *await self._partitions(consumer, self.settings.topic("cases.events")),
            ]
            if self._stop.is_set():
                return
            consumer.assign(tps)
            await self._seek(consumer, tps)
            ends = await consumer.end_offsets(tps)
            await self._follow(consumer, state_topic, ends)
        finally:
            await consumer.stop()
            if self._producer is not None:
                await self._producer.stop()
                self._producer = None

    async def _connect(self, consumer: AIOKafkaConsumer) -> bool:
        while not self._stop.is_set():
            try:
                await consumer.start()
                return True
            except Exception as exc:  # the broker may not be up yet
                if self.until_caught_up:  # a one-off run (rebuild) says so instead of waiting
                    raise ProjectionError(f"cannot reach Kafka: {exc}") from None
                log.warning("read model projection: cannot reach Kafka (%s); retrying", exc)
                await asyncio.sleep(2.0)
        return False

    async def _partitions(self, consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
        while not self._stop.is_set():
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                await refresh_metadata(consumer)
                parts = consumer.partitions_for_topic(topic)
            if parts:
                return [TopicPartition(topic, p) for p in sorted(parts)]
            if self.until_caught_up:
                raise ProjectionError(f"topic {topic} does not exist (run 'aduan topics')")
            log.info("read model projection: waiting for topic %s", topic)
            await asyncio.sleep(1.0)
        return []

    async def _seek(self, consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> None:
        stored = await asyncio.to_thread(self.model.stored_offsets)
        for tp in tps:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)
            self.started_at[(tp.topic, tp.partition)] = await consumer.position(tp)
        log.info("read model projection: starting at %s", _describe(self.started_at))

    async def _follow(
        self, consumer: AIOKafkaConsumer, state_topic: str, ends: dict[TopicPartition, int]
    ) -> None:
        pending = {tp for tp, end in ends.items() if end > 0}
        while not self._stop.is_set():
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
            if not pending and not self.model.ready:
                await asyncio.to_thread(self.model.optimize)
                self.model.ready = True
                log.info("read model projection: caught up (%d records read)", self.records_read)
            if self.model.ready and self.until_caught_up:
                return
            polled = await consumer.getmany(timeout_ms=200, max_records=self.max_batch)
            if polled:
                batch = _batch(polled, state_topic)
                prepared = await asyncio.to_thread(self.model.prepare, batch)
                if prepared.rejected:
                    # Before the offsets move past them: a crash re-reads, never loses them.
                    await self._deadletter(prepared.rejected)
                await asyncio.to_thread(self.model.write, prepared)
                self.records_read += len(batch.states) + len(batch.events)

    async def _deadletter(self, rejected: list[Rejected]) -> None:
        if self._producer is None:
            self._producer = AIOKafkaProducer(
                **self.settings.aiokafka_client(), acks="all", enable_idempotence=True
            )
            await self._producer.start()
        for record in rejected:
            source = _Source(self.settings.topic(record.topic), record.partition, record.offset)
            headers = deadletter_headers(record.reason, record.detail, source)
            headers.append((DEADLETTERED_BY, b"readmodel"))
            await self._producer.send_and_wait(
                self.settings.topic(DEADLETTER), record.value, headers=headers
            )
            log.warning(
                "read model projection: %s[%d]@%d dead-lettered (%s)",
                source.topic,
                record.partition,
                record.offset,
                record.reason,
            )


def _batch(polled: dict[Any, list[Any]], state_topic: str) -> Batch:
    batch = Batch()
    for tp, records in polled.items():
        if not records:
            continue
        if tp.topic == state_topic:
            batch.states.extend((r.key, r.value) for r in records)
            batch.state_positions.extend((tp.partition, r.offset) for r in records)
        else:
            batch.events.extend((tp.partition, r.offset, r.value) for r in records)
        batch.next_offsets[(tp.topic, tp.partition)] = records[-1].offset + 1
    return batch


@dataclass(frozen=True)
class _Source:
    topic: str
    partition: int
    offset: int


def _describe(positions: dict[tuple[str, int], int]) -> str:
    return ", ".join(f"{t}[{p}]={o}" for (t, p), o in sorted(positions.items()))
