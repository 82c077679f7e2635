"""The only places the engine reads faust's private attributes, each with why no public API serves.

tests/unit/test_library_internals.py pins every attribute used here against the installed faust
(constraints.txt), so an upgrade that renames one fails that test instead of silently turning a
diagnostic empty or the SLA index incomplete.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any


def _names(partitions: Iterable[Any] | None) -> list[str]:
    return sorted(f"{tp.topic}:{tp.partition}" for tp in partitions or ())


def consumer_flow_state(consumer: Any) -> dict[str, Any]:
    """faust's view of its source partitions, for diagnosing a worker that stops consuming.

    faust's Consumer keeps the partitions it paused (flow control, recovery), those with buffered
    records and those it fetches from only as private sets; its public API can pause and resume
    but not tell which partitions are in which state.
    """
    return {
        "flow_active": bool(getattr(consumer, "flow_active", True)),
        "paused": _names(getattr(consumer, "_paused_partitions", ())),
        "buffered": _names(getattr(consumer, "_buffered_partitions", ())),
        "active": _names(getattr(consumer, "_active_partitions", None)),
    }


def memory_store_partitions(store: Any) -> Mapping[bytes, int]:
    """Key -> partition as faust's memory store recorded it while recovering the changelog.

    The store knows the partition each key was recovered from, which is what decides whether this
    worker owns the case; faust exposes it only as ``_key_partition`` (the table's public API has
    no per-key partition). Empty for other stores (rocksdb): the caller falls back to hashing the
    key, which agrees as long as every producer used the default partitioner.
    """
    known = getattr(store, "_key_partition", None)
    return known if isinstance(known, Mapping) else {}


def drain_fully_before_commit(buffer: Any) -> None:
    """Make faust's producer buffer ``flush`` wait until every buffered message was handed to
    the Kafka client (issue 12: the default chaos run lost 25 records per source partition).

    faust's at-least-once commit flushes the app's producer and then commits the consumed
    offsets. Its ``ProducerBuffer.flush`` gives up as soon as no message left the buffer for
    0.1 s, which is exactly what happens while the broker is away: the changelog writes of
    records already processed stay in the buffer, the commit goes through once the broker is
    back, and a kill before the buffer drains loses those records for good (their offsets are
    committed, their case-table writes never reached the changelog). Here ``flush`` returns only
    when the buffer is empty and no message is between the buffer and the client; it still
    raises, as faust's does, when the buffer stops with messages in it (stopping never hangs).

    Private: ``put``, ``_send_pending`` (the hand-over to the client, looked up when the buffer
    starts, so this must run before the app starts) and ``state``/``size``/``flush_atmost``.
    """
    hand_over, put = buffer._send_pending, buffer.put
    queued = handed_over = 0  # the buffer is a FIFO: the first ``handed_over`` have left it

    def counted_put(fut: Any) -> None:
        nonlocal queued
        put(fut)
        queued += 1  # after: a put that raises queued nothing, so no flush may wait for it

    async def counted_hand_over(fut: Any) -> None:
        nonlocal handed_over
        try:
            await hand_over(fut)
        finally:
            handed_over += 1

    async def flush() -> None:
        # Only what was buffered when the commit began: later writes belong to later records,
        # and waiting for them would stall the commit as long as the agent keeps writing.
        target = queued
        while handed_over < target:
            if buffer.state != "running":  # stopping: faust's own checks, never a hang
                if buffer.size:
                    raise RuntimeError("Cannot flush: Producer not Running")
                return
            if buffer.size:
                await buffer.flush_atmost(None)  # returns after 0.1 s without progress
            else:
                await asyncio.sleep(0.05)  # the last one is with the client's send

    buffer.put = counted_put
    buffer._send_pending = counted_hand_over
    buffer.flush = flush
