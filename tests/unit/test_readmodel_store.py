"""The relational read model on SQLite: migrations match the schema, writes are idempotent."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from consumers.readmodel.database import open_database
from consumers.readmodel.schema import events, metadata
from consumers.readmodel.store import Batch, SqlReadModel
from tests.readmodel_cases import written_cases
from workflow.codec import encode

WRITTEN = written_cases(count=6)


def _store(tmp_path: Path) -> SqlReadModel:
    return SqlReadModel(open_database(f"sqlite:///{tmp_path / 'rm.sqlite'}"))


def _batch(offset: int = 0) -> Batch:
    batch = Batch(next_offsets={("cases.events", 0): offset + len(WRITTEN.records)})
    for index, (kind, key, value) in enumerate(WRITTEN.records):
        if kind == "state":
            batch.states.append((key, value))
        else:
            batch.events.append((0, offset + index, value))
    return batch


def test_the_migrations_build_exactly_the_declared_schema(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_reapplying_a_batch_doubles_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.apply(_batch())
    store.apply(_batch(offset=1000))  # the same events read again at other offsets
    with store.engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(events)).scalar_one()
    assert rows == sum(len(v) for v in WRITTEN.events.values())
    for case_id, case in WRITTEN.cases.items():
        assert store.case(case_id) == case
        assert store.history(case_id) == WRITTEN.events[case_id]
    assert store.stored_offsets() == {("cases.events", 0): 1000 + len(WRITTEN.records)}


def test_an_older_snapshot_never_replaces_a_newer_one(tmp_path: Path) -> None:
    store = _store(tmp_path)
    newest = max(WRITTEN.cases.values(), key=lambda c: c.version)
    older = newest.model_copy(update={"version": newest.version - 1, "subject": "older"})
    store.apply(Batch(states=[(newest.case_id.encode(), encode(newest))]))
    store.apply(Batch(states=[(older.case_id.encode(), encode(older))]))
    assert store.case(newest.case_id) == newest


def test_a_tombstone_removes_the_case_and_bad_bytes_are_counted(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.apply(_batch())
    gone = next(iter(WRITTEN.cases))
    store.apply(Batch(states=[(gone.encode(), None), (b"x", b"not json")]))
    assert store.case(gone) is None
    assert store.skipped == 1
