"""Reading a topic up to its end offsets: the catch-up loop every reader of a topic needs.

A reader that rebuilds state from a topic (the CLI's ``case show``, the simulated clock's replay,
the gateway's read model, the notifier's receipts) must know when it has seen everything that was
there when it started. The end offsets taken at the start are that mark; a partition is done once
the consumer's position reaches its mark. With ``isolation_level=read_committed`` the end offset is
the last stable offset and the position moves over transaction markers too, so the loop still ends.

Two variants with the same contract: kafka-python (blocking, for the CLI and the worker's start)
and aiokafka (for code running on an event loop).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

# The clients are untyped (mypy ignores their imports), so records and partitions are Any here.
TopicPartitionT = Any
RecordT = Any


def read_until_end(
    consumer: Any,
    ends: Mapping[TopicPartitionT, int],
    *,
    poll_timeout_ms: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[RecordT]:
    """Yield every record of a kafka-python ``KafkaConsumer``'s assigned partitions until each
    position reaches its mark in ``ends`` (from ``consumer.end_offsets``). ``on_batch`` is told
    the size of each polled batch (progress bars)."""
    pending = {tp for tp, end in ends.items() if consumer.position(tp) < end}
    while pending:
        for records in consumer.poll(timeout_ms=poll_timeout_ms).values():
            yield from records
            if on_batch is not None:
                on_batch(len(records))
        pending = {tp for tp in pending if consumer.position(tp) < ends[tp]}


async def read_until_end_async(
    consumer: Any,
    ends: Mapping[TopicPartitionT, int],
    *,
    timeout_ms: int = 200,
    max_records: int | None = None,
) -> AsyncIterator[tuple[TopicPartitionT, list[RecordT]]]:
    """Yield ``(partition, records)`` batches of an aiokafka ``AIOKafkaConsumer`` until each
    position reaches its mark in ``ends`` (from ``await consumer.end_offsets``)."""
    pending = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
    while pending:
        limit = {} if max_records is None else {"max_records": max_records}
        batches = await consumer.getmany(*pending, timeout_ms=timeout_ms, **limit)
        for tp, records in batches.items():
            yield tp, records
        pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}


async def refresh_metadata(consumer: Any) -> None:
    """Ask an aiokafka consumer for fresh cluster metadata now (e.g. a topic just created).

    Private API, on purpose: ``partitions_for_topic`` answers from the client's cached metadata,
    which a consumer without subscriptions refreshes only every ``metadata_max_age_ms`` (5 min);
    the public ``topics()`` fetches into a throwaway copy and leaves that cache stale. Pinned by
    tests/unit/test_library_internals.py against the installed aiokafka.
    """
    await consumer._client.force_metadata_update()
