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
from typing import Any

import faust
import pytest

from consumers.engine.faust_internals import drain_fully_before_commit


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
