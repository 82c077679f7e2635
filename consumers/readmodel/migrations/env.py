"""Alembic environment of the read model: run by `consumers.readmodel.database.migrate` with an
open connection (``config.attributes["connection"]``); never reads alembic.ini."""

from __future__ import annotations

from alembic import context

from consumers.readmodel.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
