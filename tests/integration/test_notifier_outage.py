"""Issue 14 "done when": the mail server down for a while, the notifier SIGKILLed and restarted in
the middle, then the server back: every alert raised meanwhile reaches each of its targets exactly
once, none is dead-lettered, a permanently invalid target (an address the server refuses, 550
5.1.1) is dead-lettered and counted, and the pending gauges on the notifier's real /metrics are
above 0 during the outage and 0 after.

Real parts only: the Kafka broker, the notifier as a process (``aduan notifier``), an aiosmtpd
server, HTTP scrapes. The outage is real wall time: ``ADUAN_OUTAGE_SECONDS`` (60 in ``make test``;
``make chaos`` runs 300), with the retry cadence capped at 5 s (``ADUAN_NOTIFIER_BACKOFF_CAP``)
so the test does not wait 5 minutes after the server is back. It needs nothing of the machine's
speed: every wait is a wait-until-condition.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from prometheus_client.parser import text_string_to_metric_families

from consumers.notifier.sink import SinkHandler
from tests.conftest import KafkaTopics, read_from
from tests.e2e.harness import free_port, wait_for
from workflow.codec import encode
from workflow.events import CaseEscalated, CaseEscalatedPayload
from workflow.sla import DayType, SlaClock, Stage
from workflow.values import Timers

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
OUTAGE = float(os.environ.get("ADUAN_OUTAGE_SECONDS", "60"))
T0 = datetime.fromisoformat("2026-12-07T09:00:00+09:00")
LATE = datetime.fromisoformat("2026-12-21T16:00:00+09:00")
REFUSED = "pindah.tugas@malukutengahkab.go.id"
"""An officer who left: the mail server has no such mailbox any more."""

DIRECTORY = """
smtp: {{host: 127.0.0.1, port: {smtp}, sender: aduan@malukutengahkab.go.id, mode: insecure,
        timeout: 2}}
officers:
  - {{id: kadis, name: Kepala Dinas Kesehatan, role: Kepala OPD,
      email: kadis.dinkes@malukutengahkab.go.id}}
  - {{id: sekretaris, name: Sekretaris Dinas, role: Sekretaris Dinas, email: {refused}}}
  - {{id: sekda, name: Sekretaris Daerah, role: Sekretaris Daerah,
      email: sekda@malukutengahkab.go.id}}
agencies:
  "*": {{levels: {{2: [sekda]}}}}
  DINKES: {{levels: {{1: [kadis, sekretaris]}}}}
"""


class Mailbox(SinkHandler):
    """The mail server: keeps every message, refuses the address of the officer who left."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def escalation(case_id: str, level: int) -> bytes:
    clock = SlaClock(
        stage=Stage.FOLLOW_UP_PLAN,
        unit=DayType.WORKING,
        started_at=T0,
        budget_seconds=47.5 * 3600,
        running_since=T0,
    )
    event = CaseEscalated(
        event_id=f"{case_id}-esc-{level}",
        occurred_at=LATE,
        case_id=case_id,
        payload=CaseEscalatedPayload(
            level=level, automatic=True, stage=Stage.FOLLOW_UP_PLAN, timers=Timers(clock=clock)
        ),
    )
    return encode(event)


def snapshot() -> bytes:
    data = {"agency": "DINKES", "triage_agency": "SETDA-TRIASE", "escalation_level": 2}
    return json.dumps(data).encode()


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The notifier's /metrics, sample by (name, labels); {} when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
            text = answer.read().decode()
    except OSError:
        return {}
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def pending(port: int) -> float | None:
    return scrape(port).get(("aduan_notifications_pending", ()))


class NotifierProcess:
    def __init__(self, topics: KafkaTopics, directory: Path, tmp_path: Path) -> None:
        self.metrics_port = free_port()
        self.env = dict(
            os.environ,
            ADUAN_KAFKA_BOOTSTRAP=topics.bootstrap,
            ADUAN_TOPIC_PREFIX=topics.prefix,
            ADUAN_NOTIFIER_DIRECTORY=str(directory),
            ADUAN_NOTIFIER_METRICS_PORT=str(self.metrics_port),
            ADUAN_NOTIFIER_BACKOFF_BASE="0.5",
            ADUAN_NOTIFIER_BACKOFF_CAP="5",
            PYTHONPATH=str(REPO),
        )
        self.log = tmp_path / "notifier.log"
        self.tmp_path = tmp_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "consumers.cli", "notifier"],
                env=self.env,
                cwd=self.tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_for(lambda: pending(self.metrics_port) is not None, 60, "the notifier's /metrics")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=30)


