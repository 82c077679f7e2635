"""What the gateway, the Open311 listing and the case workers' console ask of a read model.

One contract, several stores: the in-memory model (scans; tests and small demos) and the
relational one (indexed queries on SQLite or PostgreSQL). A contract test runs the same
questions against each and expects the same answers.

Queues are ordered by the running stage's deadline (soonest first; cases without a running
clock after those with one), then by opening time, then by tracking number, so a page is stable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from states.lifecycle import CaseState
from workflow.case import Case
from workflow.events import Event


@dataclass(frozen=True)
class QueueQuery:
    """A work queue: every filter left at None (or empty) does not filter."""

    states: frozenset[CaseState] = frozenset()
    agency: str | None = None
    """The agency running the current stage (`workflow.responsibility.responsible_agency`)."""
    min_escalation_level: int | None = None
    channel: str | None = None
    category: str | None = None
    include_final: bool = False
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class QueueEntry:
    case: Case
    due_at: datetime | None
    """The running stage clock's deadline (`consumers.gateway.views.expected_at`)."""


@dataclass(frozen=True)
class ListingQuery:
    """The Open311 listing: publicly listed cases, newest first, paginated."""

    service_codes: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    """"open" and/or "closed"; empty: both."""
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    limit: int = 1000
    offset: int = 0


class CaseQueries(Protocol):
    """The read side every consumer of case data goes through."""

    @property
    def ready(self) -> bool:
        """True once the store has caught up with the topics it follows."""
        ...

    def case(self, case_id: str) -> Case | None: ...

    def history(self, case_id: str) -> list[Event]:
        """The case's events in the order the engine wrote them."""
        ...

    def queue(self, query: QueueQuery) -> Sequence[QueueEntry]: ...

    def count(self, query: QueueQuery) -> int:
        """How many cases the queue holds (ignores ``limit`` and ``offset``)."""
        ...

    def listing(self, query: ListingQuery) -> Sequence[Case]: ...
