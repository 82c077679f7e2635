"""Generate the aduan Grafana dashboards (JSON model, schemaVersion 39) from code.

    python deploy/grafana/dashboards.py          # rewrite deploy/grafana/dashboards/*.json
    python deploy/grafana/dashboards.py --check  # exit 1 if the committed JSON is stale

Standard library only. Every panel queries the Prometheus data source chosen in the dashboard's
``datasource`` variable, so the JSON imports into any Grafana (Dashboards -> New -> Import) and is
also picked up by the file provisioning in ``provisioning/``. `queries()` lists every PromQL
expression; the end-to-end test runs each against a real Prometheus.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"

# Ombudsman RI compliance zones (DOMAIN.md): red 0-50.99, yellow 51-80.99, green 81-100.
ZONES = {
    "mode": "absolute",
    "steps": [
        {"color": "red", "value": None},
        {"color": "yellow", "value": 51},
        {"color": "green", "value": 81},
    ],
}
PLAIN = {"mode": "absolute", "steps": [{"color": "blue", "value": None}]}
OVERDUE = {
    "mode": "absolute",
    "steps": [{"color": "green", "value": None}, {"color": "orange", "value": 1},
              {"color": "red", "value": 10}],
}  # fmt: skip


class Layout:
    """Places panels left to right on Grafana's 24-column grid."""

    def __init__(self) -> None:
        self.x = self.y = self.row_height = 0
        self.next_id = 1

    def place(self, width: int, height: int) -> dict[str, int]:
        if self.x + width > 24:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        pos = {"x": self.x, "y": self.y, "w": width, "h": height}
        self.x += width
        self.row_height = max(self.row_height, height)
        return pos

    def id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def target(expr: str, legend: str, ref: str = "A", *, instant: bool = False) -> dict[str, Any]:
    return {
        "datasource": DS,
        "expr": expr,
        "legendFormat": legend,
        "refId": ref,
        "range": not instant,
        "instant": instant,
    }


def panel(
    layout: Layout,
    kind: str,
    title: str,
    targets: list[dict[str, Any]],
    *,
    width: int = 8,
    height: int = 8,
    unit: str = "short",
    thresholds: dict[str, Any] = PLAIN,
    description: str = "",
    options: dict[str, Any] | None = None,
    minmax: tuple[float, float] | None = None,
) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": unit, "thresholds": thresholds}
    if thresholds is not PLAIN:
        defaults["color"] = {"mode": "thresholds"}
    if minmax is not None:
        defaults["min"], defaults["max"] = minmax
    return {
        "id": layout.id(),
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": layout.place(width, height),
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options or {},
    }


def bars(orientation: str = "horizontal") -> dict[str, Any]:
    return {
        "orientation": orientation,
        "displayMode": "gradient",
        "showUnfilled": True,
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
    }


