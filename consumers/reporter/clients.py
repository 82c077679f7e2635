"""The reporter service's Kafka clients, all built here (one place for security settings).

* ``producer``: receipts, contact annotations and tombstones, reply commands, dead letters
  (``acks=all``, idempotent, awaited);
* ``follower``: no group; every partition of ``reporter.contacts`` and ``reporter.receipts``,
  read from the beginning at start and caught up before each batch;
* ``events``: the consumer group on ``cases.events`` (manual commits, ``read_committed``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from consumers.kafka_security import KafkaSecurity, aiokafka_kwargs
from consumers.reporter.settings import ReporterSettings
from consumers.settings import EngineSettings
from consumers.topic_reading import read_until_end_async, refresh_metadata
from consumers.topics import (
    COMMANDS,
    CONTACTS,
    DEADLETTER,
    EVENTS,
    REPORTER_INBOUND,
    REPORTER_RECEIPTS,
)

__all__ = ["ReporterClients", "ReporterTopics"]


@dataclass(frozen=True)
class ReporterTopics:
    events: str
    contacts: str
    receipts: str
    commands: str
    deadletter: str
    inbound: str

    @classmethod
    def of(cls, engine: EngineSettings) -> ReporterTopics:
        return cls(
            events=engine.topic(EVENTS),
            contacts=engine.topic(CONTACTS),
            receipts=engine.topic(REPORTER_RECEIPTS),
            commands=engine.topic(COMMANDS),
            deadletter=engine.topic(DEADLETTER),
            inbound=engine.topic(REPORTER_INBOUND),
        )


class ReporterClients:
    def __init__(
        self,
        engine: EngineSettings,
        settings: ReporterSettings,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.topics = ReporterTopics.of(engine)
        self._engine = engine
        self._settings = settings
        self._security = security or KafkaSecurity()
        self._running: list[Any] = []
        self.producer: Any = None
        self.follower: Any = None
        self.events: Any = None

    async def start(self) -> None:
        """Build the clients (aiokafka wants the running loop) and start producer and follower."""
        common: dict[str, Any] = {
            "bootstrap_servers": self._engine.kafka_bootstrap,
            **aiokafka_kwargs(self._security),
        }
        self.producer = AIOKafkaProducer(**common, acks="all", enable_idempotence=True)
        self.follower = AIOKafkaConsumer(
            **common, group_id=None, enable_auto_commit=False, isolation_level="read_committed"
        )
        self.events = AIOKafkaConsumer(
            self.topics.events,
            self.topics.inbound,
            **common,
            group_id=self._engine.topic(self._settings.group_id),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=10_000,
            heartbeat_interval_ms=2_000,
        )
        for client in (self.producer, self.follower):
            await client.start()
            self._running.append(client)

    async def follow(self) -> None:
        """Assign every partition of contacts and receipts, from the beginning."""
        side = [
            *await self._partitions(self.topics.contacts),
            *await self._partitions(self.topics.receipts),
        ]
        self.follower.assign(side)
        await self.follower.seek_to_beginning(*side)

    async def catch_up(self, apply: Callable[[str, Any], None]) -> None:
        ends = await self.follower.end_offsets(list(self.follower.assignment()))
        async for tp, records in read_until_end_async(self.follower, ends):
            for record in records:
                apply(tp.topic, record)

    async def join_group(self) -> None:
        await self.events.start()
        self._running.append(self.events)

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Any = None
    ) -> None:
        await self.producer.send_and_wait(topic, value=value, key=key, headers=headers)

    def topic(self, logical: str) -> str:
        return self._engine.topic(logical)

    async def stop(self) -> None:
        while self._running:
            await self._running.pop().stop()

    async def _partitions(self, topic: str) -> list[TopicPartition]:
        for _ in range(100):
            found = self.follower.partitions_for_topic(topic)
            if found:
                return [TopicPartition(topic, p) for p in sorted(found)]
            await refresh_metadata(self.follower)
            await asyncio.sleep(0.1)
        raise RuntimeError(f"topic {topic} does not exist (run 'aduan topics')")
