"""Open cases by agency and state: an agency's queue of some states and its count read only the
matching entries (the agency index alone walks all of the agency's open cases).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_OPEN = sa.column("is_final") == sa.false()


def upgrade() -> None:
    op.create_index(
        "ix_cases_open_agency_state",
        "cases",
        ["agency", "state", "no_due", "queue_at", "opened_at", "case_id"],
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_cases_open_agency_state", "cases")
