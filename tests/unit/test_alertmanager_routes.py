"""Alertmanager routing is generated from the officer directory (one source) and amtool accepts it.

amtool comes with Debian's ``prometheus-alertmanager`` (``make tools`` installs it); when it is
missing these tests fail with that one command, they are never skipped.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from consumers.alertmanager_routes import OUT, render
from tests.tools import require_tool

REPO = Path(__file__).resolve().parents[2]


def test_committed_alertmanager_config_is_what_the_directory_generates() -> None:
    assert OUT.read_text(encoding="utf-8") == render(), (
        "deploy/alertmanager/alertmanager.yml differs from deploy/notifier/officers.yaml: "
        "run python -m consumers.alertmanager_routes"
    )


def test_a_directory_change_changes_the_routing(tmp_path: Path) -> None:
    directory = yaml.safe_load((REPO / "deploy/notifier/officers.yaml").read_text())
    directory["officers"].append(
        {"id": "kadis-baru", "name": "Kepala Dinas Baru", "role": "Kepala OPD",
         "email": "kadis.baru@malukutengahkab.go.id"}
    )  # fmt: skip
    directory["agencies"]["PUPR"]["levels"] = {1: ["kadis-baru"]}
    changed = tmp_path / "officers.yaml"
    changed.write_text(yaml.safe_dump(directory))
    receivers = {r["name"]: r for r in yaml.safe_load(render(changed))["receivers"]}
    assert receivers["pupr"]["email_configs"][0]["to"] == (
        "kadis.baru@malukutengahkab.go.id, penghubung.pupr@malukutengahkab.go.id"
    )


def amtool(*args: str) -> str:
    answer = subprocess.run(
        [require_tool("amtool"), *args], capture_output=True, text=True, check=False, timeout=60
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    return answer.stdout.strip()


def route(*labels: str) -> str:
    return amtool("config", "routes", "test", f"--config.file={OUT}", *labels)


def test_amtool_accepts_the_generated_config() -> None:
    amtool("check-config", str(OUT))


def test_alerts_reach_the_officers_of_the_directory() -> None:
    assert route("agency=DINKES", "severity=critical") == "escalation-level-2,dinkes"
    assert route("agency=DINKES", "severity=warning") == "dinkes-liaison"
    # The triage desk's level 1 is its own (the hand-copied file had only the desk's inbox).
    assert route("agency=SETDA-TRIASE", "severity=critical") == "escalation-level-2,setda-triase"
    assert route("alertname=AduanWorkerDown", "severity=critical") == "operators"
    assert route("alertname=AduanNotifierDown", "severity=critical") == "operators"
    assert route("agency=BPBD", "severity=critical") == "escalation-level-2,default-level-1"
    assert route("agency=other", "severity=warning") == "default-liaison"
    receivers = {r["name"]: r for r in yaml.safe_load(OUT.read_text())["receivers"]}
    assert receivers["setda-triase"]["email_configs"][0]["to"] == (
        "kabag.organisasi@malukutengahkab.go.id, pengaduan@malukutengahkab.go.id"
    )
