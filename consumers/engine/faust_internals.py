"""The only places the engine reads faust's private attributes, each with why no public API serves.

tests/unit/test_library_internals.py pins every attribute used here against the installed faust
(constraints.txt), so an upgrade that renames one fails that test instead of silently turning a
diagnostic empty or the SLA index incomplete.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from consumers.engine.finished import FinishedRecords

log = logging.getLogger(__name__)

#: True while an offset commit runs (set by :func:`skip_commit_when_drain_times_out`): only
#: there must a flush that cannot drain in time fail, so that the commit does not go ahead.
_IN_COMMIT: ContextVar[bool] = ContextVar("aduan_in_offset_commit", default=False)


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


class CommitDrainTimeout(RuntimeError):
    """Case-table writes buffered before an offset commit did not reach the Kafka client in
    time: this commit must not happen (its records stay uncommitted and are redelivered)."""


class _CommitDrain:
    """Counts faust's producer buffer in and out, so a flush knows when everything buffered
    before it began has been handed to the Kafka client, and can say what it waits for."""

    def __init__(self, buffer: Any, max_wait: float, warn_every: float) -> None:
        self.buffer = buffer
        self.max_wait = max_wait
        self.warn_every = warn_every
        self.queued = 0
        self.handed_over = 0  # the buffer is a FIFO: the first ``handed_over`` have left it
        self.in_hand: tuple[Any, float] | None = None  # (message, since) of the hand-over
        self.progress = asyncio.Event()
        self._put, self._hand_over = buffer.put, buffer._send_pending

    def put(self, fut: Any) -> None:
        self._put(fut)
        self.queued += 1  # after: a put that raises queued nothing, so no flush may wait for it

    async def hand_over(self, fut: Any) -> None:
        self.in_hand = (fut, time.monotonic())  # named only when a warning needs it
        try:
            await self._hand_over(fut)
        finally:
            self.in_hand = None
            self.handed_over += 1
            self.progress.set()

    def waiting_for(self, target: int) -> str:
        """What a flush waiting for the first ``target`` writes still waits for."""
        missing = target - self.handed_over
        what = (
            f"{missing} buffered write(s) not yet handed to the Kafka client"
            f" ({self.buffer.size} in faust's producer buffer)"
        )
        if self.in_hand is None:
            return f"{what}; no hand-over in progress (faust's buffer task takes none)"
        fut, since = self.in_hand
        waited = time.monotonic() - since
        to = _destination(fut)
        return f"{what}; the client's send of a write to {to} has waited {waited:.1f}s"

    async def flush(self) -> None:
        # Only what was buffered when the flush began: later writes belong to later records,
        # and waiting for them would stall the commit as long as the agent keeps writing.
        target, began = self.queued, time.monotonic()
        warn_at = began + self.warn_every
        while self.handed_over < target:
            if self.buffer.state != "running":  # stopping: faust's own checks, never a hang
                if self.buffer.size:
                    raise RuntimeError("Cannot flush: Producer not Running")
                return
            now = time.monotonic()
            if now - began >= self.max_wait:
                self._give_up(target, now - began)
                return
            if now >= warn_at:
                waiting = self.waiting_for(target)
                log.warning("producer flush waiting %.0fs: %s", now - began, waiting)
                warn_at = now + self.warn_every
            self.progress.clear()
            with contextlib.suppress(TimeoutError):  # re-check state and bound every 0.1 s
                await asyncio.wait_for(self.progress.wait(), timeout=0.1)

    def _give_up(self, target: int, waited: float) -> None:
        what = self.waiting_for(target)
        if _IN_COMMIT.get():
            raise CommitDrainTimeout(f"after {waited:.0f}s, {what}")
        # A flush outside a commit (rebalance, recovery) commits nothing: best effort, as
        # faust's own, but it must not hold the rebalance forever.
        log.warning("producer flush gives up after %.0fs: %s", waited, what)


def _destination(fut: Any) -> str:
    message = getattr(fut, "message", None)
    topic = getattr(message, "topic", None)
    if topic is None:
        try:
            topic = message.channel.get_topic_name()  # type: ignore[union-attr]
        except Exception:  # a channel without one topic name: the diagnostic stays vague
            topic = "?"
    partition = getattr(message, "partition", None)
    return f"{topic}" if partition is None else f"{topic}[{partition}]"


def drain_fully_before_commit(
    buffer: Any, *, max_wait: float = 15.0, warn_every: float = 5.0
) -> None:
    """Make faust's producer buffer ``flush`` wait until every message buffered when it began
    was handed to the Kafka client (issue 12: the default chaos run lost 25 records per source
    partition), but never longer than ``max_wait`` seconds.

    faust's at-least-once commit flushes the app's producer and then commits the consumed
    offsets. Its ``ProducerBuffer.flush`` gives up as soon as no message left the buffer for
    0.1 s, which is exactly what happens while the broker is away: the changelog writes of
    records already processed stay in the buffer, the commit goes through once the broker is
    back, and a kill before the buffer drains loses those records for good (their offsets are
    committed, their case-table writes never reached the changelog). Here ``flush`` returns only
    when those writes are with the client; it still raises, as faust's does, when the buffer
    stops with messages in it (stopping never hangs).

    The wait is bounded because a hand-over can block (aiokafka's ``send`` waits for metadata
    or batch space up to faust's producer request timeout, 20 minutes), and faust flushes inside
    its rebalance callback too: unbounded, one stuck send held the rebalance and the stream.
    Past ``max_wait``, a flush inside an offset commit raises :class:`CommitDrainTimeout` (see
    :func:`skip_commit_when_drain_times_out`: that commit is skipped, offsets never pass the
    unsent writes); any other flush logs and returns. Every ``warn_every`` seconds of waiting
    a warning names what it waits for.

    Private: ``put``, ``_send_pending`` (the hand-over to the client, looked up when the buffer
    starts, so this must run before the app starts) and ``state``/``size``.
    """
    drain = _CommitDrain(buffer, max_wait, warn_every)
    buffer.put = drain.put
    buffer._send_pending = drain.hand_over
    buffer.flush = drain.flush


def skip_commit_when_drain_times_out(consumer: Any) -> None:
    """Wrap faust's ``Consumer.commit`` (its commit timer, the rebalance's ``wait_empty`` and
    stop call it) so that a :class:`CommitDrainTimeout` skips that one commit, loudly, instead
    of crashing the app; the next commit tries again. Without this, the exception would end
    faust's commit timer task, and with it the worker."""
    commit = consumer.commit

    async def commit_unless_drain_times_out(*args: Any, **kwargs: Any) -> bool:
        token = _IN_COMMIT.set(True)
        try:
            return bool(await commit(*args, **kwargs))
        except CommitDrainTimeout as exc:
            log.error("offset commit skipped, its records stay uncommitted: %s", exc)
            return False
        finally:
            _IN_COMMIT.reset(token)

    consumer.commit = commit_unless_drain_times_out


