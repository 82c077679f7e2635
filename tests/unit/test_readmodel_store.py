"""The relational read model on SQLite: migrations match the schema, writes are idempotent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from consumers.readmodel.database import open_database
from consumers.readmodel.retention import purge_personal_data
from consumers.readmodel.schema import cases, events, metadata
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


def test_purge_removes_personal_data_of_cases_closed_long_enough(tmp_path: Path) -> None:
    written = written_cases(count=30)
    store = _store(tmp_path)
    batch = Batch()
    for index, (kind, key, value) in enumerate(written.records):
        if kind == "state":
            batch.states.append((key, value))
        else:
            batch.events.append((0, index, value))
    store.apply(batch)
    final = {c.case_id for c in written.cases.values() if c.is_final}
    assert final, "the sample has closed cases"
    last_event = max(e.occurred_at for e in written.events[next(iter(final))])
    assert purge_personal_data(store, last_event - timedelta(days=1)) == 0  # not yet long enough
    assert purge_personal_data(store, last_event + timedelta(days=400)) == len(final)
    assert purge_personal_data(store, last_event + timedelta(days=400)) == 0  # once
    for case_id, case in written.cases.items():
        texts = [
            _snapshot_text(store, case_id),
            *(encode(e).decode() for e in store.history(case_id)),
        ]
        personal = any(part in text for text in texts for part in ("Latuconsina", "081234"))
        if case_id in final:
            assert not personal, case_id
        elif case.reporter.name is not None:  # public reporters' cases still open keep it
            assert personal, case_id
    store.apply(batch)  # the projection re-reading the old snapshots does not bring them back
    assert all(store.case(c).reporter.name is None for c in final)  # type: ignore[union-attr]


def _snapshot_text(store: SqlReadModel, case_id: str) -> str:
    with store.engine.connect() as conn:
        text: str = conn.execute(
            select(cases.c.snapshot).where(cases.c.case_id == case_id)
        ).scalar_one()
    return text


def test_the_gateway_answers_from_the_database(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from consumers.gateway.app import create_app
    from consumers.gateway.publisher import MemoryPublisher
    from consumers.gateway.security import DEV_TOKENS, OperatorRole, dev_security
    from consumers.gateway.settings import GatewaySettings

    store = _store(tmp_path)
    store.apply(_batch())
    store.ready = True
    settings = GatewaySettings(gateway_store_dir=tmp_path / "store", gateway_dev_mode=True)
    app = create_app(
        settings, security=dev_security(), publisher=MemoryPublisher(), read_model=store
    )
    case = max(WRITTEN.cases.values(), key=lambda c: c.version)
    verifier = {"Authorization": f"Bearer {DEV_TOKENS[OperatorRole.VERIFIER]}"}
    with TestClient(app) as client:
        answer = client.get(f"/v1/cases/{case.case_id}", headers=verifier)
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == case.state.value
        assert len(answer.json()["history"]) == len(WRITTEN.events[case.case_id])
        assert client.get("/readyz").json()["cases"] == len(WRITTEN.cases)
        assert client.get("/open311/v2/requests.json").status_code == 200


def test_a_database_projected_from_other_topics_is_refused(tmp_path: Path) -> None:
    """A console on a database another topic prefix filled showed that prefix's cases in its
    queues (a test run beside `make run` did): refused with one line naming the topics."""
    from consumers.readmodel.projection import ForeignReadModel, check_own_topics
    from consumers.settings import SharedSettings

    store = _store(tmp_path)
    demo, other = SharedSettings(topic_prefix="demo"), SharedSettings(topic_prefix="other")
    check_own_topics(store, demo, "db")  # empty: anyone's
    batch = _batch()
    batch.next_offsets = {(demo.topic("cases.state"), 0): 1}
    store.write(store.prepare(batch))
    check_own_topics(store, demo, "db")
    with pytest.raises(ForeignReadModel, match=r"other topics \(demo\.cases\.state\)"):
        check_own_topics(store, other, "db")