def dashboard(
    uid: str, title: str, panels: list[dict[str, Any]], variables: list[dict[str, Any]]
) -> dict[str, Any]:
    datasource_var = {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
    }
    return {
        "uid": uid,
        "title": title,
        "tags": ["aduan"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {"list": [datasource_var, *variables]},
        "annotations": {"list": []},
        "links": [{"title": "aduan", "type": "dashboards", "tags": ["aduan"], "asDropdown": True}],
        "panels": panels,
    }


def overview() -> dict[str, Any]:
    lay = Layout()
    panels = [
        panel(lay, "timeseries", "Intake per channel", [target(
            f"sum by (channel) (rate(aduan_complaints_received_total[{RATE}]))", "{{channel}}")],
            unit="reqps", description="Complaints that opened a case, per second, by channel."),
        panel(lay, "bargauge", "Open cases per stage", [target(
            "sum by (state) (aduan_cases_open)", "{{state}}", instant=True)], options=bars()),
        panel(lay, "bargauge", "Overdue cases per agency", [target(
            "sum by (agency) (aduan_cases_overdue)", "{{agency}}", instant=True)],
            thresholds=OVERDUE, options=bars()),
        panel(lay, "bargauge", "SLA compliance per agency (30 days)", [target(
            "aduan:sla_compliance:percent30d", "{{agency}}", instant=True)],
            unit="percent", thresholds=ZONES, minmax=(0, 100), width=12, options=bars(),
            description="Share of resolved cases with no breach and no escalation. "
            "Zones (Ombudsman RI): red < 51, yellow 51-80.99, green >= 81."),
        panel(lay, "timeseries", "SLA breaches and escalations", [
            target(f"sum by (agency) (increase(aduan_sla_breaches_total[{RATE}]))",
                   "breaches {{agency}}"),
            target(f"sum by (level) (increase(aduan_escalations_total[{RATE}]))",
                   "escalations level {{level}}", "B")], width=12),
        panel(lay, "timeseries", "Processing latency (occurred_at -> applied)", [
            target("histogram_quantile(0.5, sum by (le) "
                   f"(rate(aduan_event_processing_seconds_bucket[{RATE}])))", "p50"),
            target("histogram_quantile(0.99, sum by (le) "
                   f"(rate(aduan_event_processing_seconds_bucket[{RATE}])))", "p99", "B")],
            unit="s"),
        panel(lay, "timeseries", "Consumer lag (records)", [target(
            "aduan:consumer_lag:by_topic", "{{topic}}")]),
        panel(lay, "timeseries", "Dead letters per reason", [target(
            f"sum by (reason) (rate(aduan_messages_deadlettered_total[{RATE}]))", "{{reason}}")],
            unit="reqps"),
        panel(lay, "timeseries", "Working time per stage (p90)", [target(
            "histogram_quantile(0.9, sum by (le, stage) "
            f"(rate(aduan_stage_duration_seconds_bucket[{RATE}])))", "{{stage}}")],
            unit="s", width=12),
        panel(lay, "stat", "Targets up", [target(
            'sum by (job) (up{job=~"aduan-.*"})', "{{job}}", instant=True)], width=12),
    ]  # fmt: skip
    return dashboard("aduan-overview", "aduan / Operator overview", panels, [])


def agency() -> dict[str, Any]:
    lay = Layout()
    sel = 'agency="$agency"'
    variable = {
        "name": "agency",
        "label": "Agency",
        "type": "query",
        "datasource": DS,
        "query": {"query": "label_values(aduan_cases_open, agency)", "refId": "agency"},
        "definition": "label_values(aduan_cases_open, agency)",
        "refresh": 2,
        "sort": 1,
        "current": {},
        "hide": 0,
    }
    panels = [
        panel(lay, "stat", "SLA compliance (30 days)", [target(
            f"aduan:sla_compliance:percent30d{{{sel}}}", "{{agency}}", instant=True)],
            unit="percent", thresholds=ZONES, minmax=(0, 100), width=6),
        panel(lay, "stat", "Open cases", [target(
            f"sum(aduan_cases_open{{{sel}}})", "open", instant=True)], width=6),
        panel(lay, "stat", "Overdue cases", [target(
            f"sum(aduan_cases_overdue{{{sel}}})", "overdue", instant=True)],
            thresholds=OVERDUE, width=6),
        panel(lay, "stat", "Resolved (30 days) within SLA / late", [target(
            f"sum by (outcome) (aduan:cases_resolved:increase30d{{{sel}}})", "{{outcome}}",
            instant=True)], width=6),
        panel(lay, "timeseries", "Open cases by state", [target(
            f"sum by (state) (aduan_cases_open{{{sel}}})", "{{state}}")], width=12),
        panel(lay, "bargauge", "Overdue by stage", [target(
            f"sum by (stage) (aduan_cases_overdue{{{sel}}})", "{{stage}}", instant=True)],
            thresholds=OVERDUE, width=12, options=bars()),
        panel(lay, "timeseries", "SLA warnings by stage and threshold", [target(
            f"sum by (stage, threshold) (increase(aduan_sla_warnings_total{{{sel}}}[{RATE}]))",
            "{{stage}} {{threshold}}")]),
        panel(lay, "timeseries", "SLA breaches by stage", [target(
            f"sum by (stage) (increase(aduan_sla_breaches_total{{{sel}}}[{RATE}]))",
            "{{stage}}")]),
        panel(lay, "timeseries", "Escalations by level", [target(
            f"sum by (level) (increase(aduan_escalations_total{{{sel}}}[{RATE}]))",
            "level {{level}}")]),
    ]  # fmt: skip
    return dashboard("aduan-agency", "aduan / Agency drill-down", panels, [variable])


DASHBOARDS = {"aduan-overview.json": overview, "aduan-agency.json": agency}


def render(build: Any) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def queries(model: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL) for every query of a dashboard model, variables included."""
    for item in model["templating"]["list"]:
        if item["type"] == "query":
            yield f"variable {item['name']}", str(item["definition"])
    for p in model["panels"]:
        for t in p["targets"]:
            yield p["title"], str(t["expr"])


def main(argv: list[str]) -> int:
    OUT.mkdir(exist_ok=True)
    stale = []
    for name, build in DASHBOARDS.items():
        path, text = OUT / name, render(build)
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale: {', '.join(stale)}; run python deploy/grafana/dashboards.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
