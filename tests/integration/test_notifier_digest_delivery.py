"""The daily digest against real servers: Kafka, an aiosmtpd SMTP server, a local HTTP webhook.

Alerts are delivered on day 1; the notifier is restarted (the digest's lines must come back from
``notifications.receipts``); its clock, injected, is moved to 07:29 then past 07:30 (WIT) of day 2:
exactly one digest per officer and target; a third start later that day sends none.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from consumers.notifier.sink import start_sink
from tests.conftest import KafkaTopics, read_from
from tests.e2e.harness import free_port, wait_for
from tests.integration.test_notifier_delivery import (
    DIRECTORY,
    InProcess,
    Webhook,
    escalation,
    snapshot,
    wait_count,
    warning,
)

DAY1 = datetime.fromisoformat("2026-12-21T17:00:00+09:00")
DUE = datetime.fromisoformat("2026-12-22T07:30:00+09:00")


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


class Clock:
    """The notifier's wall clock, moved by the test (read from the notifier's thread)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_alerts_of_a_day_come_back_as_one_digest_per_officer_the_next_morning_once(
    kafka_topics: KafkaTopics, send_messages: Any, webhook: Webhook, tmp_path: Path
) -> None:
    controller, sink = start_sink(port=free_port(), echo=False)
    try:
        path = tmp_path / "officers.yaml"
        path.write_text(
            DIRECTORY.format(smtp=controller.port, web=webhook.port)
            + 'digest: {enabled: true, at: "07:30"}\n'
        )
        case = "ADU-DGST-0000-0001"
        send_messages(kafka_topics["cases.state"], [(case.encode(), snapshot(level=2))])
        send_messages(
            kafka_topics["cases.events"],
            [
                (case.encode(), warning(case)),
                (case.encode(), escalation(case, 1)),
                (case.encode(), escalation(case, 2)),
            ],
        )
        clock = Clock(DAY1)
        first = InProcess(kafka_topics, path, clock=clock)
        try:
            wait_count(sink.messages, 3, 30, "the three alerts")
            wait_count(webhook.bodies, 1, 10, "the webhook alert")
            wait_for(lambda: first.notifier.digests.next_check is not None, 10, "a digest check")
            time.sleep(0.5)
        finally:
            first.close()
        assert len(sink.messages) == 3, "no digest on day 1: yesterday's window was empty"

        # A restart before the digest is due: the lines come back from the receipts.
        clock.now = DUE - timedelta(minutes=1)
        second = InProcess(kafka_topics, path, clock=clock)
        try:
            wait_for(lambda: second.notifier.digests.next_check == DUE, 10, "the check at 07:29")
            time.sleep(0.5)
            assert len(sink.messages) == 3, "not before 07:30"
            started = time.monotonic()
            clock.now = DUE + timedelta(minutes=1)
            wait_count(sink.messages, 6, 30, "a digest email per officer")
            wait_count(webhook.bodies, 2, 10, "the digest on kadis's webhook")
            took = time.monotonic() - started
            time.sleep(1.5)  # several more loop iterations past 07:30: nothing else
            stats = second.notifier.stats
        finally:
            second.close()
        print(f"digest: 3 emails + 1 webhook {took:.2f}s after the clock passed 07:30")
        assert len(sink.messages) == 6
        assert len(webhook.bodies) == 2
        assert stats.digests == 4
        assert stats.delivered == 0  # no alert was sent again

        digests = {tuple(rcpts): m for _, rcpts, m in sink.messages[3:]}
        assert set(digests) == {
            ("penghubung.dinkes@malukutengahkab.go.id",),
            ("kadis.dinkes@malukutengahkab.go.id",),
            ("sekda@malukutengahkab.go.id",),
        }
        kadis = digests[("kadis.dinkes@malukutengahkab.go.id",)]
        assert kadis["subject"] == (
            "[aduan] Ringkasan harian 22 Des 2026: 1 pemberitahuan, 1 pengaduan masih dieskalasi"
        )
        body = body_of(kadis)
        assert "(21 Des 2026 07:30 WIT - 22 Des 2026 07:30 WIT): 1 pemberitahuan." in body
        assert f"1. {case} - Eskalasi tingkat 1 (Kepala OPD)\n" in body
        assert "   Instansi (OPD)     : Dinas Kesehatan (DINKES)\n" in body
        assert "   Tahap              : rencana tindak lanjut\n" in body
        assert "   Keterlambatan      : 40,5 jam kerja\n" in body  # office time
        assert "   Dikirim            : 21 Des 2026 17:00 WIT\n" in body
        assert f"http://127.0.0.1:8080/v1/cases/{case}" in body
        penghubung = digests[("penghubung.dinkes@malukutengahkab.go.id",)]
        assert penghubung["subject"].endswith(": 1 pemberitahuan, 0 pengaduan masih dieskalasi")
        assert f"1. {case} - Peringatan batas waktu 50%\n" in body_of(penghubung)
        sekda = digests[("sekda@malukutengahkab.go.id",)]
        assert sekda["subject"] == (
            "[aduan] Daily digest 22 Dec 2026: 1 alert, 1 complaint still escalated"
        )
        assert f"1. {case} - Escalation level 2 (Sekretaris Daerah / Inspektorat)\n" in body_of(
            sekda
        )
        hook = webhook.bodies[1]
        assert hook["title"] == kadis["subject"]
        assert hook["type"] == "info"

        # Restarted later that day: the digest receipts are read back, nothing is sent.
        clock.now = DUE + timedelta(hours=3)
        third = InProcess(kafka_topics, path, clock=clock)
        try:
            wait_for(lambda: third.notifier.digests.next_check is not None, 10, "a digest check")
            time.sleep(1.0)
        finally:
            third.close()
        assert third.notifier.stats.digests == 0
        assert len(sink.messages) == 6
        assert len(webhook.bodies) == 2

        receipts = [
            json.loads(r.value)
            for r in read_from(kafka_topics.bootstrap, kafka_topics["notifications.receipts"], 8)
        ]
        assert sorted((r["key"], r["target"]) for r in receipts if r["kind"] == "digest") == [
            ("digest|kadis|2026-12-22", "kadis/email"),
            ("digest|kadis|2026-12-22", "kadis/webhook"),
            ("digest|penghubung|2026-12-22", "penghubung/email"),
            ("digest|sekda|2026-12-22", "sekda/email"),
        ]
        alert = next(r for r in receipts if r["key"] == f"{case}|escalation|L1")
        assert (alert["stage"], alert["agency"]) == ("follow_up_plan", "DINKES")
    finally:
        controller.stop()
