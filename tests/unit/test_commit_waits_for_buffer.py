"""Issue 12: no offset commit while the case-table writes it covers are still in faust's buffer.

faust's at-least-once commit calls ``producer.flush()`` and then commits. Its producer buffer's
flush returned once no message had left the buffer for 0.1 s, so while the broker was away the
commit went ahead with the changelog writes still buffered; a worker killed right after lost
those records (the default chaos run, seed 20261201: 25 consecutive records on each of four
source partitions). The hand-over to the Kafka client is held here the way an unreachable
broker holds it: a real faust app and its real producer buffer, only the client side waits.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
import pytest
from faust.types import TP

from consumers.engine.faust_internals import (
    drain_fully_before_commit,
    skip_commit_when_drain_times_out,
)


class _HeldChannel:
    """The buffer's hand-over target: ``publish_message`` waits until the 'broker' is back."""

    def __init__(self) -> None:
        self.broker_back = asyncio.Event()
        self.published = 0

    async def publish_message(self, fut: Any, wait: bool = False) -> None:
        await self.broker_back.wait()
        self.published += 1


class _Buffered:
    def __init__(self, channel: _HeldChannel) -> None:
        self.message = type("M", (), {"channel": channel})()


async def _flush_with_broker_away(drain: bool) -> tuple[bool, int, int]:
    """(flush returned while the broker was away, messages published, left in the buffer)"""
    app = faust.App("commit-drain", broker="kafka://127.0.0.1:1", autodiscover=False)
    buffer = app.producer.buffer
    if drain:
        drain_fully_before_commit(buffer)
    await buffer.start()
    channel = _HeldChannel()
    try:
        for _ in range(5):
            buffer.put(_Buffered(channel))
        flush = asyncio.ensure_future(buffer.flush())
        done, _ = await asyncio.wait({flush}, timeout=1.0)
        returned_early = bool(done)
        channel.broker_back.set()
        await asyncio.wait_for(flush, timeout=10)
        left = buffer.size
        return returned_early, channel.published, left
    finally:
        channel.broker_back.set()
        await buffer.stop()


def test_faust_alone_flushes_with_writes_still_buffered() -> None:
    """The defect, pinned against the installed faust: if this ever fails, faust fixed it."""
    returned_early, _, _ = asyncio.run(_flush_with_broker_away(drain=False))
    assert returned_early


def test_flush_waits_until_every_buffered_write_is_handed_over() -> None:
    returned_early, published, left = asyncio.run(_flush_with_broker_away(drain=True))
    assert not returned_early
    assert published == 5
    assert left == 0


def test_flush_of_a_stopped_buffer_with_messages_raises_instead_of_hanging() -> None:
    async def scenario() -> None:
        app = faust.App("commit-drain-stop", broker="kafka://127.0.0.1:1", autodiscover=False)
        buffer = app.producer.buffer
        drain_fully_before_commit(buffer)
        buffer.put(_Buffered(_HeldChannel()))  # never started: nothing hands it over
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(buffer.flush(), timeout=5)

    asyncio.run(scenario())


def test_flush_does_not_wait_for_writes_buffered_after_it_began() -> None:
    """A commit covers records processed before it began; the agent keeps writing meanwhile."""

    async def scenario() -> bool:
        app = faust.App("commit-drain-later", broker="kafka://127.0.0.1:1", autodiscover=False)
        buffer = app.producer.buffer
        drain_fully_before_commit(buffer)
        await buffer.start()
        earlier, later = _HeldChannel(), _HeldChannel()
        earlier.broker_back.set()
        try:
            buffer.put(_Buffered(earlier))
            flush = asyncio.ensure_future(buffer.flush())
            await asyncio.sleep(0)  # the commit has begun
            buffer.put(_Buffered(later))  # written after the commit began; held forever here
            done, _ = await asyncio.wait({flush}, timeout=5)
            return bool(done) and earlier.published == 1
        finally:
            later.broker_back.set()
            await buffer.stop()

    assert asyncio.run(scenario())


# -- a hand-over that never completes (the crash test's stall, issue 12) -----------------------
#
# aiokafka's ``send`` can wait for metadata or batch space up to faust's producer request timeout
# (20 minutes), and faust flushes inside its commit and its rebalance callback. Unbounded, the
# drain held both for as long: the worker stopped committing and its group stopped rebalancing.

_TP = TP("t.cases.commands", 0)


def _consumer_with_acked_offsets(app: faust.App) -> tuple[Any, list[dict[Any, int]]]:
    """faust's real consumer, with records 0-2 of one partition processed (acked), whose commit
    to the broker is recorded instead of sent (no broker here)."""
    consumer = app.consumer
    committed: list[dict[Any, int]] = []

    async def commit_to_broker(offsets: Any) -> bool:
        committed.append(dict(offsets))
        return True

    consumer._commit = commit_to_broker
    consumer.assignment = lambda: {_TP}
    for offset in range(3):
        consumer._acked[_TP].append(offset)
        consumer._acked_index[_TP].add(offset)
    return consumer, committed


