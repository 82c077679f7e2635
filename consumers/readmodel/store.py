"""The relational read model: `CaseQueries` answered by indexed queries on SQLite or
PostgreSQL, and the writes of the projection (`SqlReadModel.apply`), one transaction per batch
that also moves the stored offsets."""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, Select, and_, delete, false, func, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from consumers.readmodel.columns import case_row, event_row, from_column, to_column
from consumers.readmodel.queries import ListingQuery, QueueEntry, QueueQuery
from consumers.readmodel.schema import cases, events, offsets
from workflow.case import Case
from workflow.codec import InvalidMessage, parse_event
from workflow.events import Event
from workflow.policy import Policy
from workflow.validation import describe_validation_error

log = logging.getLogger(__name__)

TopicPartitionKey = tuple[str, int]

STATE, EVENTS = "cases.state", "cases.events"
"""The logical topics the rows come from (dead letters name them, prefixed or not)."""


@dataclass
class Batch:
    """What the projection read since its last commit, and where it stopped."""

    states: list[tuple[bytes | None, bytes | None]] = field(default_factory=list)
    """(key, value) from ``cases.state`` in offset order; value None is a tombstone."""
    events: list[tuple[int, int, bytes | None]] = field(default_factory=list)
    """(partition, offset, value) from ``cases.events``."""
    next_offsets: dict[TopicPartitionKey, int] = field(default_factory=dict)
    state_positions: list[tuple[int, int]] = field(default_factory=list)
    """(partition, offset) of each of ``states``, when known (for dead letters)."""


@dataclass(frozen=True)
class Rejected:
    """A record the read model cannot hold: it goes to ``deadletter`` with its bytes."""

    topic: str
    partition: int
    offset: int
    value: bytes
    reason: str
    detail: str
    """One line naming the rule broken; never the record's values (they may identify)."""


@dataclass
class Prepared:
    """A batch parsed into rows, ready for its one transaction."""

    snapshots: list[dict[str, Any]]
    tombstones: list[str]
    event_rows: list[dict[str, Any]]
    next_offsets: dict[TopicPartitionKey, int]
    rejected: list[Rejected]


