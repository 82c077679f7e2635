"""Every alert rule of deploy/prometheus/rules/alerts.yml fires on a real Prometheus, unchanged:
production thresholds, production ``for:``, production recording rules.

How each rule is made to fire honestly, in test time:

* **The data is a history, not a threshold rewrite.** `scenario` gives every series one function
  of time (tests/e2e/metrics_history.py): the past is backfilled into the server's TSDB with
  ``promtool tsdb create-blocks-from openmetrics`` (8.5 hours every 30 s; the resolved-case counters
  30 days every 6 h), and the present is served by real HTTP /metrics endpoints (a worker's and a
  notifier's, with aduan's metric families) that the server scrapes, as one continuous series.
  Quiet neighbours (PUPR's 2 breaches an hour, DINKES's 3 overdue cases and 90 % compliance, each
  source's dead letters alone) must *not* fire: the thresholds are really applied.
* **Long windows** (``[1h]``, ``offset 6h``, ``[30d]``) see the backfilled past. The 30-day
  compliance of DIKBUD is red (44 %) only because the server keeps README's retention (31 days,
  read from README): its last 15 days alone are yellow (75 %), which the test checks too.
* **Recording rules' history** (the compliance alert reads ``aduan:sla_compliance:percent30d``):
  ``promtool tsdb create-blocks-from rules`` evaluates the production recording rules over the
  last 2 hours against the backfilled data, one dependency layer at a time.
* **``for:`` longer than the test** (5 m to 1 h): Prometheus restores each alert's pending time
  after a restart from its ``ALERTS_FOR_STATE`` series. The test computes those series the way
  Prometheus would have written them while running: for each rule, a range query of its
  production expression over the last 2 hours at the production evaluation interval (15 s) gives
  each label set's start of the unbroken run that reaches the present (a condition that did not
  hold all along gets a late start and cannot fire in time). The final server then starts with
  the production rule files, and fires only what its own evaluation finds true now and pending
  long enough. ``--rules.alert.for-grace-period=1s`` because the default (10 m) skips restoring
  rules whose ``for:`` is shorter than 10 minutes.
* **Rules on ``up``** (worker, gateway, notifier down: ``for:`` 1 or 2 minutes) are waited for in
  real time: their targets are ports nobody listens on.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.harness import free_port, wait_for
from tests.e2e.metrics_history import (
    DAY,
    HOUR,
    MINUTE,
    MetricsEndpoint,
    Series,
    steps_every,
    write_openmetrics,
)
from tests.e2e.prometheus_server import (
    Prometheus,
    production_rules,
    readme_retention,
)
from tests.tools import require_tool

EVALUATION = 15.0  # production evaluation_interval (deploy/prometheus/prometheus.yml)
WINDOW = 2 * HOUR  # how far back the recorded and the pending state are computed
MONTH_START = -30 * DAY - 3 * HOUR


def _rate_change(old_per_hour: float, new_per_hour: float, switch: float) -> Any:
    """A counter counting ``old_per_hour`` until ``switch``, then ``new_per_hour``."""

    def value(t: float) -> float:
        before = (min(t, switch) - MONTH_START) / HOUR * old_per_hour
        return float(int(before + max(0.0, t - switch) / HOUR * new_per_hour))

    return value


def _compliance(
    agency: str, within: tuple[float, float], late: tuple[float, float]
) -> list[Series]:
    return [
        Series(
            "aduan_cases_resolved_total",
            "counter",
            {"agency": agency, "outcome": outcome},
            _rate_change(*rates, switch=-15 * DAY),
            start=MONTH_START,
            step=6 * HOUR,
        )
        for outcome, rates in (("within_sla", within), ("late", late))
    ]


def _offsets(topic: str, end: Any, committed: Any) -> list[Series]:
    labels = {"topic": topic, "partition": "0"}
    return [
        Series("aduan_faust_topic_partition_end_offset", "gauge", labels, end),
        Series("aduan_faust_topic_partition_offset_commited", "gauge", labels, committed),
    ]


def worker_series() -> list[Series]:
    breaches = "aduan_sla_breaches_total"
    return [
        # 6 DINKES breaches in the last 40 minutes (> 3 an hour); PUPR's 2 stay quiet.
        Series(breaches, "counter", {"stage": "follow_up_plan", "agency": "DINKES"},
               steps_every(8 * MINUTE, since=-40 * MINUTE)),
        Series(breaches, "counter", {"stage": "resolution", "agency": "PUPR"},
               steps_every(30 * MINUTE, since=-50 * MINUTE)),
        # PUPR's backlog: 40 open, one more every 10 minutes for 7 hours (+36 in 6 h > 20).
        Series("aduan_cases_open", "gauge", {"state": "referred", "agency": "PUPR"},
               lambda t: 40.0 + max(0, int((t + 7 * HOUR) // (10 * MINUTE)))),
        Series("aduan_cases_open", "gauge", {"state": "referred", "agency": "DINKES"},
               lambda t: 12.0),
        # 13 DIKBUD cases overdue for 25 minutes (> 10 for 15 m); DINKES's 3 stay quiet.
        Series("aduan_cases_overdue", "gauge", {"stage": "resolution", "agency": "DIKBUD"},
               lambda t: 13.0 if t >= -25 * MINUTE else 4.0),
        Series("aduan_cases_overdue", "gauge", {"stage": "resolution", "agency": "DINKES"},
               lambda t: 3.0),
        # DIKBUD: a bad fortnight 30-15 days ago (1 on time, 4 late an hour), then 3 and 1.
        *_compliance("DIKBUD", within=(1, 3), late=(4, 1)),
        *_compliance("DINKES", within=(9, 9), late=(1, 1)),
        # The engine's dead letters: one every 80 s (7.5 in 10 minutes, not > 10 alone).
        Series("aduan_messages_deadlettered_total", "counter", {"reason": "not_json"},
               steps_every(80, since=-40 * MINUTE)),
        # cases.commands stalls 40 minutes ago: 100 new messages a minute, none committed.
        *_offsets("cases.commands", lambda t: 5000.0 + max(0.0, t + 40 * MINUTE) / MINUTE * 100,
                  lambda t: 5000.0),
        *_offsets("complaints.intake", lambda t: 300.0, lambda t: 300.0),
    ]  # fmt: skip


def notifier_series() -> list[Series]:
    """The gauges the notifier will export (issue 14) and its dead letters in the engine's counter
    with a label naming the source: the mail server has been down for 30 minutes."""
    return [
        Series("aduan_notifications_pending", "gauge", {},
               lambda t: 4.0 if t >= -30 * MINUTE else 0.0),
        Series("aduan_notifications_oldest_pending_seconds", "gauge", {},
               lambda t: max(0.0, t + 30 * MINUTE)),
        Series("aduan_messages_deadlettered_total", "counter",
               {"source": "notifier", "reason": "invalid_target"},
               steps_every(80, since=-40 * MINUTE)),
    ]  # fmt: skip


def promtool(*args: str) -> None:
    done = subprocess.run(
        [require_tool("promtool"), *args], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def backfill(series: list[Series], t0: float, data: Path, name: str) -> None:
    source = data.parent / f"{name}.om"
    write_openmetrics(source, series, t0)
    promtool("tsdb", "create-blocks-from", "openmetrics", "-q", str(source), str(data))


def recording_layers() -> list[list[dict[str, Any]]]:
    """The production recording rules in dependency layers (a rule reading a recorded series
    comes one layer after it): the rule backfiller reads only what is already stored."""
    rules = [r for g in yaml.safe_load(production_rules("recording.yml"))["groups"]
             for r in g["rules"]]  # fmt: skip
    layer: list[int] = []
    for i, rule in enumerate(rules):
        reads = [layer[j] for j in range(i) if rules[j]["record"] in rule["expr"]]
        layer.append(1 + max(reads, default=0))
    return [
        [r for r, n in zip(rules, layer, strict=True) if n == k] for k in range(1, max(layer) + 1)
    ]


def history_server(workdir: Path, data: Path) -> Prometheus:
    """A server over the stored history only: no scraping, no rules (it writes no alert state)."""
    flags = (f"--storage.tsdb.retention.time={readme_retention()}",)
    config = {"global": {"evaluation_interval": f"{EVALUATION:.0f}s"}}
    return Prometheus(workdir, free_port(), config, data=data, flags=flags)


def backfill_recording_rules(workdir: Path, data: Path, t0: float) -> None:
    for n, rules in enumerate(recording_layers(), start=1):
        layer = workdir / f"recording-layer-{n}.yml"
        layer.write_text(yaml.safe_dump({"groups": [{"name": f"layer-{n}", "rules": rules}]}))
        blocks = workdir / f"recorded-{n}"
        server = history_server(workdir / "history", data)
        try:
            promtool(
                *("tsdb", "create-blocks-from", "rules", "-q", f"--url={server.url}"),
                *(f"--start={int(t0 - WINDOW)}", f"--end={int(t0)}"),
                *(f"--eval-interval={EVALUATION:.0f}s", f"--output-dir={blocks}", str(layer)),
            )
        finally:
            server.stop()
        for block in blocks.iterdir():
            shutil.move(str(block), data / block.name)


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(production_rules("alerts.yml"))["groups"]
    return [r for g in groups for r in g["rules"]]


def seconds(duration: str) -> float:
    units = {"s": 1, "m": MINUTE, "h": HOUR}
    return float(duration[:-1]) * units[duration[-1]]


def pending_since(
    server: Prometheus, rule: dict[str, Any], t0: float
) -> list[tuple[dict[str, str], float]]:
    """(alert labels, start of the unbroken run of the rule's condition that reaches t0)."""
    found = []
    for result in server.query_range(rule["expr"], t0 - WINDOW, t0, EVALUATION):
        times = [float(ts) for ts, _ in result["values"]]
        if times[-1] != t0:
            continue  # not true at the present: not pending
        start = len(times) - 1
        while start > 0 and times[start] - times[start - 1] == EVALUATION:
            start -= 1
        labels = {k: v for k, v in result["metric"].items() if k != "__name__"}
        found.append(
            ({**labels, **rule.get("labels", {}), "alertname": rule["alert"]}, times[start])
        )
    return found


def backfill_pending_state(workdir: Path, data: Path, t0: float) -> dict[str, float]:
    """ALERTS_FOR_STATE (value: when the alert became pending) for every rule with a ``for:``
    that history can satisfy; returns alertname -> minutes pending at t0, for the report."""
    server = history_server(workdir / "history", data)
    try:
        states = [
            (labels, since)
            for rule in alert_rules()
            if "for" in rule and "up{" not in rule["expr"]
            for labels, since in pending_since(server, rule, t0)
        ]
    finally:
        server.stop()
    written = time.time()
    series = [
        Series("ALERTS_FOR_STATE", "gauge", labels, lambda t, since=since: since,
               start=max(since - written, -50 * MINUTE), step=MINUTE)
        for labels, since in states
    ]  # fmt: skip
    backfill(series, written, data, "alerts_for_state")
    return {labels["alertname"]: (t0 - since) / MINUTE for labels, since in states}


EXPECTED = {
    ("AduanSlaBreaches", "DINKES"),
    ("AduanBacklogGrowing", "PUPR"),
    ("AduanOverdueCases", "DIKBUD"),
    ("AduanComplianceRed", "DIKBUD"),
    ("AduanDeadletterRate", ""),
    ("AduanConsumerLag", "cases.commands"),
    ("AduanWorkerDown", "dead-worker"),
    ("AduanGatewayDown", "dead-gateway"),
    ("AduanNotificationsFailing", ""),
    ("AduanNotifierDown", "dead-notifier"),
}


def firing(server: Prometheus, dead: dict[str, str]) -> set[tuple[str, str]]:
    """(alertname, what it is about) of every firing alert; a dead target by its role."""
    names = {instance: role for role, instance in dead.items()}
    found = set()
    for alert in server.query('ALERTS{alertstate="firing"}'):
        labels = alert["metric"]
        about = labels.get("agency") or labels.get("topic") or labels.get("instance", "")
        found.add((labels["alertname"], names.get(about, about)))
    return found


def live_server(workdir: Path, data: Path, targets: dict[str, list[str]]) -> Prometheus:
    """The server under test: production rule files unchanged, README's retention."""
    config = {
        "global": {"scrape_interval": "5s", "evaluation_interval": "5s"},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": instances}]}
            for job, instances in targets.items()
        ],
    }
    rules = {name: production_rules(name) for name in ("recording.yml", "alerts.yml")}
    flags = (
        f"--storage.tsdb.retention.time={readme_retention()}",
        "--rules.alert.for-grace-period=1s",
    )
    return Prometheus(workdir / "live", free_port(), config, rules, data, flags)