def commit_only_finished(consumer: Any, topics: Iterable[str]) -> FinishedRecords[Any]:
    """Let faust commit a source partition only up to its first record the agent has not
    finished, and fetch a record faust dropped again (issue 17).

    faust counts as done what its streams acknowledged, and its commit check steps over one
    record that nobody acknowledged when it sits at the committed offset (``_new_offset``:
    ``min(acked) - committed > 1``); its gap tracking covers more (a read offset reset by the
    seek to committed offsets while a batch is still being handed out). A record dropped at a
    rebalance, e.g. from the agent's queue when flow control resumes after that seek, was thus
    committed past and lost. Here the proposal of faust's ``_filter_committable_offsets`` is cut
    back to the first taken record that is not finished (see
    :class:`consumers.engine.finished.FinishedRecords`); what faust had already struck from its
    acknowledged list above the cut goes back into it, or faust would never propose those
    offsets again. A dropped record is fetched again: the next fetch seeks its partition back
    to it (``seek`` also resets faust's read offset, which would otherwise discard it), and
    everything after it comes again too (the case's memory of applied message ids makes those
    no-ops).

    Private: ``_getmany`` (the consumer's one fetch from the client), ``_filter_committable_
    offsets``, ``_committed_offset``, ``_acked`` and ``_acked_index``.
    """
    sources = frozenset(topics)
    ledger: FinishedRecords[Any] = FinishedRecords()
    fetch, committable = consumer._getmany, consumer._filter_committable_offsets

    # faust passes both by keyword: the names are its own.
    async def fetch_and_take(active_partitions: Any, timeout: float) -> Any:  # noqa: ASYNC109
        asked = ledger.redeliveries()
        assigned = consumer.assignment() if asked else set()
        for tp, offset in asked.items():
            if tp in assigned:  # a partition gone to another worker is its business now
                log.warning(
                    "%s:%d: record %d was dropped unprocessed; fetching it again",
                    tp.topic,
                    tp.partition,
                    offset,
                )
                await consumer.seek(tp, offset)
        records = await fetch(active_partitions, timeout)
        for tp, batch in records.items():
            if tp.topic in sources:
                ledger.taken(tp, (record.offset for record in batch))
        return records

    def only_finished(tps: Iterable[Any]) -> dict[Any, int]:
        partitions = list(tps)
        lowest = {tp: min(consumer._acked[tp], default=None) for tp in partitions}
        offsets: dict[Any, int] = committable(partitions)
        for tp in partitions:
            if tp.topic not in sources:
                continue
            committed = consumer._committed_offset.get(tp)
            # Asked even without a proposal: a dropped record must come again either way.
            proposed = offsets.get(tp, sys.maxsize)
            allowed = ledger.committable(tp, proposed, committed)
            if tp not in offsets or allowed >= proposed:
                continue
            # faust struck a consecutive run ending below ``proposed`` that starts at most one
            # above the committed offset (its own check); with none known, at its lowest ack.
            start = allowed if committed is not None else max(allowed, lowest[tp] or 0)
            _give_back(consumer, tp, range(start, proposed), ledger.open_records(tp))
            if committed is not None and allowed > committed:
                offsets[tp] = allowed
            else:  # nothing new, or faust's position is not known yet (never rewind)
                del offsets[tp]
        return offsets

    consumer._getmany = fetch_and_take
    consumer._filter_committable_offsets = only_finished
    return ledger


