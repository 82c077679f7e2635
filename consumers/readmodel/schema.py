"""The read model's tables, one schema for SQLite and PostgreSQL (SQLAlchemy Core).

``cases``: the latest snapshot (JSON text, exactly as ``cases.state`` carried it) plus the
columns the queries filter and sort on, derived from it when it is written. ``events``: the
full history, one row per event id, ordered by its place on ``cases.events``. ``offsets``: the
next offset to read per topic partition, written in the same transaction as the rows it covers.

Times are stored as naive UTC (SQLite has no zones; PostgreSQL gets the same values), so a
comparison means the same thing on both.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()

cases = Table(
    "cases",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("state", String(40), nullable=False),
    Column("agency", String(64), nullable=False),  # responsible_agency(case): runs the stage
    Column("escalation_level", Integer, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("category", String(64), nullable=True),
    Column("service_code", String(64), nullable=False),
    Column("is_final", Boolean, nullable=False),
    Column("listed", Boolean, nullable=False),  # public_disclosure(case).listed
    Column("opened_at", DateTime, nullable=False),
    Column("due_at", DateTime, nullable=True),
    Column("no_due", Boolean, nullable=False),  # no running clock: queued last
    Column("queue_at", DateTime, nullable=False),  # due_at, else opened_at
    Column("purged", Boolean, nullable=False, server_default=false()),  # personal data removed
    Column("snapshot", Text, nullable=False),
)

# Work queues walk an index in queue order and stop after a page. Queues hold open cases, so
# those indexes are partial (open cases only): closed cases, the bulk of a year, cost nothing.
_QUEUE_ORDER = ("no_due", "queue_at", "opened_at", "case_id")
_OPEN = cases.c.is_final == false()


def _queue_index(name: str, *leading: str) -> Index:
    columns = [cases.c[n] for n in (*leading, *_QUEUE_ORDER)]
    return Index(name, *columns, sqlite_where=_OPEN, postgresql_where=_OPEN)


_queue_index("ix_cases_open_queue")
_queue_index("ix_cases_open_agency", "agency")
_queue_index("ix_cases_open_agency_state", "agency", "state")  # migration 0002
_queue_index("ix_cases_open_state", "state")
_queue_index("ix_cases_open_escalation", "escalation_level")
Index("ix_cases_state_agency", cases.c.state, cases.c.agency)  # reports, queues with final cases
Index("ix_cases_listing", cases.c.listed, cases.c.opened_at, cases.c.case_id)

events = Table(
    "events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("case_id", String(64), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("occurred_at", DateTime, nullable=False),
    Column("body", Text, nullable=False),
)
Index("ix_events_case", events.c.case_id, events.c.partition, events.c.offset)

offsets = Table(
    "offsets",
    metadata,
    Column("topic", String(255), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)
