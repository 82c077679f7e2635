"""Generate the aduan Grafana dashboards from code, with Grafana's own typed builders.

    python deploy/grafana/dashboards.py          # rewrite deploy/grafana/dashboards/*.json
    python deploy/grafana/dashboards.py --check  # exit 1 if the committed JSON is stale

The dashboards are built with ``grafana-foundation-sdk`` (Grafana Labs' builders, generated from
Grafana's own schemas; pinned in constraints.txt to the Grafana 11.6 schema), so a panel option
or field that Grafana does not know is a type error here rather than a silently ignored key.
Every panel queries the Prometheus data source chosen in the dashboard's ``datasource``
variable, so the JSON imports into any Grafana (Dashboards -> New -> Import) and is also picked
up by the file provisioning in ``provisioning/``. `queries()` lists every PromQL expression; the
end-to-end test runs each against a real Prometheus.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import bargauge, prometheus, stat, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as board
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardLinkType,
    DataSourceRef,
    FieldColorModeId,
    Threshold,
    ThresholdsMode,
    VariableHide,
    VariableRefresh,
    VariableSort,
)

OUT = Path(__file__).resolve().parent / "dashboards"
DS = DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"

Steps = Sequence[tuple[str, float | None]]
# Ombudsman RI compliance zones (DOMAIN.md): red 0-50.99, yellow 51-80.99, green 81-100.
ZONES: Steps = (("red", None), ("yellow", 51), ("green", 81))
PLAIN: Steps = (("blue", None),)
OVERDUE: Steps = (("green", None), ("orange", 1), ("red", 10))
PanelBuilder = timeseries.Panel | bargauge.Panel | stat.Panel
Query = cogbuilder.Builder[cogvariants.Dataquery]


def target(expr: str, legend: str, ref: str = "A", *, instant: bool = False) -> Query:
    query = prometheus.Dataquery().datasource(DS).expr(expr).legend_format(legend).ref_id(ref)
    return query.instant() if instant else query.range()


def thresholds(steps: Steps) -> board.ThresholdsConfig:
    return (
        board.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=color) for color, value in steps])
    )


def bars(built: bargauge.Panel) -> bargauge.Panel:
    reduce = common_builders.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)
    return (
        built.orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .show_unfilled(True)
        .reduce_options(reduce)
    )


class Panels:
    """Numbers the panels of one dashboard; Grafana's builder places them on the grid."""

    def __init__(self) -> None:
        self.next_id = 0

    def __call__(
        self,
        kind: str,
        title: str,
        targets: list[Query],
        *,
        width: int = 8,
        height: int = 8,
        unit: str = "short",
        steps: Steps = PLAIN,
        description: str = "",
        minmax: tuple[float, float] | None = None,
    ) -> PanelBuilder:
        self.next_id += 1
        built: PanelBuilder
        if kind == "bargauge":
            built = bars(bargauge.Panel())
        elif kind == "stat":
            built = stat.Panel()
        else:
            built = timeseries.Panel()
        built.id(self.next_id).title(title).description(description).datasource(DS)
        built.span(width).height(height).targets(targets)
        built.unit(unit).thresholds(thresholds(steps))
        if steps is not PLAIN:
            built.color_scheme(board.FieldColor().mode(FieldColorModeId.THRESHOLDS))
        if minmax is not None:
            built.min(minmax[0]).max(minmax[1])
        return built


def dashboard(
    uid: str, title: str, panels: list[PanelBuilder], variables: list[board.QueryVariable]
) -> dict[str, Any]:
    datasource = (
        board.DatasourceVariable("datasource")
        .label("Prometheus")
        .type("prometheus")
        .hide(VariableHide.DONT_HIDE)
    )
    built = (
        board.Dashboard(title)
        .uid(uid)
        .tags(["aduan"])
        .timezone("browser")
        .editable()
        .version(1)
        .refresh("30s")
        .time("now-24h", "now")
        .variables([datasource, *variables])
        .link(
            board.DashboardLink("aduan")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(["aduan"])
            .as_dropdown(True)
        )
    )
    for item in panels:
        built.with_panel(item)
    model: dict[str, Any] = json.loads(json.dumps(built.build(), cls=JSONEncoder))
    return model