def test_every_alert_rule_fires_with_production_thresholds_and_for(tmp_path: Path) -> None:
    assert {name for name, _ in EXPECTED} == {r["alert"] for r in alert_rules()}, "a rule untested"
    started = time.monotonic()
    t0 = float(int(time.time()))
    worker = MetricsEndpoint("aduan-worker", t0)
    notifier = MetricsEndpoint("aduan-notifier", t0)
    dead = {
        f"dead-{role}": f"127.0.0.1:{free_port()}" for role in ("worker", "gateway", "notifier")
    }
    data = tmp_path / "data"
    data.mkdir()
    server = None
    try:
        recent = [*worker.add(*worker_series()), *notifier.add(*notifier_series())]
        backfill([s for s in recent if s.step < HOUR], t0, data, "recent")
        backfill([s for s in recent if s.step >= HOUR], t0, data, "month")
        backfill_recording_rules(tmp_path, data, t0)
        pending = backfill_pending_state(tmp_path, data, t0)
        targets = {
            "aduan-worker": [worker.instance, dead["dead-worker"]],
            "aduan-gateway": [dead["dead-gateway"]],
            "aduan-notifier": [notifier.instance, dead["dead-notifier"]],
        }
        server = live_server(tmp_path, data, targets)
        seen: set[tuple[str, str]] = set()

        def all_fired() -> bool:
            seen.update(firing(server, dead))
            return seen >= EXPECTED

        try:
            wait_for(all_fired, 170, "every alert rule to fire", interval=2)
        finally:
            print(f"pending at t0 (minutes): {pending}; fired: {sorted(seen)}")
        assert seen == EXPECTED  # the quiet neighbours stayed quiet
        assert firing(server, dead) >= EXPECTED  # and all fire at once, now
        # Only more than 15 days of history makes DIKBUD red: the last 15 days alone are yellow.
        fortnight = server.query(
            'sum(increase(aduan_cases_resolved_total{agency="DIKBUD",outcome="within_sla"}[15d]))'
            ' / sum(increase(aduan_cases_resolved_total{agency="DIKBUD"}[15d]))'
        )
        assert float(fortnight[0]["value"][1]) > 0.51
        # The notifier's gauges and dead letters were scraped from its endpoint.
        assert server.query(f'aduan_notifications_pending{{instance="{notifier.instance}"}} > 0')
    finally:
        if server is not None:
            server.stop()
        worker.close()
        notifier.close()
    print(f"every alert rule fired in {time.monotonic() - started:.1f}s")
