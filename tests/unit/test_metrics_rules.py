"""promtool over deploy/prometheus: the config, the rule files and their unit tests.

promtool comes with Debian's ``prometheus`` package (.ci/run installs it). Without it these tests
are skipped on a developer machine and fail under CI (``CI=true``), where it must be present.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PROMETHEUS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS / "tests").glob("*.test.yml"))


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool not found: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    return subprocess.run(
        [tool, *args], capture_output=True, text=True, check=False, timeout=120, cwd=PROMETHEUS
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