def overview() -> dict[str, Any]:
    panel = Panels()
    panels = [
        panel("timeseries", "Intake per channel", [target(
            f"sum by (channel) (rate(aduan_complaints_received_total[{RATE}]))", "{{channel}}")],
            unit="reqps", description="Complaints that opened a case, per second, by channel."),
        panel("bargauge", "Open cases per stage", [target(
            "sum by (state) (aduan_cases_open)", "{{state}}", instant=True)]),
        panel("bargauge", "Overdue cases per agency", [target(
            "sum by (agency) (aduan_cases_overdue)", "{{agency}}", instant=True)],
            steps=OVERDUE),
        panel("bargauge", "SLA compliance per agency (30 days)", [target(
            "aduan:sla_compliance:percent30d", "{{agency}}", instant=True)],
            unit="percent", steps=ZONES, minmax=(0, 100), width=12,
            description="Share of resolved cases with no breach and no escalation. "
            "Zones (Ombudsman RI): red < 51, yellow 51-80.99, green >= 81."),
        panel("timeseries", "SLA breaches and escalations", [
            target(f"sum by (agency) (increase(aduan_sla_breaches_total[{RATE}]))",
                   "breaches {{agency}}"),
            target(f"sum by (level) (increase(aduan_escalations_total[{RATE}]))",
                   "escalations level {{level}}", "B")], width=12),
        panel("timeseries", "Processing latency (occurred_at -> applied)", [
            target("histogram_quantile(0.5, sum by (le) "
                   f"(rate(aduan_event_processing_seconds_bucket[{RATE}])))", "p50"),
            target("histogram_quantile(0.99, sum by (le) "
                   f"(rate(aduan_event_processing_seconds_bucket[{RATE}])))", "p99", "B")],
            unit="s"),
        panel("timeseries", "Consumer lag (records)", [target(
            "aduan:consumer_lag:by_topic", "{{topic}}")]),
        panel("timeseries", "Dead letters per reason", [target(
            f"sum by (reason) (rate(aduan_messages_deadlettered_total[{RATE}]))", "{{reason}}")],
            unit="reqps"),
        panel("timeseries", "Working time per stage (p90)", [target(
            "histogram_quantile(0.9, sum by (le, stage) "
            f"(rate(aduan_stage_duration_seconds_bucket[{RATE}])))", "{{stage}}")],
            unit="s", width=12),
        panel("stat", "Targets up", [target(
            'sum by (job) (up{job=~"aduan-.*"})', "{{job}}", instant=True)], width=12),
        panel("bargauge", "Open mass-complaint incidents per priority", [
            target("max by (priority) (aduan_incidents_open)", "{{priority}}", instant=True),
            target("sum by (priority) (aduan_incident_cases_open)", "cases {{priority}}", "B",
                   instant=True)], width=12,
            description="Incidents (at least; an incident split across workers counts once "
            "per worker, max shown) and their open linked cases, by the incident's priority."),
    ]  # fmt: skip
    return dashboard("aduan-overview", "aduan / Operator overview", panels, [])


def agency() -> dict[str, Any]:
    panel = Panels()
    sel = 'agency="$agency"'
    variable = (
        board.QueryVariable("agency")
        .label("Agency")
        .datasource(DS)
        .query({"query": "label_values(aduan_cases_open, agency)", "refId": "agency"})
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .hide(VariableHide.DONT_HIDE)
    )
    panels = [
        panel("stat", "SLA compliance (30 days)", [target(
            f"aduan:sla_compliance:percent30d{{{sel}}}", "{{agency}}", instant=True)],
            unit="percent", steps=ZONES, minmax=(0, 100), width=6),
        panel("stat", "Open cases", [target(
            f"sum(aduan_cases_open{{{sel}}})", "open", instant=True)], width=6),
        panel("stat", "Overdue cases", [target(
            f"sum(aduan_cases_overdue{{{sel}}})", "overdue", instant=True)],
            steps=OVERDUE, width=6),
        panel("stat", "Resolved (30 days) within SLA / late", [target(
            f"sum by (outcome) (aduan:cases_resolved:increase30d{{{sel}}})", "{{outcome}}",
            instant=True)], width=6),
        panel("timeseries", "Open cases by state", [target(
            f"sum by (state) (aduan_cases_open{{{sel}}})", "{{state}}")], width=12),
        panel("bargauge", "Overdue by stage", [target(
            f"sum by (stage) (aduan_cases_overdue{{{sel}}})", "{{stage}}", instant=True)],
            steps=OVERDUE, width=12),
        panel("timeseries", "SLA warnings by stage and threshold", [target(
            f"sum by (stage, threshold) (increase(aduan_sla_warnings_total{{{sel}}}[{RATE}]))",
            "{{stage}} {{threshold}}")]),
        panel("timeseries", "SLA breaches by stage", [target(
            f"sum by (stage) (increase(aduan_sla_breaches_total{{{sel}}}[{RATE}]))",
            "{{stage}}")]),
        panel("timeseries", "Escalations by level", [target(
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
            query = item["query"]
            yield (
                f"variable {item['name']}",
                str(query["query"] if isinstance(query, dict) else query),
            )
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
