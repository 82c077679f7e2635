"""The SLA timer's deadline index: which case must be looked at when.

One index per worker, holding only the cases of the partitions this worker owns. It is a heap of
``(wake_at, case_id)`` with lazy deletion: rescheduling a case pushes a new entry and the stale one
is skipped when it surfaces. So a tick costs O(1) when nothing is due and O(k log n) for k due
deadlines, never a scan of the open cases. It is rebuilt from the case table whenever partitions are
assigned (after the table's recovery), so a restart or a rebalance loses nothing.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime


class DeadlineIndex:
    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []
        self._wake_at: dict[str, float] = {}
        # (case_id -> wake_at) already handed to the case agent; not handed out again until the
        # case's wake_at changes, so a timer that turned out to have nothing to do cannot loop.
        self._fired: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._wake_at)

    def schedule(self, case_id: str, wake_at: datetime | None) -> None:
        """Record the case's next wake-up (None = nothing pending)."""
        if wake_at is None:
            self._wake_at.pop(case_id, None)
            self._fired.pop(case_id, None)
            return
        timestamp = wake_at.timestamp()
        if self._fired.get(case_id) == timestamp:
            return
        self._fired.pop(case_id, None)
        if self._wake_at.get(case_id) == timestamp:
            return
        self._wake_at[case_id] = timestamp
        heapq.heappush(self._heap, (timestamp, case_id))

    def rebuild(self, entries: Iterable[tuple[str, datetime | None]]) -> None:
        """Replace the whole index (after an assignment) in O(n)."""
        self._wake_at = {
            case_id: wake_at.timestamp() for case_id, wake_at in entries if wake_at is not None
        }
        self._fired = {}
        self._heap = [(timestamp, case_id) for case_id, timestamp in self._wake_at.items()]
        heapq.heapify(self._heap)

    def next_due(self) -> float | None:
        """Timestamp of the earliest pending wake-up, if any."""
        while self._heap:
            timestamp, case_id = self._heap[0]
            if self._wake_at.get(case_id) == timestamp:
                return timestamp
            heapq.heappop(self._heap)
        return None

    def pop_due(self, now: datetime, limit: int | None = None) -> list[tuple[str, float]]:
        """Remove and return ``(case_id, wake_at)`` of the cases due at ``now``, earliest first."""
        cutoff = now.timestamp()
        due: list[tuple[str, float]] = []
        heap = self._heap
        while heap and heap[0][0] <= cutoff and (limit is None or len(due) < limit):
            timestamp, case_id = heapq.heappop(heap)
            if self._wake_at.get(case_id) != timestamp:
                continue  # stale entry: the case was rescheduled or finished
            del self._wake_at[case_id]
            self._fired[case_id] = timestamp
            due.append((case_id, timestamp))
        return due
