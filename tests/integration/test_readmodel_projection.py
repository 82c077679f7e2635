"""The projection on the real broker: killed mid-batch it loses and doubles nothing (rows
compared with the topics), restarted it resumes from the offsets stored with the rows, and
``aduan readmodel rebuild`` finds no difference (and finds one when there is)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import create_engine, func, select, update

from consumers.readmodel.database import normalized_url, open_database
from consumers.readmodel.projection import Projection
from consumers.readmodel.schema import cases, events, offsets
from consumers.readmodel.store import SqlReadModel
from consumers.settings import SharedSettings
from consumers.topic_reading import read_until_end
from tests.conftest import KafkaTopics
from tests.readmodel_cases import written_cases
from workflow.codec import encode
from workflow.policy import load_policy

REPO = Path(__file__).resolve().parents[2]
WRITTEN = written_cases(count=300, seed=7)
ABORTED = "ADU-ABRT-ABRT-ABRT"


async def _produce(topics: KafkaTopics) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=topics.bootstrap, transactional_id=f"{topics.prefix}-engine-like"
    )
    await producer.start()
    try:
        records = WRITTEN.records
        for start in range(0, len(records), 400):  # transactions, as the engine writes
            async with producer.transaction():
                for kind, key, value in records[start : start + 400]:
                    topic = topics["cases.state" if kind == "state" else "cases.events"]
                    await producer.send(topic, key=key, value=value)
        # an aborted write: read_committed must never show it
        sample = next(iter(WRITTEN.cases.values()))
        await producer.begin_transaction()
        ghost = sample.model_copy(update={"case_id": ABORTED})
        await producer.send(topics["cases.state"], key=ABORTED.encode(), value=encode(ghost))
        await producer.abort_transaction()
    finally:
        await producer.stop()


def _topic_records(topics: KafkaTopics, logical: str) -> list[Any]:
    consumer = KafkaConsumer(
        bootstrap_servers=topics.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    try:
        topic = topics[logical]
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        return list(read_until_end(consumer, consumer.end_offsets(tps), poll_timeout_ms=200))
    finally:
        consumer.close()


class Projector:
    """``aduan readmodel project`` as its own process, logging to a file."""

    def __init__(self, topics: KafkaTopics, url: str, log: Path) -> None:
        self.topics, self.url, self.log_path = topics, url, log
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ADUAN_KAFKA_BOOTSTRAP": self.topics.bootstrap,
            "ADUAN_TOPIC_PREFIX": self.topics.prefix,
            "PYTHONPATH": str(REPO),
        }

    def start(self, max_batch: int) -> None:
        self.log_path.write_text("")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "consumers.cli", "readmodel", "project", "--url", self.url,
             "--max-batch", str(max_batch)],
            env=self.env(), stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "consumers.cli", "readmodel", *args, "--url", self.url],
            env=self.env(), capture_output=True, text=True, timeout=240,
        )  # fmt: skip


def _wait(condition: Any, what: str, limit: float = 120) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _stored(engine: Any) -> dict[tuple[str, int], int]:
    with engine.connect() as conn:
        rows = conn.execute(select(offsets.c.topic, offsets.c.partition, offsets.c.next_offset))
        return {(t, p): o for t, p, o in rows}


@pytest.fixture(params=["sqlite", "postgresql"])
def projector(
    request: pytest.FixtureRequest, kafka_topics: KafkaTopics, tmp_path: Path
) -> Iterator[Projector]:
    asyncio.run(_produce(kafka_topics))
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'readmodel.sqlite'}"
    else:
        url = request.getfixturevalue("postgres").new_database()
    proc = Projector(kafka_topics, url, tmp_path / "p.log")
    yield proc
    proc.stop()


def test_a_killed_projection_resumes_from_its_offsets_and_matches_the_topics(
    projector: Projector, kafka_topics: KafkaTopics
) -> None:
    state_records = _topic_records(kafka_topics, "cases.state")
    event_records = _topic_records(kafka_topics, "cases.events")
    total = len(state_records) + len(event_records)
    assert total == len(WRITTEN.records)
    engine = create_engine(normalized_url(projector.url))

    # 1. kill -9 while it is part-way through (small batches: many transactions)
    projector.start(max_batch=7)
    _wait(lambda: sum(_stored_or_empty(engine).values()) > total // 10, "the first batches")
    projector.kill()
    stored = _stored(engine)
    records = [*state_records, *event_records]
    unread = [r for r in records if r.offset >= stored.get((r.topic, r.partition), 0)]
    assert 0 < len(unread) < total, "killed part-way (else nothing was tested)"
    _assert_rows_agree_with_offsets(engine, stored, event_records)

    # 2. restarted, it starts at the stored offsets, not at the beginning
    projector.start(max_batch=500)
    caught = _wait(
        lambda: re.search(r"caught up \((\d+) records read\)", projector.log()), "catch-up"
    )
    first_line = projector.log().split("starting at")[1].splitlines()[0]
    pattern = r"([\w.-]+)\[(\d+)\]=(\d+)"
    started = {(m[1], int(m[2])): int(m[3]) for m in re.finditer(pattern, first_line)}
    for tp, offset in stored.items():
        assert started[tp] == offset
    assert int(caught[1]) == len(unread)  # only what the killed run had not committed
    projector.stop()

    # 3. nothing lost, nothing doubled: the database holds exactly what the topics hold
    _assert_database_is_the_topics(engine, state_records, event_records)

    # 4. a rebuild from the topics agrees; after a tampered row it does not
    rebuilt = projector.cli("rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert " 0 differ" in rebuilt.stdout
    victim = next(iter(WRITTEN.cases))
    with engine.begin() as conn:
        conn.execute(
            update(cases).where(cases.c.case_id == victim).values(snapshot=_tampered(victim))
        )
    rebuilt = projector.cli("rebuild")
    assert rebuilt.returncode == 1
    assert f"case {victim} version" in rebuilt.stdout
    assert len(rebuilt.stdout.strip().splitlines()) == 1


def _stored_or_empty(engine: Any) -> dict[tuple[str, int], int]:
    try:
        return _stored(engine)
    except Exception:  # the process has not created the schema yet
        return {}


def _assert_rows_agree_with_offsets(
    engine: Any, stored: dict[tuple[str, int], int], event_records: list[Any]
) -> None:
    """Every event below a stored offset is in the database; none at or above it."""
    with engine.connect() as conn:
        held = {e: (p, o) for e, p, o in conn.execute(
            select(events.c.event_id, events.c.partition, events.c.offset))}  # fmt: skip
    for record in event_records:
        below = record.offset < stored.get((record.topic, record.partition), 0)
        event_id = _event_id(record.value)
        assert (event_id in held) == below, (record.partition, record.offset)


def _event_id(value: bytes) -> str:
    from workflow.codec import parse_event

    return parse_event(value).event_id


def _assert_database_is_the_topics(
    engine: Any, state_records: list[Any], event_records: list[Any]
) -> None:
    latest: dict[str, bytes] = {}
    for record in state_records:
        latest[record.key.decode()] = record.value
    with engine.connect() as conn:
        snapshots = dict(conn.execute(select(cases.c.case_id, cases.c.snapshot)).all())
        bodies = conn.execute(select(events.c.event_id, events.c.body)).all()
        count = conn.execute(select(func.count()).select_from(events)).scalar_one()
    assert ABORTED not in snapshots
    assert snapshots == {k: v.decode() for k, v in latest.items()}
    assert count == len(event_records)  # no event twice
    assert dict(bodies) == {_event_id(r.value): r.value.decode() for r in event_records}


def _tampered(case_id: str) -> str:
    case = WRITTEN.cases[case_id]
    return case.model_copy(update={"subject": "diubah diam-diam"}).model_dump_json()


def test_a_record_the_model_cannot_read_goes_to_deadletter_and_the_rest_is_projected(
    kafka_topics: KafkaTopics, tmp_path: Path
) -> None:
    good = [r for r in WRITTEN.records if r[0] == "state"][:5]
    broken_snapshot, broken_event = b"{not json", b'{"type": "CaseOpened"}'

    async def write_and_project() -> SqlReadModel:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_topics.bootstrap, acks="all")
        await producer.start()
        try:
            for _, key, value in good[:2]:
                await producer.send_and_wait(kafka_topics["cases.state"], key=key, value=value)
            await producer.send_and_wait(
                kafka_topics["cases.state"], key=b"ADU-BAD0-BAD0-BAD0", value=broken_snapshot
            )
            await producer.send_and_wait(kafka_topics["cases.events"], value=broken_event)
            for _, key, value in good[2:]:
                await producer.send_and_wait(kafka_topics["cases.state"], key=key, value=value)
        finally:
            await producer.stop()
        settings = SharedSettings(
            kafka_bootstrap=[kafka_topics.bootstrap], topic_prefix=kafka_topics.prefix
        )
        model = SqlReadModel(open_database(f"sqlite:///{tmp_path / 'rm.sqlite'}"), load_policy())
        await asyncio.wait_for(Projection(settings, model, until_caught_up=True).run(), 120)
        return model

    model = asyncio.run(write_and_project())
    for _, key, _ in good:
        assert key is not None
        assert model.case(key.decode()) is not None  # the rest went on
    letters = _topic_records(kafka_topics, "deadletter")
    assert sorted(r.value for r in letters) == sorted([broken_snapshot, broken_event])
    for letter in letters:
        headers = {k: v.decode() for k, v in letter.headers}
        assert headers["aduan.deadlettered_by"] == "readmodel"
        assert headers["aduan.error.reason"]
        expected = "cases.state" if letter.value == broken_snapshot else "cases.events"
        assert headers["aduan.source.topic"] == kafka_topics[expected]