async def _commit_with_a_hand_over_that_never_completes(
    channel: _HeldChannel,
) -> tuple[bool, list[dict[Any, int]]]:
    app = faust.App("commit-drain-bounded", broker="kafka://127.0.0.1:1", autodiscover=False)
    buffer = app.producer.buffer
    drain_fully_before_commit(buffer, max_wait=0.5, warn_every=0.2)
    consumer, committed = _consumer_with_acked_offsets(app)
    skip_commit_when_drain_times_out(consumer)
    await buffer.start()
    try:
        buffer.put(_Buffered(channel))  # the case-table write of record 2
        did_commit = await asyncio.wait_for(consumer.commit(), timeout=10)
        return did_commit, committed
    finally:
        channel.broker_back.set()
        await buffer.stop()


def test_a_commit_whose_writes_cannot_be_handed_over_is_skipped_loudly_not_hung(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="consumers.engine.faust_internals"):
        did_commit, committed = asyncio.run(
            _commit_with_a_hand_over_that_never_completes(_HeldChannel())
        )
    assert not did_commit
    assert committed == []  # no offset passed the write that never reached the client
    waiting = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert waiting, "no warning while the commit waited"
    assert "1 buffered write(s) not yet handed to the Kafka client" in waiting[0].getMessage()
    assert "has waited" in waiting[0].getMessage()  # the send in progress, and for how long
    skipped = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(skipped) == 1
    assert "offset commit skipped" in skipped[0].getMessage()


def test_the_same_commit_goes_through_once_its_write_is_handed_over() -> None:
    channel = _HeldChannel()
    channel.broker_back.set()
    did_commit, committed = asyncio.run(_commit_with_a_hand_over_that_never_completes(channel))
    assert did_commit
    assert committed == [{_TP: 3}]
    assert channel.published == 1


def test_a_flush_outside_a_commit_gives_up_after_the_bound_without_raising(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """faust flushes in its rebalance callback and before recovery, after or without a commit:
    committing nothing, it must return (and say so) rather than hold the rebalance."""

    async def scenario() -> int:
        app = faust.App("commit-drain-outside", broker="kafka://127.0.0.1:1", autodiscover=False)
        buffer = app.producer.buffer
        drain_fully_before_commit(buffer, max_wait=0.3, warn_every=10)
        await buffer.start()
        channel = _HeldChannel()
        try:
            buffer.put(_Buffered(channel))
            await asyncio.wait_for(buffer.flush(), timeout=10)
            return channel.published
        finally:
            channel.broker_back.set()
            await buffer.stop()

    with caplog.at_level(logging.WARNING, logger="consumers.engine.faust_internals"):
        published = asyncio.run(scenario())
    assert published == 0
    assert any("producer flush gives up" in r.getMessage() for r in caplog.records)


class _SlowChannel:
    """A client that takes a moment per write, like a broker round trip under load."""

    def __init__(self) -> None:
        self.published = 0
        self.round_trip = 0.01

    async def publish_message(self, fut: Any, wait: bool = False) -> None:
        await asyncio.sleep(self.round_trip)
        self.published += 1


def test_a_flush_returns_while_the_agent_keeps_the_buffer_busy() -> None:
    """The commit waits for what was buffered when it began, not until the buffer is empty:
    faust's fetch loop commits every 1,000 records and waits for that commit, so a flush held
    as long as the agent kept writing (commits of 3-6 s in the crash test) stopped the stream."""

    async def scenario() -> tuple[bool, int]:
        app = faust.App("commit-drain-busy", broker="kafka://127.0.0.1:1", autodiscover=False)
        buffer = app.producer.buffer
        drain_fully_before_commit(buffer)
        await buffer.start()
        channel = _SlowChannel()
        flushed = asyncio.Event()

        async def agent_writing() -> bool:
            """Two writes per hand-over, so the buffer never empties; True if the flush
            returned while it was still writing (it gives up after 5 s)."""
            for _ in range(250):
                if flushed.is_set():
                    return True
                buffer.put(_Buffered(channel))
                buffer.put(_Buffered(channel))
                await asyncio.sleep(0.02)
            return flushed.is_set()

        try:
            for _ in range(5):
                buffer.put(_Buffered(channel))
            writer = asyncio.ensure_future(agent_writing())
            await asyncio.sleep(0)
            await asyncio.wait_for(buffer.flush(), timeout=30)
            flushed.set()
            published = channel.published
            return await writer, published
        finally:
            channel.round_trip = 0  # let the rest drain, so the buffer stops empty
            await asyncio.wait_for(buffer.flush(), timeout=30)
            await buffer.stop()

    returned_while_writing, published = asyncio.run(scenario())
    assert returned_while_writing
    assert published >= 5
