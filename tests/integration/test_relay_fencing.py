"""The event relay against a zombie of itself, on the real broker (issue 12, the chaos run's
duplicate event ids on ``cases.events``).

A relay that stalls (a loaded machine, a long GC) is fenced out of its partition's transactional
id by a successor, which publishes the records the stalled one had fetched. When the stalled relay
wakes up, its transaction fails with ``ProducerFenced``; it takes the id back (the partition is
still in its stale assignment) and must not publish those records a second time: the offset
committed with the successor's transaction says they are out already.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from kafka.admin import NewTopic

from consumers.engine.records import frame
from consumers.engine.relay import EventRelay
from consumers.settings import EngineSettings
from consumers.topics import admin_client
from tests.conftest import delete_topics_with_prefix

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def _cleanup(kafka_bootstrap: str, topic_prefix: str) -> Iterator[None]:
    yield
    delete_topics_with_prefix(kafka_bootstrap, [topic_prefix])


class StallingRelay(EventRelay):
    """A relay whose first batch reaching ``stall_at`` waits for ``resume``: a stalled worker."""

    def __init__(self, settings: EngineSettings, stall_at: int) -> None:
        super().__init__(settings)
        self.stall_at = stall_at
        self.stalled = asyncio.Event()
        self.resume = asyncio.Event()

    async def _publish(self, tp: TopicPartition, records: list[Any]) -> None:
        if records and records[-1].offset >= self.stall_at and not self.resume.is_set():
            self.stalled.set()
            await self.resume.wait()
        await super()._publish(tp, records)


def _changelog_record(n: int) -> bytes:
    return frame([f'{{"snapshot": {n}}}'.encode(), f'{{"event": {n}}}'.encode()])


async def _write_changelog(bootstrap: str, topic: str, numbers: range) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for n in numbers:
            key = f"case-{n}".encode()
            await producer.send_and_wait(topic, key=key, value=_changelog_record(n))
    finally:
        await producer.stop()


async def _unpublished_changelog(bootstrap: str, group: str, tp: TopicPartition, end: int) -> Any:
    """What a successor relay reads: the changelog from the relay group's committed offset."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        start = await consumer.committed(tp) or 0
        consumer.seek(tp, start)
        records: list[Any] = []
        while len(records) < end - start:
            batch = await consumer.getmany(
                tp, timeout_ms=500, max_records=end - start - len(records)
            )
            records += batch.get(tp, [])
        return records
    finally:
        await consumer.stop()


async def _events_until(bootstrap: str, topic: str, last: bytes, seconds: float) -> list[bytes]:
    """Every committed event from the beginning, until ``last`` has been seen."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        seen: list[bytes] = []
        deadline = time.monotonic() + seconds
        while last not in seen:
            assert time.monotonic() < deadline, f"{last!r} never published; saw {len(seen)}"
            batches = await consumer.getmany(timeout_ms=500)
            seen += [r.value for records in batches.values() for r in records]
        return seen
    finally:
        await consumer.stop()


async def _wait(event: asyncio.Event, what: str, seconds: float = 60) -> None:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def test_a_relay_fenced_out_by_its_successor_does_not_republish_its_batches(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    settings = EngineSettings(kafka_bootstrap=[kafka_bootstrap], topic_prefix=topic_prefix)
    changelog = settings.case_changelog_topic
    events = settings.topic("cases.events")
    admin = admin_client(kafka_bootstrap)
    try:
        names = (changelog, events, settings.topic("cases.state"))
        admin.create_topics([NewTopic(name, 1, 1) for name in names])
    finally:
        admin.close()
    tp = TopicPartition(changelog, 0)

    zombie = StallingRelay(settings, stall_at=10)
    stop = asyncio.Event()
    running = asyncio.create_task(zombie.run(stop))
    try:
        await _write_changelog(kafka_bootstrap, changelog, range(0, 20))
        await _wait(zombie.stalled, "the relay to fetch records 10..19")

        # The successor: the same transactional id (InitProducerId fences the stalled relay),
        # publishing what the stalled one had not, and committing offset 20 with it.
        successor = EventRelay(settings)
        await successor.acquire([tp])
        records = await _unpublished_changelog(kafka_bootstrap, successor.group_id, tp, 20)
        assert records[-1].offset == 19
        await successor._publish(tp, records)
        await successor.release([tp])

        zombie.resume.set()
        await _write_changelog(kafka_bootstrap, changelog, range(20, 21))
        seen = await _events_until(kafka_bootstrap, events, b'{"event": 20}', seconds=60)
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)

    assert zombie.failures >= 1  # it was fenced, or the test proved nothing
    expected = [f'{{"event": {n}}}'.encode() for n in range(21)]
    duplicates = len(seen) - len(set(seen))
    assert duplicates == 0, f"{duplicates} events published twice"
    assert seen == expected
