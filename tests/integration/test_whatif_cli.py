"""``aduan whatif`` as an operator runs it: the real CLI process reading the recorded history
from cases.events on the real broker (issue 18, part 2). It prints the known answers and
writes nothing: every topic's end offsets are the same after it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from consumers.topics import TOPICS
from tests.conftest import KafkaTopics
from tests.unit.whatif_history import FIVE_DAYS_TO_VERIFY, known_history
from workflow.codec import encode

pytestmark = [pytest.mark.kafka]

REPO = Path(__file__).resolve().parents[2]


def _end_offsets(topics: KafkaTopics) -> dict[Any, int]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=topics.bootstrap)
    try:
        tps = [
            TopicPartition(topics[d.name], p)
            for d in TOPICS
            for p in consumer.partitions_for_topic(topics[d.name]) or ()
        ]
        return dict(consumer.end_offsets(tps))
    finally:
        consumer.close()


def test_whatif_reads_cases_events_prints_the_known_answers_and_writes_nothing(
    kafka_topics: KafkaTopics, send_messages: Any, tmp_path: Path
) -> None:
    history = known_history()
    records = [(e.case_id.encode(), encode(e)) for h in history.values() for e in h]
    send_messages(kafka_topics["cases.events"], records)
    defaults = yaml.safe_load((REPO / "workflow/defaults/policy.yaml").read_text())
    defaults["sla"]["verification"] = FIVE_DAYS_TO_VERIFY["sla"]["verification"]
    other = tmp_path / "five-days.yaml"
    other.write_text(yaml.safe_dump(defaults))
    before = _end_offsets(kafka_topics)

    env = dict(
        os.environ,
        ADUAN_KAFKA_BOOTSTRAP=kafka_topics.bootstrap,
        ADUAN_TOPIC_PREFIX=kafka_topics.prefix,
        PYTHONPATH=str(REPO),
        COLUMNS="120",
    )
    done = subprocess.run(
        [sys.executable, "-m", "consumers.cli", "whatif", "--policy", str(other)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if "PUPR" in line]
    assert any("33.3%" in r and "red" in r and "66.7%" in r and "yellow" in r for r in rows), (
        done.stdout
    )
    assert "3 cases replayed, 0 unreadable events skipped" in done.stdout
    assert "1 cases change outcome" in done.stdout
    second = list(history)[1]
    assert f"{second}  PUPR late -> PUPR within_sla" in done.stdout
    assert _end_offsets(kafka_topics) == before
