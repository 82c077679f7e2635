"""Publishing to Kafka with an idempotent producer (acks=all), and an in-memory twin for tests.

`Publisher.publish` returns only after the broker acknowledged the write, so a tracking number
handed to a caller always refers to a stored message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from consumers.connectivity import BrokerLink
from consumers.gateway.settings import GatewaySettings


class PublishError(RuntimeError):
    """The broker did not acknowledge the write in time (the caller gets 503)."""


class Publisher(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        """Write ``value`` to the logical ``topic`` under ``key``; wait for the acknowledgement."""
        ...

    @property
    def ready(self) -> bool: ...


class KafkaPublisher:
    """aiokafka producer with ``enable_idempotence=True, acks="all"``.

    Every publish ends within ``gateway_publish_timeout`` (a PublishError, so 503, after it);
    while ``broker`` says the broker is unreachable it fails at once instead of queueing.
    """

    def __init__(self, settings: GatewaySettings, broker: BrokerLink | None = None) -> None:
        self.settings = settings
        self.broker = broker
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        producer = AIOKafkaProducer(
            **self.settings.aiokafka_client(),
            enable_idempotence=True,
            acks="all",
            linger_ms=0,
            request_timeout_ms=int(self.settings.gateway_publish_timeout * 1000),
        )
        await producer.start()
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    @property
    def ready(self) -> bool:
        return self._producer is not None

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        if self._producer is None:
            raise PublishError("the Kafka producer is not started")
        if self.broker is not None and not self.broker.connected:
            down = self.broker.unreachable_for()
            raise PublishError(f"the Kafka broker is unreachable (for {down:.0f} s)")
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(self.settings.topic(topic), value=value, key=key),
                timeout=self.settings.gateway_publish_timeout,
            )
        except (KafkaError, TimeoutError) as exc:
            raise PublishError(f"Kafka did not acknowledge the write: {exc!r}") from None


@dataclass
class MemoryPublisher:
    """Keeps what was published, in order; ``fail`` makes every publish raise."""

    sent: list[tuple[str, bytes, bytes]] = field(default_factory=list)
    fail: bool = False
    started: bool = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

    @property
    def ready(self) -> bool:
        return self.started

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        if self.fail:
            raise PublishError("simulated broker outage")
        self.sent.append((topic, key, value))

    def on(self, topic: str) -> list[tuple[bytes, bytes]]:
        return [(k, v) for t, k, v in self.sent if t == topic]
