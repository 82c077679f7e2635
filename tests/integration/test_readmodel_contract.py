"""One contract, three stores: the same questions to the in-memory model, SQLite and a real
PostgreSQL must get the same answers (`consumers.readmodel.queries`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from consumers.gateway.readmodel import ReadModel
from consumers.readmodel.database import open_database
from consumers.readmodel.queries import CaseQueries, ListingQuery, QueueQuery
from consumers.readmodel.store import Batch, SqlReadModel
from states.lifecycle import CaseState
from tests.postgres_server import PostgresServer
from tests.readmodel_cases import START, Written, written_cases
from workflow.policy import load_policy

POLICY = load_policy()
WRITTEN = written_cases()


def _fill_memory(written: Written) -> ReadModel:
    model = ReadModel(policy=POLICY)
    for kind, key, value in written.records:
        if kind == "state":
            model.apply_state(key, value)
        else:
            model.apply_event(value)
    model.ready = True
    return model


def _fill_sql(url: str, written: Written) -> SqlReadModel:
    store = SqlReadModel(open_database(url), POLICY)
    # two batches, so a snapshot of a case replaces one from an earlier transaction
    half = len(written.records) // 2
    for offset_base, chunk in ((0, written.records[:half]), (half, written.records[half:])):
        batch = Batch()
        for index, (kind, key, value) in enumerate(chunk):
            if kind == "state":
                batch.states.append((key, value))
            else:
                batch.events.append((0, offset_base + index, value))
        store.apply(batch)
    store.apply(Batch(states=[(k, v) for kind, k, v in written.records if kind == "state"]))
    store.ready = True
    return store


@pytest.fixture(params=["memory", "sqlite", "postgresql"], scope="module")
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    if request.param == "memory":
        yield _fill_memory(WRITTEN)
        return
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("rm") / "readmodel.sqlite"
        url = f"sqlite:///{path}"
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.new_database()
    sql = _fill_sql(url, WRITTEN)
    yield sql
    sql.engine.dispose()


EXPECTED = _fill_memory(WRITTEN)  # the reference answers: the scanning model

QUEUES = [
    QueueQuery(),
    QueueQuery(include_final=True, limit=1000),
    QueueQuery(states=frozenset({CaseState.RECEIVED, CaseState.VERIFYING})),
    QueueQuery(agency="DINKES"),
    QueueQuery(agency="SETDA-TRIASE", states=frozenset({CaseState.RECEIVED})),
    QueueQuery(min_escalation_level=2),
    QueueQuery(channel="sms", limit=3, offset=2),
    QueueQuery(category="penundaan_berlarut", include_final=True),
    QueueQuery(states=frozenset({CaseState.CLOSED}), include_final=True),
    QueueQuery(limit=5, offset=100),
]


class TestContract:
    def test_every_case_and_its_history(self, store: CaseQueries) -> None:
        for case_id, case in WRITTEN.cases.items():
            assert store.case(case_id) == case
            assert store.history(case_id) == WRITTEN.events[case_id]
        assert store.case("ADU-UNKNOWN") is None
        assert store.history("ADU-UNKNOWN") == []

    @pytest.mark.parametrize("query", QUEUES, ids=range(len(QUEUES)))
    def test_queues_and_counts(self, store: CaseQueries, query: QueueQuery) -> None:
        got = [(e.case.case_id, e.due_at) for e in store.queue(query)]
        want = [(e.case.case_id, e.due_at) for e in EXPECTED.queue(query)]
        assert got == want
        assert store.count(query) == EXPECTED.count(query)

    def test_queues_are_ordered_by_deadline_soonest_first(self, store: CaseQueries) -> None:
        entries = store.queue(QueueQuery(limit=1000))
        dues = [e.due_at for e in entries if e.due_at is not None]
        assert len(dues) >= 10
        assert dues == sorted(dues)
        assert all(e.due_at is None for e in entries[len(dues) :])

    @pytest.mark.parametrize(
        "query",
        [
            ListingQuery(),
            ListingQuery(statuses=frozenset({"closed"})),
            ListingQuery(statuses=frozenset({"open"}), limit=4, offset=1),
            ListingQuery(service_codes=frozenset({"umum"})),
            ListingQuery(service_codes=frozenset({"penundaan_berlarut"})),
            ListingQuery(
                opened_from=START + timedelta(hours=5), opened_to=START + timedelta(hours=20)
            ),
        ],
        ids=range(6),
    )
    def test_listing(self, store: CaseQueries, query: ListingQuery) -> None:
        got = [c.case_id for c in store.listing(query)]
        assert got == [c.case_id for c in EXPECTED.listing(query)]

    def test_the_sample_exercises_the_filters(self) -> None:
        # the answers above compare something: non-empty, and not everything
        assert 0 < EXPECTED.count(QueueQuery(min_escalation_level=2)) < len(WRITTEN.cases)
        assert EXPECTED.count(QueueQuery(category="penundaan_berlarut", include_final=True)) > 0
        assert len(EXPECTED.listing(ListingQuery(statuses=frozenset({"closed"})))) > 0
        assert len(EXPECTED.listing(ListingQuery(limit=1000))) < len(WRITTEN.cases)  # confidential
