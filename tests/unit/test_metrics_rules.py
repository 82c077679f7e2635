"""promtool over deploy/prometheus: the config, the rule files and their unit tests.

promtool comes with Debian's ``prometheus`` package (``make tools`` installs it; ``make test`` runs
that first). Without it these tests fail with that one command: they are never skipped.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from tests.tools import require_tool

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = REPO / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.test.yml"))


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_tool("promtool"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=PROMETHEUS,
    )


def test_prometheus_config_is_valid() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_files_are_valid() -> None:
    result = promtool("check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    result = promtool("test", "rules", *map(str, TEST_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def rules(kind: str) -> list[dict[str, object]]:
    found = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            found.extend(r for r in group["rules"] if kind in r)
    return found


def unit_tests() -> list[dict[str, object]]:
    return [t for path in TEST_FILES for t in yaml.safe_load(path.read_text())["tests"]]


def test_every_alert_has_a_unit_test_that_makes_it_fire() -> None:
    fired = {
        case["alertname"]
        for test in unit_tests()
        for case in test.get("alert_rule_test", [])  # type: ignore[attr-defined]
        if case["exp_alerts"]
    }
    alerts = {str(rule["alert"]) for rule in rules("alert")}
    assert alerts - fired == set(), "alerts without a firing unit test"


def test_every_recording_rule_has_a_unit_test() -> None:
    tested = " ".join(
        str(case["expr"])
        for test in unit_tests()
        for case in test.get("promql_expr_test", [])  # type: ignore[attr-defined]
    )
    records = {str(rule["record"]) for rule in rules("record")}
    assert {r for r in records if r not in tested} == set()


def test_every_alert_routes_by_severity_and_agency_alerts_by_agency() -> None:
    for rule in rules("alert"):
        labels = rule.get("labels") or {}
        assert labels.get("severity") in {"warning", "critical"}, rule["alert"]  # type: ignore[union-attr]
        expr = str(rule["expr"])
        if "agency" in expr:
            assert "by (agency)" in expr, f"{rule['alert']} must keep the agency label"


def test_every_documented_prometheus_command_keeps_31_days() -> None:
    """The 30-day compliance rule needs 30 days of samples; Prometheus keeps 15 by default."""
    commands = []
    for path in (REPO / "README.md", PROMETHEUS / "prometheus.yml"):
        text = re.sub(r"\\\n#?", " ", path.read_text())  # join continued lines
        lines = text.splitlines()
        commands += [(path.name, line) for line in lines if "prometheus --config" in line]
    assert commands, "no prometheus command found in README.md or prometheus.yml"
    for where, command in commands:
        found = re.search(r"--storage\.tsdb\.retention\.time=(\d+)d", command)
        assert found, f"{where}: {command.strip()!r} keeps the default 15 days"
        assert int(found[1]) >= 31, f"{where}: {command.strip()!r}"