def _give_back(consumer: Any, tp: Any, struck: range, still_open: list[int]) -> None:
    """Put offsets faust struck from its acknowledged list back, except the open records."""
    acked, index = consumer._acked[tp], consumer._acked_index[tp]
    skip = set(still_open)
    for offset in struck:
        if offset not in skip and offset not in index:
            acked.append(offset)
            index.add(offset)


def seek_with_flow_stopped(consumer: Any) -> None:
    """Hand no record to the streams while faust seeks its partitions to the committed offsets.

    After a rebalance's table recovery faust resumes the stream partitions, then seeks them to
    the committed offsets (``perform_seek``), then resumes flow control, which clears the
    agents' queues. The flow is on during that seek (the recovery turned it on to read the
    changelogs), so records fetched meanwhile went into the agent's queue, and out of it again
    unprocessed; faust's read offset had moved past them, so fetching them again discarded
    them too (issue 17: the dropped record the commit then stepped over). Stopped here, the
    consumer hands nothing over until faust resumes the flow right after the seek, and then
    starts from the committed offsets. ``commit_only_finished`` still guards the commit should
    a record be dropped another way.

    Public methods only (``stop_flow``), but it replaces ``perform_seek``, whose callers
    (faust's recovery, and ``getmany`` while the flow is off) all resume the flow afterwards.
    """
    perform_seek = consumer.perform_seek

    async def stopped_then_seek() -> None:
        consumer.stop_flow()
        await perform_seek()

    consumer.perform_seek = stopped_then_seek


def idempotent_changelog_producer(producer: Any) -> None:
    """Give faust's producer (the case table's changelog writes) Kafka's idempotence.

    faust turns idempotence on only with ``processing_guarantee="exactly_once"``; at least once,
    a produce request retried after a broker failover can land twice, and the relay then
    published the case's events twice (the full cluster failure run: one changelog record
    written again under the next leader epoch). An idempotent producer's retries are
    de-duplicated by the broker. Private: ``_settings_extra`` (the keyword arguments faust adds
    to the aiokafka producer it creates at start), so this must run before the app starts.
    """
    extra = producer._settings_extra

    def with_idempotence() -> Mapping[str, Any]:
        return {**extra(), "acks": -1, "enable_idempotence": True}

    producer._settings_extra = with_idempotence
