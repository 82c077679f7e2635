"""Issue 14 "done when", the monitoring half: a real Prometheus, running the production rule files
unchanged, scrapes a real notifier (``aduan notifier``, a process) whose mail server (aiosmtpd) is
down. ``AduanNotificationsFailing`` fires during the outage, stays firing across a SIGKILL and
restart of the notifier (same ``activeAt``: it neither resolved nor fired anew), the pending gauge
is above 0 meanwhile; then the server comes back, every alert reaches each target exactly once,
the permanently invalid one is dead-lettered and counted, and the alert resolves.

The rule's threshold is the notifier's ``ADUAN_NOTIFIER_FAILING_AFTER_SECONDS`` (exported as
``aduan_notifications_failing_after_seconds``, which the rule reads). In ``make test`` it is 10 s
instead of the production 180 s, and the server comes back as soon as the alert has been seen
firing across the restart, so the test takes well under a minute on an idle machine. With
``ADUAN_OUTAGE_SECONDS`` set (``make chaos-notifier``: 300) the notifier keeps its production
threshold and the mail server stays down that long: the issue's 5-minute outage. Scrape and
evaluation every second, the retry cadence capped at 5 s (the production 15 s and 300 s only add
latency). Every wait is a wait-until-condition.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import KafkaTopics, read_from
from tests.e2e.harness import free_port, wait_for
from tests.e2e.prometheus_server import Prometheus, production_rules
from tests.integration.test_notifier_outage import (
    DIRECTORY,
    REFUSED,
    Mailbox,
    NotifierProcess,
    escalation,
    mailbox,
    scrape,
    snapshot,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

__all__ = ["mailbox"]  # the fixture, shared with the outage test

ALERT = "AduanNotificationsFailing"
OUTAGE = float(os.environ.get("ADUAN_OUTAGE_SECONDS", "0"))
"""0: the server comes back once the alert has been seen firing (make test)."""
FAILING_AFTER = 180.0 if OUTAGE else 10.0
"""The production default when the outage is the real one, else 10 s."""


def notifier_prometheus(workdir: Path, notifier_port: int) -> Prometheus:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "aduan-notifier",
                "static_configs": [{"targets": [f"127.0.0.1:{notifier_port}"]}],
            }
        ],
    }
    rules = {name: production_rules(name) for name in ("recording.yml", "alerts.yml")}
    return Prometheus(workdir, free_port(), config, rules)


def active(server: Prometheus) -> list[dict[str, Any]]:
    """The rule's alerts as Prometheus holds them (state, activeAt, value)."""
    alerts: list[dict[str, Any]] = server._get("/api/v1/alerts")["alerts"]
    return [a for a in alerts if a["labels"]["alertname"] == ALERT]


def gauge(server: Prometheus, expr: str) -> float | None:
    found = server.query(expr)
    return float(found[0]["value"][1]) if found else None


