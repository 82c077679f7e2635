"""A real Prometheus server scraping a real engine worker through a flow on the simulated clock.

The test starts Debian's ``prometheus`` on a free port with a generated config (1 s scrape and
evaluation) that loads deploy/prometheus/rules/recording.yml and alerts.yml *unchanged*, scraping
the worker and a small real /metrics endpoint with the notifier's gauges (idle: nothing pending).
Then:

* every PromQL expression of the dashboards and the rule files parses and returns data;
* once the worker is stopped, ``AduanWorkerDown`` fires after its production ``for: 1m``;
* after a worker restart, ``aduan_cases_open`` equals the open cases on ``cases.state``.

That every alert rule fires with its production threshold and ``for:`` is proven in
tests/e2e/test_alerts_prometheus.py (a handful of events cannot make 10 overdue cases).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e import builders as b
from tests.e2e.conftest import MONDAY_0900_WIT
from tests.e2e.harness import REPO, EngineHarness, EventLog, Worker, free_port, wait_for
from tests.e2e.metrics_history import MetricsEndpoint, Series
from tests.e2e.prometheus_server import PROMETHEUS_DIR, Prometheus, production_rules
from tests.e2e.test_engine_flows import has, send, wit
from workflow.case import Case

AGENCY = "DINKES"


class EngineScrape(Prometheus):
    """The server of this test: production rules, the workers given by `set_workers` (file
    service discovery), a gateway nobody serves and an idle notifier endpoint."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.targets = workdir / "workers.json"
        self.set_workers([])
        self.notifier = MetricsEndpoint("aduan-notifier", time.time())
        self.notifier.add(
            Series("aduan_notifications_pending", "gauge", {}, lambda t: 0.0),
            Series("aduan_notifications_oldest_pending_seconds", "gauge", {}, lambda t: 0.0),
        )
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "aduan-worker",
                    "file_sd_configs": [{"files": [str(self.targets)], "refresh_interval": "1s"}],
                },
                # Nothing listens there: the gateway is "down".
                {
                    "job_name": "aduan-gateway",
                    "static_configs": [{"targets": [f"127.0.0.1:{free_port()}"]}],
                },
                {
                    "job_name": "aduan-notifier",
                    "static_configs": [{"targets": [self.notifier.instance]}],
                },
            ],
        }
        rules = {name: production_rules(name) for name in ("recording.yml", "alerts.yml")}
        super().__init__(workdir, free_port(), config, rules)

    def set_workers(self, workers: list[Worker]) -> None:
        body = [{"targets": [f"127.0.0.1:{w.port}" for w in workers], "labels": {}}]
        staging = self.targets.with_suffix(".tmp")
        staging.write_text(json.dumps(body))
        staging.replace(self.targets)

    def stop(self) -> None:
        super().stop()
        self.notifier.close()


def rule_file(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROMETHEUS_DIR / "rules" / name).read_text())
    return loaded


