"""The Grafana dashboards: generated JSON is current, and every query uses the contract names."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import yaml

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
RECORDING = GRAFANA.parent / "prometheus" / "rules" / "recording.yml"


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aduan_dashboards", GRAFANA / "dashboards.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_committed_dashboards_are_what_the_generator_writes() -> None:
    assert generator().main(["--check"]) == 0, "run: python deploy/grafana/dashboards.py"


def test_every_query_uses_aduan_metrics_or_recorded_series() -> None:
    gen = generator()
    records = {
        r["record"] for g in yaml.safe_load(RECORDING.read_text())["groups"] for r in g["rules"]
    }
    for name in gen.DASHBOARDS:
        model = json.loads((GRAFANA / "dashboards" / name).read_text())
        for title, expr in gen.queries(model):
            names = set(re.findall(r"\b(aduan[:_][a-z0-9_:]+)", expr))
            assert names or expr.startswith("sum by (job) (up"), (title, expr)
            for metric in names:
                assert metric.startswith("aduan_") or metric in records, (title, metric)


def test_compliance_is_coloured_by_the_ombudsman_zones_and_agency_has_a_variable() -> None:
    gen = generator()
    overview, agency = gen.overview(), gen.agency()
    compliance = [
        p
        for model in (overview, agency)
        for p in model["panels"]
        if "compliance" in p["title"].lower()
    ]
    assert len(compliance) == 2
    for p in compliance:
        steps = p["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [(s["color"], s["value"]) for s in steps] == [
            ("red", None),
            ("yellow", 51),
            ("green", 81),
        ]
    assert [v["name"] for v in agency["templating"]["list"]] == ["datasource", "agency"]
    for title, expr in gen.queries(agency):
        if not title.startswith("variable"):
            assert 'agency="$agency"' in expr, title