def test_the_failing_alert_fires_in_a_mail_outage_survives_a_restart_and_resolves_after(
    kafka_topics: KafkaTopics,
    send_messages: Any,
    mailbox: tuple[int, Mailbox, Callable[[], None]],
    tmp_path: Path,
) -> None:
    port, box, server_up = mailbox
    path = tmp_path / "officers.yaml"
    path.write_text(DIRECTORY.format(smtp=port, refused=REFUSED))
    before = [f"ADU-PROM-0000-{n:04d}" for n in range(4)]
    during = [f"ADU-PROM-0001-{n:04d}" for n in range(4)]
    cases = before + during
    send_messages(kafka_topics["cases.state"], [(c.encode(), snapshot()) for c in cases])

    def raise_alerts(ids: list[str]) -> None:
        events = [(c.encode(), escalation(c, level)) for c in ids for level in (1, 2)]
        send_messages(kafka_topics["cases.events"], events)

    notifier = NotifierProcess(kafka_topics, path, tmp_path)
    if not OUTAGE:
        notifier.env["ADUAN_NOTIFIER_FAILING_AFTER_SECONDS"] = f"{FAILING_AFTER:.0f}"
    server = notifier_prometheus(tmp_path / "prometheus", notifier.metrics_port)
    try:
        notifier.start()
        raised_at = time.monotonic()
        raise_alerts(before)
        server.wait("aduan_notifications_pending > 0", "pending deliveries in Prometheus", 60)
        assert gauge(server, "aduan_notifications_failing_after_seconds") == FAILING_AFTER
        server.firing(ALERT, "the failing alert during the outage", timeout=FAILING_AFTER + 90)
        to_fire = time.monotonic() - raised_at
        [first] = active(server)

        notifier.kill()  # SIGKILL mid-outage; alerts raised while it is dead
        raise_alerts(during)
        notifier.start()
        wait_for(lambda: (scrape(notifier.metrics_port).get(("aduan_notifications_pending", ()))
                          or 0) >= 3 * len(cases), 60, "every delivery pending")  # fmt: skip
        server.wait(f"aduan_notifications_pending >= {3 * len(cases)}", "the restarted gauge", 60)
        [after_restart] = active(server)
        wait_for(lambda: time.monotonic() - raised_at >= OUTAGE, OUTAGE + 1, "the outage's end", 1)
        outage = time.monotonic() - raised_at
        assert box.messages == []

        server_up()
        up_at = time.monotonic()
        wait_for(lambda: len(box.messages) >= 2 * len(cases), 60, "every alert delivered")
        delivered_in = time.monotonic() - up_at
        server.wait("max(aduan_notifications_pending) == 0", "nothing pending in Prometheus", 60)
        wait_for(lambda: not active(server), 60, "the failing alert to resolve")
        resolved_in = time.monotonic() - up_at
        time.sleep(2)  # a late duplicate would arrive now
        metrics = scrape(notifier.metrics_port)
    finally:
        if notifier.process is not None and notifier.process.poll() is None:
            notifier.kill(signal.SIGTERM)
        server.stop()

    delivered = Counter((to[0], str(m["subject"]).rsplit(" ", 1)[1]) for _, to, m in box.messages)
    dead = read_from(kafka_topics.bootstrap, kafka_topics["deadletter"], len(cases), timeout=20)
    counted = metrics[
        (
            "aduan_messages_deadlettered_total",
            (("reason", "invalid_target"), ("source", "notifier")),
        )
    ]
    print(
        f"failing alert (threshold {FAILING_AFTER:.0f} s), SMTP down {outage:.0f} s with a "
        f"SIGKILL: firing {to_fire:.1f} s after the first alerts were raised; still firing after "
        f"the restart "
        f"(activeAt {first['activeAt']} -> {after_restart['activeAt']}); mail back: "
        f"{len(box.messages)} delivered in {delivered_in:.1f} s, alert resolved in "
        f"{resolved_in:.1f} s; duplicates {sum(n - 1 for n in delivered.values())}, "
        f"dead-lettered {len(dead)} (counted {counted:.0f})"
    )
    assert to_fire < outage
    assert after_restart["state"] == "firing"
    assert after_restart["activeAt"] == first["activeAt"]  # not resolved and fired anew
    assert datetime.fromisoformat(first["activeAt"].replace("Z", "+00:00")).tzinfo is not None
    expected = {("kadis.dinkes@malukutengahkab.go.id", c) for c in cases} | {
        ("sekda@malukutengahkab.go.id", c) for c in cases
    }
    assert set(delivered) == expected
    assert max(delivered.values()) == 1
    assert {dict(r.headers)["aduan.error.reason"].decode() for r in dead} == {"invalid_target"}
    # Every refused target is set aside and counted; a target whose dead letter was written just
    # before the SIGKILL (its receipt not yet) is set aside again by the restarted notifier
    # (dead letters are at least once: seen once in CI, 10 counted for 8 cases).
    assert counted >= len(cases)
