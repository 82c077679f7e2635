"""Reading a topic to its end offsets against the real broker, with both clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka import TopicPartition as AioTopicPartition
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import NewTopic

from consumers.topic_reading import read_until_end, read_until_end_async, refresh_metadata
from consumers.topics import admin_client
from tests.conftest import delete_topics_with_prefix

Send = Callable[[str, Sequence[tuple[bytes | None, bytes]]], None]


@pytest.fixture(autouse=True)
def _cleanup(kafka_bootstrap: str, topic_prefix: str) -> Iterator[None]:
    yield
    delete_topics_with_prefix(kafka_bootstrap, [topic_prefix])


def _create(bootstrap: str, name: str, partitions: int) -> None:
    admin = admin_client(bootstrap)
    try:
        admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        admin.close()


def _sync_read(bootstrap: str, topic: str, partitions: int) -> list[Any]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        return list(read_until_end(consumer, consumer.end_offsets(tps), poll_timeout_ms=200))
    finally:
        consumer.close()


def test_sync_reader_stops_at_the_end_offsets_seen_at_the_start(
    kafka_bootstrap: str, topic_prefix: str, send_messages: Send
) -> None:
    topic = f"{topic_prefix}.read"
    _create(kafka_bootstrap, topic, 3)
    assert _sync_read(kafka_bootstrap, topic, 3) == []  # empty topic: returns at once
    send_messages(topic, [(f"k{i}".encode(), f"v{i}".encode()) for i in range(50)])
    values = sorted(r.value for r in _sync_read(kafka_bootstrap, topic, 3))
    assert values == sorted(f"v{i}".encode() for i in range(50))


async def test_async_reader_ends_after_transaction_markers(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}.read-tx"
    _create(kafka_bootstrap, topic, 2)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, transactional_id=f"{topic_prefix}-tx"
    )
    await producer.start()
    try:
        for batch in range(3):  # each commit leaves a marker after the records
            async with producer.transaction():
                for i in range(5):
                    await producer.send(topic, key=b"k%d" % i, value=b"%d-%d" % (batch, i))
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        await refresh_metadata(consumer)
        assert consumer.partitions_for_topic(topic) == {0, 1}
        tps = [AioTopicPartition(topic, p) for p in (0, 1)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        assert sum(ends.values()) == 15 + 3 * len([e for e in ends.values() if e])  # + markers
        seen = [
            r.value async for _, records in read_until_end_async(consumer, ends) for r in records
        ]
    finally:
        await consumer.stop()
    assert sorted(seen) == sorted(b"%d-%d" % (b, i) for b in range(3) for i in range(5))