def dashboard_queries() -> Iterator[tuple[str, str]]:
    path = REPO / "deploy" / "grafana" / "dashboards.py"
    spec = importlib.util.spec_from_file_location("aduan_dashboards_e2e", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    for name in module.DASHBOARDS:
        model = json.loads((path.parent / "dashboards" / name).read_text())
        for title, expr in module.queries(model):
            expr = expr.replace("$__rate_interval", "1m").replace("$agency", AGENCY)
            yield f"{name}: {title}", expr


def rule_queries() -> Iterator[tuple[str, str, str]]:
    """(where, expression, what must return data): a recording rule's recorded series (the
    zone rules each filter, so only together do they return data), an alert's compared value."""
    for name in ("recording.yml", "alerts.yml"):
        for group in rule_file(name)["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    yield f"{name}: {rule['record']}", rule["expr"], rule["record"]
                else:
                    yield f"{name}: {rule['alert']}", rule["expr"], without_condition(rule["expr"])


def without_condition(expr: str) -> str:
    """The value an alert compares (``X > 3`` -> ``X``; ``X == 0 or absent(X)`` -> ``X``;
    ``X > (threshold expression)`` -> ``X``), with a 6 h offset shortened to what this short test
    has seen."""
    expr = expr.strip().split(" or absent(")[0]
    expr = re.split(r"\s(?:==|!=|>=|<=|>|<)\s\(", expr)[0]
    expr = re.sub(r"\s*(==|!=|>=|<=|>|<)\s*[0-9.]+\s*$", "", expr)
    return re.sub(r"offset \d+[smhd]", "offset 1s", expr)


def open_cases_on_state_topic(states: EventLog) -> Counter[tuple[str, str]]:
    states.poll()
    latest = {r.key: r.value for r in states.records if r.value is not None}
    counts: Counter[tuple[str, str]] = Counter()
    for value in latest.values():
        case = Case.model_validate_json(value)
        if not case.is_final:
            counts[case.state.value, case.agency or case.triage_agency] += 1
    return counts


def open_cases_in_prometheus(prom: EngineScrape, worker: Worker) -> Counter[tuple[str, str]]:
    instance = f"127.0.0.1:{worker.port}"
    found = prom.query(f'sum by (state, agency) (aduan_cases_open{{instance="{instance}"}}) > 0')
    return Counter(
        {(s["metric"]["state"], s["metric"]["agency"]): int(s["value"][1]) for s in found}
    )


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[EngineScrape]:
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    prom = EngineScrape(workdir)
    try:
        yield prom
    finally:
        prom.stop()


def test_dashboards_rules_and_alerts_against_a_real_prometheus(
    engine: EngineHarness, prometheus: EngineScrape
) -> None:
    started = time.monotonic()
    worker = engine.start_worker("w1")
    prometheus.set_workers([worker])
    # The counters must be scraped at 0 before anything happens, so increase() sees the events.
    prometheus.wait('aduan_cases_resolved_total{agency="DINKES"}', "the first scrape")

    t = MONDAY_0900_WIT
    happy = b.complaint("prom-happy", t)
    silent = b.complaint("prom-silent", t)
    waiting = b.complaint("prom-waiting", t)
    h, s = happy.derived_case_id, silent.derived_case_id
    send(engine, happy, b.formal(h, t), b.material(h, t), b.accept(h, t), b.plan(h, t))
    send(engine, b.resolve(h, t), b.confirm(h, t), silent, b.formal(s, t), b.material(s, t))
    send(engine, waiting)
    engine.publish("complaints.intake", b"this is not json", b"prom-bad")
    events = engine.reader("cases.events")
    events.wait(has("ResolutionConfirmed"), 30, "the happy case closed")
    events.wait(has("CaseReferred"), 30, "the silent case referred")

    engine.set_clock(wit("2026-12-10T09:00:00"))
    events.wait(has("SlaWarningRaised", stage="follow_up_plan", threshold=0.5), 15, "50%")
    engine.set_clock(wit("2026-12-14T16:00:00"))
    events.wait(has("CaseEscalated", level=1), 15, "the escalation after the breach")

    # The forced breach is counted (one breach is not above the alert's 3 an hour).
    prometheus.wait(
        f'increase(aduan_sla_breaches_total{{agency="{AGENCY}"}}[1h]) > 0', "the breach counted"
    )
    prometheus.wait("aduan:sla_compliance:percent30d", "a compliance figure")

    # Every expression parses and returns data.
    empty = []
    for where, expr in dashboard_queries():
        metric = re.fullmatch(r"label_values\((\w+), (\w+)\)", expr)
        if metric:
            found = prometheus.query(metric[1])
            assert any(s["metric"].get(metric[2]) == AGENCY for s in found), where
        elif not prometheus.query(expr):
            empty.append((where, expr))
    for where, expr, data in rule_queries():
        prometheus.query(expr)  # parses and evaluates
        if not prometheus.query(data):
            empty.append((where, data))
    assert not empty, f"expressions without data: {empty}"
    compliance = prometheus.query(f'aduan:sla_compliance:percent30d{{agency="{AGENCY}"}}')
    assert float(compliance[0]["value"][1]) == 100.0  # the one resolved case was on time
    zone = prometheus.query(f'aduan:sla_compliance:zone{{agency="{AGENCY}"}}')
    assert zone[0]["metric"]["zone"] == "green"

    # Stop the worker: it is reported down, after the rule's production `for: 1m`.
    worker.stop()
    prometheus.firing(
        "AduanWorkerDown", "the worker-down alert", 120, instance=f"127.0.0.1:{worker.port}"
    )

    # A new worker recovers the table; its gauge equals the open cases on cases.state.
    restarted = engine.start_worker("w2")
    prometheus.set_workers([restarted])
    states = engine.reader("cases.state")
    expected = wait_for(
        lambda: (c := open_cases_on_state_topic(states)) and sum(c.values()) == 2 and c,
        30,
        "two open cases on cases.state",
    )
    assert expected == {("referred", AGENCY): 1, ("received", "SETDA-TRIASE"): 1}
    wait_for(
        lambda: open_cases_in_prometheus(prometheus, restarted) == expected,
        30,
        f"aduan_cases_open of the restarted worker to equal {dict(expected)}",
        interval=0.5,
    )
    print(f"real-Prometheus flow took {time.monotonic() - started:.1f}s")
