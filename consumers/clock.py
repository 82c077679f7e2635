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
from datetime import UTC, datetime, timedelta
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import AwareDatetime, BaseModel, ConfigDict

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


async def follow_clock_topic(
    clock: SimulatedClock,
    bootstrap: list[str],
    topic: str,
    stop: asyncio.Event,
    caught_up: asyncio.Event | None = None,
) -> None:
    """Apply every control message of ``topic`` to ``clock`` until ``stop`` is set.

    ``caught_up`` is set once the messages that were on the topic at start have been applied, so
    a restarted worker does not act on the start instant while the real simulated time is later.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        if caught_up is not None and end == 0:
            caught_up.set()
        first = True
        while not stop.is_set():
            batch = await consumer.getmany(partition, timeout_ms=50)
            for record in batch.get(partition, []):
                if caught_up is not None and record.offset >= end - 1:
                    caught_up.set()
                try:
                    control = ClockControl.model_validate(json.loads(record.value or b""))
                except ValueError as exc:
                    log.warning("ignoring bad clock control message at %s: %s", record.offset, exc)
                    continue
                if first:
                    clock.reset(control.now)
                    first = False
                if clock.set(control.now):
                    log.info("simulated clock now %s", control.now.isoformat())
    finally:
        await consumer.stop()
