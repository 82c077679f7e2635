"""The read model's first schema: cases, events, offsets.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_QUEUE = ("no_due", "queue_at", "opened_at", "case_id")
_OPEN = sa.column("is_final") == sa.false()  # partial indexes: open cases only


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("escalation_level", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("service_code", sa.String(64), nullable=False),
        sa.Column("is_final", sa.Boolean, nullable=False),
        sa.Column("listed", sa.Boolean, nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=True),
        sa.Column("no_due", sa.Boolean, nullable=False),
        sa.Column("queue_at", sa.DateTime, nullable=False),
        sa.Column("purged", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("snapshot", sa.Text, nullable=False),
    )
    for name, leading in (
        ("ix_cases_open_queue", []),
        ("ix_cases_open_agency", ["agency"]),
        ("ix_cases_open_state", ["state"]),
        ("ix_cases_open_escalation", ["escalation_level"]),
    ):
        op.create_index(
            name, "cases", [*leading, *_QUEUE], sqlite_where=_OPEN, postgresql_where=_OPEN
        )
    op.create_index("ix_cases_state_agency", "cases", ["state", "agency"])
    op.create_index("ix_cases_listing", "cases", ["listed", "opened_at", "case_id"])
    op.create_table(
        "events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_events_case", "events", ["case_id", "partition", "offset"])
    op.create_table(
        "offsets",
        sa.Column("topic", sa.String(255), primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("offsets")
    op.drop_table("events")
    op.drop_table("cases")