class SqlReadModel:
    """Implements `consumers.readmodel.queries.CaseQueries` on one database."""

    def __init__(self, engine: Engine, policy: Policy | None = None) -> None:
        self.engine = engine
        self.policy = policy
        self.ready = False
        self.skipped = 0

    # -- queries ---------------------------------------------------------------------------

    def case(self, case_id: str) -> Case | None:
        with self.engine.connect() as conn:
            text = conn.execute(
                select(cases.c.snapshot).where(cases.c.case_id == case_id)
            ).scalar_one_or_none()
        return None if text is None else Case.model_validate_json(text)

    def history(self, case_id: str) -> list[Event]:
        query = (
            select(events.c.body)
            .where(events.c.case_id == case_id)
            .order_by(events.c.partition, events.c.offset)
        )
        with self.engine.connect() as conn:
            return [parse_event(body.encode()) for body in conn.execute(query).scalars()]

    def queue(self, query: QueueQuery) -> list[QueueEntry]:
        """One ordered index walk per state (a walk per state and a merge, never a sort of every
        matching case), then the page's snapshots."""
        walks = [replace(query, states=frozenset({state})) for state in query.states]
        wanted = query.offset + query.limit
        with self.engine.connect() as conn:
            keyed = heapq.merge(*(self._walk(conn, walk, wanted) for walk in walks or [query]))
            page = list(itertools.islice(keyed, query.offset, wanted))
            ids = [row[-2] for row in page]
            snapshots = dict(
                conn.execute(
                    select(cases.c.case_id, cases.c.snapshot).where(cases.c.case_id.in_(ids))
                ).all()
            )
        return [QueueEntry(Case.model_validate_json(snapshots[row[-2]]), from_column(row[-1]))
                for row in page]  # fmt: skip

    @staticmethod
    def _walk(conn: Connection, query: QueueQuery, limit: int) -> list[tuple[Any, ...]]:
        order = (cases.c.no_due, cases.c.queue_at, cases.c.opened_at, cases.c.case_id)
        statement = (
            select(*order, cases.c.due_at)
            .where(*_queue_filters(query))
            .order_by(*order)
            .limit(limit)
        )
        return [tuple(row) for row in conn.execute(statement).all()]

    def count(self, query: QueueQuery) -> int:
        statement = select(func.count()).select_from(cases).where(*_queue_filters(query))
        with self.engine.connect() as conn:
            return int(conn.execute(statement).scalar_one())

    def listing(self, query: ListingQuery) -> list[Case]:
        statement: Select[Any] = (
            select(cases.c.snapshot)
            .where(*_listing_filters(query))
            .order_by(cases.c.opened_at.desc(), cases.c.case_id.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
        with self.engine.connect() as conn:
            return [Case.model_validate_json(s) for s in conn.execute(statement).scalars()]

    # -- projection ------------------------------------------------------------------------

    def optimize(self) -> None:
        """Refresh the planner's statistics (which queue index fits which filter): once the
        projection caught up. SQLite samples (analysis_limit) so this stays quick at millions."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA analysis_limit=2000")
                conn.exec_driver_sql("ANALYZE")
            else:
                conn.exec_driver_sql("ANALYZE cases")

    def stored_offsets(self) -> dict[TopicPartitionKey, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(offsets.c.topic, offsets.c.partition, offsets.c.next_offset))
            return {(t, p): int(o) for t, p, o in rows}

    def apply(self, batch: Batch) -> None:
        """Write the batch's rows and its offsets in one transaction (all or nothing)."""
        self.write(self.prepare(batch))

    def prepare(self, batch: Batch) -> Prepared:
        """Parse the batch; what cannot be parsed is `Rejected` (the projection dead-letters
        it before the transaction that moves the offsets past it)."""
        rejected: list[Rejected] = []
        snapshots, tombstones = self._latest_snapshots(batch, rejected)
        event_rows = self._event_rows(batch.events, rejected)
        self.skipped += len(rejected)
        return Prepared(snapshots, tombstones, event_rows, dict(batch.next_offsets), rejected)

    def write(self, prepared: Prepared) -> None:
        """The prepared rows and the offsets, in one transaction."""
        snapshots, tombstones = prepared.snapshots, prepared.tombstones
        event_rows = prepared.event_rows
        with self.engine.begin() as conn:
            if tombstones:
                conn.execute(delete(cases).where(cases.c.case_id.in_(tombstones)))
            if snapshots:
                conn.execute(self._upsert_cases(conn), snapshots)
            if event_rows:
                conn.execute(self._insert(conn, events).on_conflict_do_nothing(), event_rows)
            if prepared.next_offsets:
                conn.execute(self._upsert_offsets(conn), _offset_rows(prepared.next_offsets))

    def _latest_snapshots(
        self, batch: Batch, rejected: list[Rejected]
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Per case the last word of the batch: its newest snapshot, or a tombstone."""
        latest: dict[str, dict[str, Any] | None] = {}
        positions = batch.state_positions or [(-1, -1)] * len(batch.states)
        for (key, value), (partition, offset) in zip(batch.states, positions, strict=True):
            if value is None:
                if key is not None:
                    latest[key.decode(errors="replace")] = None
                continue
            try:
                text = value.decode()
                case = Case.model_validate_json(text)
            except UnicodeDecodeError:
                rejected.append(Rejected(STATE, partition, offset, value, "not_utf8", "not UTF-8"))
                continue
            except ValidationError as exc:
                detail = describe_validation_error(exc, root="<snapshot>", first_only=True)
                rejected.append(
                    Rejected(STATE, partition, offset, value, "invalid_snapshot", detail)
                )
                continue
            known = latest.get(case.case_id)
            if known is None or known["version"] <= case.version:
                latest[case.case_id] = case_row(case, self.policy, text)
        rows = [row for row in latest.values() if row is not None]
        return rows, [case_id for case_id, row in latest.items() if row is None]

    def _event_rows(
        self, records: Iterable[tuple[int, int, bytes | None]], rejected: list[Rejected]
    ) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for partition, offset, value in records:
            if value is None:
                continue
            try:
                event = parse_event(value)
            except InvalidMessage as exc:
                rejected.append(
                    Rejected(EVENTS, partition, offset, value, exc.reason.value, exc.detail)
                )
                continue
            rows.setdefault(event.event_id, event_row(event, partition, offset, value.decode()))
        return list(rows.values())

    @staticmethod
    def _insert(conn: Connection, table: Any) -> Any:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def _upsert_cases(self, conn: Connection) -> Any:
        insert = self._insert(conn, cases)
        replaced = {c.name: insert.excluded[c.name] for c in cases.columns if c.name != "case_id"}
        # Only a newer version replaces a snapshot (a re-read older one changes nothing).
        return insert.on_conflict_do_update(
            index_elements=[cases.c.case_id],
            set_=replaced,
            where=cases.c.version < insert.excluded.version,
        )

    def _upsert_offsets(self, conn: Connection) -> Any:
        insert = self._insert(conn, offsets)
        return insert.on_conflict_do_update(
            index_elements=[offsets.c.topic, offsets.c.partition],
            set_={"next_offset": insert.excluded.next_offset},
        )


def _offset_rows(next_offsets: Mapping[TopicPartitionKey, int]) -> list[dict[str, Any]]:
    return [{"topic": t, "partition": p, "next_offset": o} for (t, p), o in next_offsets.items()]


def _queue_filters(query: QueueQuery) -> Sequence[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if not query.include_final:
        filters.append(cases.c.is_final == false())
    if query.states:
        filters.append(cases.c.state.in_(sorted(s.value for s in query.states)))
    if query.agency is not None:
        filters.append(cases.c.agency == query.agency)
    if query.min_escalation_level is not None:
        filters.append(cases.c.escalation_level >= query.min_escalation_level)
    if query.channel is not None:
        filters.append(cases.c.channel == query.channel)
    if query.category is not None:
        filters.append(cases.c.category == query.category)
    return filters


def _listing_filters(query: ListingQuery) -> Sequence[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = [cases.c.listed == true()]
    if query.service_codes:
        filters.append(cases.c.service_code.in_(sorted(query.service_codes)))
    if query.statuses and not {"open", "closed"} <= query.statuses:
        filters.append(cases.c.is_final == ("closed" in query.statuses))
    if query.opened_from is not None:
        filters.append(cases.c.opened_at >= to_column(query.opened_from))
    if query.opened_to is not None:
        filters.append(cases.c.opened_at <= to_column(query.opened_to))
    return [and_(*filters)]
