"""The engine's clocks. The pure core never reads time; the shell passes ``now`` from one of these.

``SystemClock`` is production. ``SimulatedClock`` is for tests and demos: it only moves when a
message on the clock control topic (``<prefix>control.clock``, one partition) tells it to, so an
end-to-end test can let weeks of SLA time pass in seconds without sleeping. Every worker follows the
whole control topic (no consumer group), so all workers agree on the time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import AwareDatetime, BaseModel, ConfigDict

from consumers.topic_reading import read_until_end

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that moves only forward and only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> bool:
        """Move to ``instant``; earlier instants are ignored (time never goes back).

        True if the clock moved.
        """
        if instant > self._now:
            self._now = instant
            return True
        return False

    def reset(self, instant: datetime) -> None:
        """Jump to ``instant`` even backwards: only for the first control message a starting
        worker replays, which is the deployment's real simulated time, earlier or not."""
        self._now = instant

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)


class ClockControl(BaseModel):
    """A message on the clock control topic: set the simulated time to ``now``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    now: AwareDatetime


def replay_clock_topic(clock: SimulatedClock, kafka: Mapping[str, Any], topic: str) -> int:
    """Bring ``clock`` to the deployment's simulated time before the worker consumes anything.

    Reads the control messages already on ``topic`` (blocking; called before the worker's event
    loop starts): the first one is authoritative even if earlier than the clock's start instant,
    later ones only move it forward. Returns the offset to follow the topic from. ``kafka``:
    brokers and security of a kafka-python client (``SharedSettings.kafka_python_client()``).
    """
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KafkaTopicPartition

    consumer = KafkaConsumer(
        **kafka,
        enable_auto_commit=False,
        group_id=None,
        request_timeout_ms=10_000,
    )
    try:
        if not consumer.partitions_for_topic(topic):
            return 0
        partition = KafkaTopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        ends: dict[Any, int] = consumer.end_offsets([partition])
        end = ends[partition]
        first = True
        for record in read_until_end(consumer, ends, poll_timeout_ms=1000):
            control = _control(record.value, record.offset)
            if control is None:
                continue
            if first:
                clock.reset(control.now)
                first = False
            clock.set(control.now)
        log.info("simulated clock replayed %d control messages: %s", end, clock.now().isoformat())
        return end
    finally:
        consumer.close()


def replay_clock_topic_when_reachable(
    clock: SimulatedClock,
    kafka: Mapping[str, Any],
    topic: str,
    retry_seconds: float = 2.0,
    replay: Callable[[SimulatedClock, Mapping[str, Any], str], int] = replay_clock_topic,
) -> int:
    """`replay_clock_topic`, waiting for the broker if it is down (one line when it starts
    waiting, one when it is back), so a worker restarted during an outage does not exit."""
    from kafka.errors import KafkaError

    waiting_since: float | None = None
    while True:
        try:
            offset = replay(clock, kafka, topic)
        except KafkaError as exc:
            if waiting_since is None:
                waiting_since = time.monotonic()
                log.warning("Kafka unreachable at start (%s); waiting for it", exc)
            time.sleep(retry_seconds)
            continue
        if waiting_since is not None:
            log.warning("Kafka reachable after %.0f s", time.monotonic() - waiting_since)
        return offset


def _control(value: bytes | None, offset: int) -> ClockControl | None:
    try:
        return ClockControl.model_validate(json.loads(value or b""))
    except ValueError as exc:
        log.warning("ignoring bad clock control message at %s: %s", offset, exc)
        return None


async def follow_clock_topic(
    clock: SimulatedClock, kafka: Mapping[str, Any], topic: str, stop: asyncio.Event, start: int
) -> None:
    """Apply the control messages that arrive on ``topic`` from offset ``start`` on, until
    ``stop`` is set (the ones before were applied by `replay_clock_topic`). ``kafka``: brokers
    and security of an aiokafka client (``SharedSettings.aiokafka_client()``)."""
    consumer = AIOKafkaConsumer(**kafka, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek(partition, start)
        while not stop.is_set():
            batch = await consumer.getmany(partition, timeout_ms=50)
            for record in batch.get(partition, []):
                control = _control(record.value, record.offset)
                if control is not None and clock.set(control.now):
                    log.info("simulated clock now %s", control.now.isoformat())
    finally:
        await consumer.stop()
