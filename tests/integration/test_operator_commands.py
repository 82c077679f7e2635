"""``aduan deadletter list | show | replay`` and ``aduan notifier pending | retry`` as an operator
runs them: the real CLI process against the real broker. Issue 14: dead letters operable,
stuck deliveries visible; never a reporter's identity in what they print.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from consumers.deadletter import deadletter_headers
from consumers.notifier.outbox import RecordSource
from consumers.notifier.pending import pending_record
from consumers.notifier.receipts import encode_receipt
from tests.conftest import KafkaTopics, read_from

pytestmark = [pytest.mark.kafka]

REPO = Path(__file__).resolve().parents[2]
NAME, PHONE, EMAIL = "Siti Rahmawati", "+62 812-4455-6677", "siti.rahma@example.id"


def aduan(topics: KafkaTopics, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ,
        ADUAN_KAFKA_BOOTSTRAP=topics.bootstrap,
        ADUAN_TOPIC_PREFIX=topics.prefix,
        PYTHONPATH=str(REPO),
    )
    return subprocess.run(
        [sys.executable, "-m", "consumers.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def intake_with_a_reporter() -> bytes:
    data = {
        "event_id": "web-77",
        "type": "ComplaintSubmitted",
        "schema_version": 99,  # the engine did not know it: invalid_field, say
        "payload": {
            "text": f"Jalan rusak, hubungi saya di {PHONE}",
            "reporter": {"name": NAME, "phone": PHONE, "email": EMAIL},
        },
    }
    return json.dumps(data).encode()


def test_deadletters_are_listed_shown_redacted_and_replayed_to_their_source(
    kafka_topics: KafkaTopics, send_messages: Any
) -> None:
    from kafka import KafkaProducer

    intake = kafka_topics["complaints.intake"]
    original = intake_with_a_reporter()
    producer = KafkaProducer(bootstrap_servers=kafka_topics.bootstrap, acks="all")
    try:
        src = RecordSource(intake, 0, 5)
        headers = deadletter_headers("invalid_field", "schema_version: 99 unknown", src)
        producer.send(kafka_topics["deadletter"], key=b"web-77", value=original, headers=headers)
        built = deadletter_headers("notification_failed", "a digest summary", None)
        producer.send(kafka_topics["deadletter"], key=b"digest", value=b"{}", headers=built)
        producer.flush(30)
    finally:
        producer.close()

    listed = aduan(kafka_topics, "deadletter", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[-1] == "2 of 2 dead letters"
    [line] = [x for x in lines if "invalid_field" in x]
    ref = line.split()[0]
    assert f"{intake}[0]@5" in line
    for secret in (NAME, PHONE, EMAIL, "4455"):
        assert secret not in listed.stdout

    shown = aduan(kafka_topics, "deadletter", "show", ref)
    assert shown.returncode == 0, shown.stderr
    assert "aduan.error.detail: schema_version: 99 unknown" in shown.stdout
    assert '"event_id": "web-77"' in shown.stdout
    assert '"name": "***"' in shown.stdout
    assert '"text": "Jalan rusak, hubungi saya di [telepon]"' in shown.stdout
    for secret in (NAME, PHONE, EMAIL, "4455"):
        assert secret not in shown.stdout

    replayed = aduan(kafka_topics, "deadletter", "replay", ref)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.startswith(
        f"aduan deadletter: replayed {ref} (invalid_field) to {intake}"
    )
    [again] = read_from(kafka_topics.bootstrap, intake, 1)
    assert (again.key, again.value) == (b"web-77", original)  # the same bytes: the same id
    assert dict(again.headers)["aduan.replayed_from"] == ref.encode()

    [other] = [x for x in lines if "notification_failed" in x]
    refused = aduan(kafka_topics, "deadletter", "replay", other.split()[0])
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith(
        "has no source topic (built by the notifier): nothing to replay"
    )
    missing = aduan(kafka_topics, "deadletter", "show", "0@999")
    assert (missing.returncode, missing.stderr.count("\n")) == (1, 1)
    assert missing.stderr.startswith("aduan: no dead letter at 0@999")


def test_pending_deliveries_are_listed_and_a_retry_request_reaches_the_receipts_topic(
    kafka_topics: KafkaTopics, send_messages: Any
) -> None:
    since = datetime.now(UTC)
    receipt = {
        "key": "ADU-CLI-0000-0001|escalation|L1",
        "target": "kadis/email",
        "officer": "kadis",
        "channel": "email",
        "case_id": "ADU-CLI-0000-0001",
        "kind": "escalation",
        "level": 1,
    }
    record = pending_record(
        receipt,
        letter=("s", "b", "failure"),
        owner="ADU-CLI-0000-0001",
        since=since,
        attempts=4,
        last_error="email kadis.dinkes@example.go.id: Connection error",
        source=None,
        original=None,
        recorded_at=since,
    )
    topic = kafka_topics["notifications.receipts"]
    send_messages(topic, [encode_receipt(record)])

    listed = aduan(kafka_topics, "notifier", "pending")
    assert listed.returncode == 0, listed.stderr
    first, summary = listed.stdout.splitlines()
    assert first.startswith(
        "ADU-CLI-0000-0001|escalation|L1  case ADU-CLI-0000-0001  escalation L1"
    )
    assert "to kadis/email  attempts 4" in first
    assert "kadis.dinkes@example.go.id" not in first
    assert summary.startswith("1 pending deliveries (oldest ")

    asked = aduan(kafka_topics, "notifier", "retry", "ADU-CLI-0000-0001")
    assert asked.returncode == 0, asked.stderr
    assert "retry requested for 1 pending deliveries (ADU-CLI-0000-0001)" in asked.stdout
    records = read_from(kafka_topics.bootstrap, topic, 2)
    outcomes = sorted(json.loads(r.value)["outcome"] for r in records)  # two partitions
    assert outcomes == ["pending", "retry"]

    unknown = aduan(kafka_topics, "notifier", "retry", "ADU-NONE")
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "aduan: no pending delivery matches ADU-NONE\n",
    )
    neither = aduan(kafka_topics, "notifier", "retry")
    assert neither.returncode == 1
    assert neither.stderr.startswith("aduan: name one KEY")
