"""The notifier's three Kafka clients, behind small interfaces, built by one factory.

* `RecordProducer`: writes receipts and dead letters (``acks=all``, idempotent, awaited).
* `SideReader` (the "follower"): no group; assigned every partition of ``notifications.receipts``
  and ``cases.state`` and read from the beginning, then caught up before each batch.
* `EventSource`: the consumer group on ``cases.events`` (manual commits, ``read_committed``).

`KafkaClients` builds the aiokafka clients on `start` (they need the running loop) and stops them
in reverse order. Tests pass their own `NotifierClients` made of small real in-memory parts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from consumers.notifier.settings import NotifierSettings
from consumers.settings import EngineSettings
from consumers.topic_reading import refresh_metadata

__all__ = [
    "ClientFactory",
    "EventSource",
    "KafkaClients",
    "NotifierClients",
    "RecordProducer",
    "SideReader",
    "partitions_of",
]

Headers = list[tuple[str, bytes]]


class RecordProducer(Protocol):
    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: Headers | None = None,
    ) -> Any: ...


class Assigned(Protocol):
    """What the digest runner needs of the group consumer: which partitions are ours."""

    def assignment(self) -> set[TopicPartition]: ...

    def partitions_for_topic(self, topic: str) -> set[int] | None: ...


class SideReader(Assigned, Protocol):
    def assign(self, partitions: list[TopicPartition]) -> None: ...

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None: ...

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]: ...

    async def position(self, partition: TopicPartition) -> int: ...

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0
    ) -> dict[TopicPartition, list[Any]]: ...

    async def refresh_metadata(self) -> None:
        """Ask the broker for fresh metadata (a topic created a moment ago)."""


class EventSource(Assigned, Protocol):
    async def getmany(
        self, *, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[Any]]: ...

    async def commit(self, offsets: dict[TopicPartition, int]) -> None: ...


class NotifierClients(Protocol):
    """The clients of one run: usable between `start` and `stop`."""

    @property
    def producer(self) -> RecordProducer: ...

    @property
    def follower(self) -> SideReader: ...

    @property
    def events(self) -> EventSource: ...

    async def start(self) -> None:
        """Start the producer and the follower."""

    async def join_group(self) -> None:
        """Start the group consumer (once the side topics are loaded)."""

    async def stop(self) -> None:
        """Stop whatever was started (also after a failed start)."""


ClientFactory = Callable[[EngineSettings, NotifierSettings], NotifierClients]


class _Follower(AIOKafkaConsumer):  # type: ignore[misc]  # aiokafka ships no type hints
    async def refresh_metadata(self) -> None:
        await refresh_metadata(self)  # private aiokafka API: see consumers.topic_reading


class KafkaClients:
    """The production clients, built on `start` from the engine's and the notifier's settings."""

    def __init__(self, engine: EngineSettings, settings: NotifierSettings) -> None:
        self._engine = engine
        self._settings = settings
        self._clients: tuple[Any, _Follower, Any] | None = None
        self._running: list[Any] = []
        """The clients started so far, stopped in reverse order."""

    def _started(self) -> tuple[Any, _Follower, Any]:
        if self._clients is None:
            raise RuntimeError("the Kafka clients are used before start()")
        return self._clients

    @property
    def producer(self) -> RecordProducer:
        producer: RecordProducer = self._started()[0]
        return producer

    @property
    def follower(self) -> SideReader:
        return self._started()[1]

    @property
    def events(self) -> EventSource:
        events: EventSource = self._started()[2]
        return events

    async def start(self) -> None:
        kafka = self._engine.aiokafka_client()  # brokers and this process's principal
        producer = AIOKafkaProducer(**kafka, acks="all", enable_idempotence=True)
        follower = _Follower(
            **kafka,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        events = AIOKafkaConsumer(
            self._engine.topic("cases.events"),
            **kafka,
            group_id=self._engine.topic(self._settings.group_id),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=10_000,
            heartbeat_interval_ms=2_000,
            max_poll_interval_ms=600_000,
        )
        self._clients = (producer, follower, events)
        for client in (producer, follower):
            await client.start()
            self._running.append(client)

    async def join_group(self) -> None:
        events = self._started()[2]
        await events.start()
        self._running.append(events)

    async def stop(self) -> None:
        while self._running:
            await self._running.pop().stop()


async def partitions_of(reader: SideReader, topic: str) -> list[TopicPartition]:
    """Every partition of ``topic``; waits up to ~10 s for a topic created a moment ago."""
    for _ in range(100):
        found = reader.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        await reader.refresh_metadata()
        await asyncio.sleep(0.1)
    raise RuntimeError(f"topic {topic} does not exist (run 'aduan topics')")
