"""Which fetched records the case agent has finished, per source partition: what bounds a commit.

faust commits the offsets its streams acknowledged, and a stream acknowledges a record it skipped
(a rebalance's generation change, flow control off) as well as one it processed; records that
sat in an agent's queue when flow control resumed are dropped without either. faust's commit
check then steps over such a record when it sits at the committed offset (issue 17: the cluster
run lost one command that way). This ledger records every record the consumer took from the
client and every record the agent finished, and answers two questions for the commit:

* how far an offset may be committed: never past a taken record that is not finished;
* which record was dropped and must be fetched again: one taken before a record of the same
  partition that finished (the agent processes a partition's records in the order they were
  taken, one at a time, so an earlier one still open will never finish by itself).

Pure bookkeeping; faust is wired to it in :mod:`consumers.engine.faust_internals`. Memory: one
entry per record taken and not yet finished (in flight or dropped), pruned below the committed
offset.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)  # a topic partition


class FinishedRecords(Generic[P]):
    """Per partition: the offsets taken and not finished, with the order they were taken in."""

    def __init__(self) -> None:
        self._takes = 0  # a counter: the order in which records were taken, across partitions
        self._open: dict[P, dict[int, int]] = {}  # tp -> offset -> when it was taken
        self._last_finished_take: dict[P, int] = {}
        self._redeliver: dict[P, int] = {}  # tp -> offset to fetch again from
        self._awaiting: dict[P, int] = {}  # tp -> the offset a redelivery waits for

    def taken(self, tp: P, offsets: Iterable[int]) -> None:
        """Records handed over by the Kafka client (a record taken again counts from now)."""
        open_ = self._open.setdefault(tp, {})
        for offset in offsets:
            self._takes += 1
            open_[offset] = self._takes

    def finished(self, tp: P, offset: int) -> None:
        """The agent returned from this record (not called when it raised)."""
        take = self._open.get(tp, {}).pop(offset, None)
        if take is not None:
            self._last_finished_take[tp] = max(take, self._last_finished_take.get(tp, 0))
        if self._awaiting.get(tp) == offset:
            del self._awaiting[tp]

    def committable(self, tp: P, proposed: int, committed: int | None) -> int:
        """The highest offset up to which a commit may go, at most ``proposed``: the first
        open record at or above the committed offset, if one lies below ``proposed``. Asks for
        a redelivery when that record was dropped (see :meth:`redeliveries`)."""
        open_ = self._open.get(tp)
        if not open_:
            return proposed
        if committed is not None:
            for offset in [o for o in open_ if o < committed]:
                del open_[offset]  # committed past by this worker or, before, by another
            if self._awaiting.get(tp, committed) < committed:
                del self._awaiting[tp]
        first = min(open_, default=None)
        if first is None or first >= proposed:
            return proposed
        if tp not in self._awaiting and open_[first] < self._last_finished_take.get(tp, 0):
            self._redeliver[tp] = first
        return first

    def redeliveries(self) -> dict[P, int]:
        """Partitions to seek back, each to its dropped record; asked for once per drop."""
        asked, self._redeliver = self._redeliver, {}
        self._awaiting.update(asked)
        return asked

    def open_records(self, tp: P) -> list[int]:
        """Offsets taken and not finished (for diagnostics and tests)."""
        return sorted(self._open.get(tp, {}))
