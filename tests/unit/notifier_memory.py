"""Small real in-memory parts for the notifier's Kafka clients (no mocks).

`MemoryLog` is a broker of one partition per topic; `MemoryProducer` appends to it (and keeps
every write in order, headers included); `MemoryFollower` reads it like the notifier's follower
(assign, seek, end offsets, positions); `MemoryEvents` owns every partition of ``cases.events``.
`MemoryClients` puts them together as the `NotifierClients` a `Notifier` is built with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import TopicPartition

from consumers.notifier.clients import EventSource, RecordProducer, SideReader
from consumers.notifier.settings import NotifierSettings
from consumers.settings import EngineSettings

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class MemoryRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass
class MemoryLog:
    topics: dict[str, list[MemoryRecord]] = field(default_factory=dict)

    def append(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers | None = None
    ) -> MemoryRecord:
        records = self.topics.setdefault(topic, [])
        record = MemoryRecord(topic, 0, len(records), key, value, tuple(headers or ()))
        records.append(record)
        return record

    def on(self, topic: str) -> list[MemoryRecord]:
        return list(self.topics.get(topic, []))


class MemoryProducer:
    def __init__(self, log: MemoryLog) -> None:
        self.log = log
        self.sent: list[MemoryRecord] = []

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: Headers | None = None,
    ) -> MemoryRecord:
        record = self.log.append(topic, key, value, headers)
        self.sent.append(record)
        return record


class MemoryFollower:
    """Reads the log's partitions from the positions it was assigned and seeked to."""

    def __init__(self, log: MemoryLog) -> None:
        self.log = log
        self.positions: dict[TopicPartition, int] = {}

    def assignment(self) -> set[TopicPartition]:
        return set(self.positions)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return {0} if topic in self.log.topics else None

    async def refresh_metadata(self) -> None:
        return None

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.positions = {tp: len(self.log.on(tp.topic)) for tp in partitions}

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self.positions[tp] = 0

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: len(self.log.on(tp.topic)) for tp in partitions}

    async def position(self, partition: TopicPartition) -> int:
        return self.positions[partition]

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0
    ) -> dict[TopicPartition, list[MemoryRecord]]:
        batch: dict[TopicPartition, list[MemoryRecord]] = {}
        for tp in partitions:
            records = self.log.on(tp.topic)[self.positions[tp] :]
            if records:
                batch[tp] = records
                self.positions[tp] += len(records)
        return batch


class MemoryEvents:
    """The group consumer: owns ``partitions`` partitions of the events topic."""

    def __init__(self, topic: str, partitions: int = 6) -> None:
        self.topic = topic
        self.partitions = partitions
        self.committed: dict[TopicPartition, int] = {}

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(self.topic, p) for p in range(self.partitions)}

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return set(range(self.partitions)) if topic == self.topic else None

    async def getmany(
        self, *, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[MemoryRecord]]:
        return {}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.committed.update(offsets)


class MemoryClients:
    def __init__(self, producer: RecordProducer, follower: SideReader, events: EventSource) -> None:
        self.producer = producer
        self.follower = follower
        self.events = events

    async def start(self) -> None:
        return None

    async def join_group(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    @classmethod
    def on(cls, log: MemoryLog) -> Callable[[EngineSettings, NotifierSettings], MemoryClients]:
        """A client factory over one shared log (a restart builds fresh clients on it)."""

        def factory(engine: EngineSettings, settings: NotifierSettings) -> MemoryClients:
            events = MemoryEvents(engine.topic("cases.events"))
            return cls(MemoryProducer(log), MemoryFollower(log), events)

        return factory
