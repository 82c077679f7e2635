"""Structural checks of a lifecycle (STYLE.md habit 7): each returns the offending states.

`problems` runs them all and returns human-readable findings (empty = well formed).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from states.lifecycle import CaseState, Lifecycle

__all__ = [
    "dead_ends",
    "initial_states",
    "leaving_final",
    "problems",
    "reachable",
    "unreachable",
]


def _successors(lc: Lifecycle) -> dict[CaseState, set[CaseState]]:
    out: dict[CaseState, set[CaseState]] = {s: set() for s in lc.states}
    for edge in lc.edges():
        out[edge.source].add(edge.dest)
    return out


def _closure(start: Iterable[CaseState], step: dict[CaseState, set[CaseState]]) -> set[CaseState]:
    seen = set(start)
    queue = deque(seen)
    while queue:
        for nxt in step[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def initial_states(lc: Lifecycle) -> list[CaseState]:
    """States declared initial by the compiled machine (must be exactly one)."""
    return [s for s in lc.states if s.value == lc.machine.initial]


def reachable(lc: Lifecycle) -> set[CaseState]:
    """States reachable from the initial state."""
    return _closure([lc.initial], _successors(lc))


def unreachable(lc: Lifecycle) -> list[CaseState]:
    """States no path from the initial state reaches."""
    seen = reachable(lc)
    return [s for s in lc.states if s not in seen]


def dead_ends(lc: Lifecycle) -> list[CaseState]:
    """Non-final states with no path to a final state."""
    predecessors: dict[CaseState, set[CaseState]] = {s: set() for s in lc.states}
    for src, dests in _successors(lc).items():
        for d in dests:
            predecessors[d].add(src)
    can_finish = _closure(lc.finals, predecessors)
    return [s for s in lc.states if s not in lc.finals and s not in can_finish]


def leaving_final(lc: Lifecycle) -> list[CaseState]:
    """Final states with any outgoing transition (even an internal one)."""
    return sorted({e.source for e in lc.edges() if e.source in lc.finals})


def problems(lc: Lifecycle) -> list[str]:
    """Every structural defect found, as sentences."""
    found = []
    initial = initial_states(lc)
    if len(initial) != 1:
        found.append(f"expected exactly one initial state, found {[s.value for s in initial]}")
    if bad := unreachable(lc):
        found.append(f"unreachable states: {[s.value for s in bad]}")
    if bad := dead_ends(lc):
        found.append(f"states with no path to a final state: {[s.value for s in bad]}")
    if bad := leaving_final(lc):
        found.append(f"final states with outgoing transitions: {[s.value for s in bad]}")
    return found
