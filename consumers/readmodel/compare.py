"""Comparing a database rebuilt from the topics with the one in use (`aduan readmodel rebuild`).

A difference is what the rebuild shows and the current database does not hold the same way: a
case missing or at an older version, the same version with other content, an event missing or
with other content. Not differences: a current case at a *newer* version (the live projection
went on while the rebuild read), purged cases (their personal data is gone on purpose), and
events or cases the topics no longer hold (retention: the database keeps history longer).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from consumers.readmodel.schema import cases, events


@dataclass
class Comparison:
    cases_compared: int = 0
    events_compared: int = 0
    differences: list[str] = field(default_factory=list)
    kept_beyond_topics: int = 0
    """Cases or events only the current database holds (retention, or written since)."""

    def summary(self) -> str:
        head = (
            f"{self.cases_compared} cases, {self.events_compared} events compared; "
            f"{len(self.differences)} differ"
        )
        if self.differences:
            head += f" (first: {self.differences[0]})"
        return head + f"; {self.kept_beyond_topics} kept only in the current database"


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _cases(engine: Engine) -> Iterator[tuple[str, int, bool, bytes]]:
    query = select(cases.c.case_id, cases.c.version, cases.c.purged, cases.c.snapshot)
    with engine.connect() as conn:
        for case_id, version, purged, snapshot in conn.execution_options(yield_per=5000).execute(
            query
        ):
            yield case_id, int(version), bool(purged), _digest(snapshot)


def _events(engine: Engine) -> Iterator[tuple[str, bytes]]:
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=5000).execute(
            select(events.c.event_id, events.c.body)
        )
        for event_id, body in rows:
            yield event_id, _digest(body)


def compare(rebuilt: Engine, current: Engine) -> Comparison:
    result = Comparison()
    now = {
        case_id: (version, purged, digest) for case_id, version, purged, digest in _cases(current)
    }
    for case_id, version, _, digest in _cases(rebuilt):
        result.cases_compared += 1
        held = now.pop(case_id, None)
        if held is None:
            result.differences.append(f"case {case_id} missing")
        elif held[1] or held[0] > version:
            continue  # purged on purpose, or the live projection is ahead
        elif held[0] < version:
            result.differences.append(f"case {case_id} at version {held[0]}, topics {version}")
        elif held[2] != digest:
            result.differences.append(f"case {case_id} version {version} differs")
    result.kept_beyond_topics += len(now)
    purged = {case_id for case_id, _, was_purged, _ in _cases(current) if was_purged}
    held_events = dict(_events(current))
    for event_id, digest in _events(rebuilt):
        result.events_compared += 1
        known = held_events.pop(event_id, None)
        if known is None:
            result.differences.append(f"event {event_id} missing")
        elif known != digest and not _of_purged(current, event_id, purged):
            result.differences.append(f"event {event_id} differs")
    result.kept_beyond_topics += len(held_events)
    return result


def _of_purged(engine: Engine, event_id: str, purged: set[str]) -> bool:
    if not purged:
        return False
    with engine.connect() as conn:
        case_id = conn.execute(
            select(events.c.case_id).where(events.c.event_id == event_id)
        ).scalar_one()
    return case_id in purged