@pytest.fixture
def mailbox() -> Iterator[tuple[int, Mailbox, Callable[[], None]]]:
    """(port, the server's mailbox, start it): the server is down until started."""
    port = free_port()
    box = Mailbox(echo=False)
    controller = Controller(box, hostname="127.0.0.1", port=port)
    yield port, box, controller.start
    if controller._thread is not None:  # started
        controller.stop()


def test_mail_server_down_with_a_notifier_kill_in_the_middle_then_every_alert_once(
    kafka_topics: KafkaTopics,
    send_messages: Any,
    mailbox: tuple[int, Mailbox, Callable[[], None]],
    tmp_path: Path,
) -> None:
    port, box, server_up = mailbox
    path = tmp_path / "officers.yaml"
    path.write_text(DIRECTORY.format(smtp=port, refused=REFUSED))
    before = [f"ADU-OUTG-0000-{n:04d}" for n in range(6)]
    during = [f"ADU-OUTG-0001-{n:04d}" for n in range(6)]
    cases = before + during
    send_messages(kafka_topics["cases.state"], [(c.encode(), snapshot()) for c in cases])

    def raise_alerts(ids: list[str]) -> None:
        events = [(c.encode(), escalation(c, level)) for c in ids for level in (1, 2)]
        send_messages(kafka_topics["cases.events"], events)

    notifier = NotifierProcess(kafka_topics, path, tmp_path)
    down_since = time.monotonic()
    notifier.start()
    raise_alerts(before)
    # kadis, sekretaris (L1) and sekda (L2) per case: three pending deliveries each.
    wait_for(lambda: (pending(notifier.metrics_port) or 0) >= 3 * len(before), 60, "pending")
    seen_pending = [pending(notifier.metrics_port) or 0.0]
    wait_for(lambda: time.monotonic() - down_since >= OUTAGE / 2, OUTAGE, "half the outage", 0.5)
    notifier.kill()
    raise_alerts(during)  # raised while the notifier is dead and the server still down
    notifier.start()
    wait_for(lambda: (pending(notifier.metrics_port) or 0) >= 3 * len(cases), 60, "pending")
    seen_pending.append(pending(notifier.metrics_port) or 0.0)
    oldest = scrape(notifier.metrics_port)[("aduan_notifications_oldest_pending_seconds", ())]
    wait_for(lambda: time.monotonic() - down_since >= OUTAGE, OUTAGE, "the outage's end", 0.5)
    assert box.messages == []
    outage = time.monotonic() - down_since

    server_up()
    up_at = time.monotonic()
    wait_for(lambda: len(box.messages) >= 2 * len(cases), 60, "every alert after the outage")
    caught_up = time.monotonic() - up_at
    wait_for(lambda: pending(notifier.metrics_port) == 0, 30, "nothing pending")
    time.sleep(2)  # a late duplicate would arrive now
    metrics = scrape(notifier.metrics_port)
    notifier.kill(signal.SIGTERM)

    # (recipient, case): the subject ends with the tracking number.
    delivered = Counter((to[0], str(m["subject"]).rsplit(" ", 1)[1]) for _, to, m in box.messages)
    expected = {("kadis.dinkes@malukutengahkab.go.id", c) for c in cases} | {
        ("sekda@malukutengahkab.go.id", c) for c in cases
    }
    dead = read_from(kafka_topics.bootstrap, kafka_topics["deadletter"], len(cases), timeout=20)
    reasons = Counter(dict(r.headers)["aduan.error.reason"].decode() for r in dead)
    counted = metrics[
        (
            "aduan_messages_deadlettered_total",
            (("reason", "invalid_target"), ("source", "notifier")),
        )
    ]
    print(
        f"SMTP outage {outage:.0f} s with a SIGKILL at {OUTAGE / 2:.0f} s: "
        f"{len(cases) * 3} deliveries to {len(cases) * 2} alerts, pending seen {seen_pending} "
        f"(oldest {oldest:.0f} s), delivered {len(box.messages)} in {caught_up:.1f} s after "
        f"the server came back, duplicates {sum(n - 1 for n in delivered.values())}, "
        f"dead-lettered {dict(reasons)} (counted {counted:.0f}), pending after "
        f"{metrics[('aduan_notifications_pending', ())]:.0f}"
    )
    assert set(delivered) == expected
    assert max(delivered.values()) == 1
    assert reasons == {"invalid_target": len(cases)}
    assert {dict(r.headers)["aduan.error.detail"].decode().split(" ")[0] for r in dead} == {
        "sekretaris/email"
    }
    assert counted == len(cases)
    assert min(seen_pending) > 0
    assert oldest > 0
    assert metrics[("aduan_notifications_pending", ())] == 0
    assert metrics[("aduan_notifications_oldest_pending_seconds", ())] == 0
