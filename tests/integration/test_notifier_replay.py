"""``aduan deadletter replay`` of a notifier's dead letter (issue 14): the real CLI process, the
real broker, a notifier running against an aiosmtpd server that refuses an officer's address.

Before the fix the replay appended the event to ``cases.events`` again: the engine's audit trail
then held the escalation twice, for every reader of it (reporter, read model, notifier). Now it is
a replay request on ``notifications.receipts``: the event log is untouched, the notifier owning
the case delivers the alert once to the target that was dead-lettered (and to nobody else), and a
second replay of the same dead letter, or a notifier restart, sends nothing again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import KafkaTopics, read_from
from tests.e2e.harness import free_port, wait_for
from tests.integration.test_notifier_delivery import InProcess, escalation, snapshot
from tests.integration.test_operator_commands import aduan
from tests.unit.test_notifier_pending import RefusingSink

pytestmark = [pytest.mark.kafka]

CASE = "ADU-RPLY-0000-0001"
KADIS = "kadis.dinkes@malukutengahkab.go.id"
SEKDA = "sekda@malukutengahkab.go.id"

DIRECTORY = """
smtp: {{host: 127.0.0.1, port: {smtp}, sender: aduan@malukutengahkab.go.id, mode: insecure,
        timeout: 10}}
officers:
  - {{id: kadis, name: Kepala Dinas Kesehatan, role: Kepala OPD, email: {kadis}}}
  - {{id: inspektur, name: Inspektur, role: Inspektur, email: inspektur@malukutengahkab.go.id}}
  - {{id: sekda, name: Sekretaris Daerah, role: Sekretaris Daerah, email: {sekda}}}
agencies:
  "*": {{levels: {{2: [sekda]}}}}
  DINKES: {{levels: {{1: [kadis, inspektur]}}}}
"""


@pytest.fixture
def mail() -> Iterator[tuple[int, RefusingSink]]:
    sink = RefusingSink({KADIS})  # the Kepala Dinas's mailbox is not set up yet
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, sink
    controller.stop()


def recipients(sink: RefusingSink) -> Counter[str]:
    return Counter(to[0] for _, to, _ in sink.messages)


def end_offsets(topics: KafkaTopics, logical: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=topics.bootstrap)
    try:
        topic = topics[logical]
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def every_record(topics: KafkaTopics, logical: str) -> list[Any]:
    return read_from(topics.bootstrap, topics[logical], end_offsets(topics, logical))


def test_replaying_a_notifier_dead_letter_asks_the_notifier_and_leaves_the_event_log_alone(
    kafka_topics: KafkaTopics,
    send_messages: Any,
    mail: tuple[int, RefusingSink],
    tmp_path: Path,
) -> None:
    port, sink = mail
    path = tmp_path / "officers.yaml"
    path.write_text(DIRECTORY.format(smtp=port, kadis=KADIS, sekda=SEKDA))
    send_messages(kafka_topics["cases.state"], [(CASE.encode(), snapshot())])
    send_messages(kafka_topics["cases.events"], [(CASE.encode(), escalation(CASE, 1))])
    notifier = InProcess(kafka_topics, path)
    try:
        [dead] = read_from(kafka_topics.bootstrap, kafka_topics["deadletter"], 1, timeout=60)
        headers = dict(dead.headers)
        assert headers["aduan.error.reason"] == b"invalid_target"
        assert headers["aduan.deadlettered_by"] == b"notifier"
        wait_for(lambda: recipients(sink) == {"inspektur@malukutengahkab.go.id": 1}, 30, "L1")
        events_before = end_offsets(kafka_topics, "cases.events")

        sink.refused.clear()  # the mailbox exists now: the fix
        ref = f"{dead.partition}@{dead.offset}"
        replayed = aduan(kafka_topics, "deadletter", "replay", ref)
        assert replayed.returncode == 0, replayed.stderr
        assert f"replay of {ref} (invalid_target) requested from the notifier" in replayed.stdout
        wait_for(lambda: recipients(sink)[KADIS] == 1, 60, "the replayed alert")
        wait_for(lambda: not notifier.notifier.receipts.replays, 30, "the replay done")

        again = aduan(kafka_topics, "deadletter", "replay", ref)  # an operator's second try
        assert again.returncode == 0, again.stderr
    finally:
        notifier.close()

    restarted = InProcess(kafka_topics, path)  # reads both requests and the done record back
    try:
        send_messages(kafka_topics["cases.events"], [(CASE.encode(), escalation(CASE, 2))])
        wait_for(lambda: recipients(sink)[SEKDA] == 1, 60, "the next escalation")
        wait_for(lambda: not restarted.notifier.receipts.replays, 30, "no replay left")
    finally:
        restarted.close()

    assert end_offsets(kafka_topics, "cases.events") == events_before + 1  # only the L2 event
    assert recipients(sink) == {KADIS: 1, "inspektur@malukutengahkab.go.id": 1, SEKDA: 1}
    assert end_offsets(kafka_topics, "deadletter") == 1  # nothing dead-lettered again
    receipts = [json.loads(r.value) for r in every_record(kafka_topics, "notifications.receipts")]
    replay = Counter(r["outcome"] for r in receipts if r["key"] == f"replay|{ref}")
    assert replay == {"replay": 2, "replayed": 1}  # the second request was ignored
    kadis = [r["outcome"] for r in receipts if r.get("target") == "kadis/email"]
    assert kadis == ["deadlettered", "delivered"]
