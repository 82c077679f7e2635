"""Alertmanager's routing (deploy/alertmanager/alertmanager.yml), generated from the officers.

    python -m consumers.alertmanager_routes          # rewrite deploy/alertmanager/alertmanager.yml
    python -m consumers.alertmanager_routes --check  # exit 1 if the committed file is stale

One source for who hears about what: the aggregate Prometheus alerts reach the same officers as the
notifier's per-case alerts, read from deploy/notifier/officers.yaml with the notifier's own loader
(`consumers.notifier.directory.load_directory`, checked against the policy). Routing by the alert
labels ``agency`` and ``severity`` (deploy/prometheus/rules/alerts.yml):

* no ``agency`` (engine-wide: worker, gateway, notifier down, lag, dead letters): the operators,
  i.e. the liaison of ``"*"`` (the complaints desk);
* ``severity=critical`` with an agency: also escalation level 2 of ``"*"`` (``continue``);
* an agency with its own directory entry: critical -> its level 1 and its liaison, warning -> its
  liaison;
* any other agency (and the metrics' ``other``): critical -> level 1 of ``"*"``, else its liaison.

Only email targets are written: Alertmanager's webhook payload is not the notifier's JSON, and chat
URLs are apprise's, so officers reachable only by webhook or chat are left out of this file.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from consumers.notifier.directory import ANY_AGENCY, Directory, Officer, load_directory
from workflow.policy import load_policy

REPO = Path(__file__).resolve().parents[1]
DIRECTORY = REPO / "deploy" / "notifier" / "officers.yaml"
OUT = REPO / "deploy" / "alertmanager" / "alertmanager.yml"

HEADER = """\
# GENERATED FILE, do not edit: python -m consumers.alertmanager_routes (from
# deploy/notifier/officers.yaml; a test fails when this file differs from what it generates).
# Alertmanager routing of the aggregate Prometheus alerts (deploy/prometheus/rules/alerts.yml) by
# their labels `agency` (absent for engine-wide alerts) and `severity` (warning | critical).
# Check: amtool check-config deploy/alertmanager/alertmanager.yml
"""

OPERATORS = "operators"
LEVEL_2 = "escalation-level-2"
DEFAULT_LEVEL_1 = "default-level-1"
DEFAULT_LIAISON = "default-liaison"


def _emails(officers: Iterable[Officer]) -> list[str]:
    """The officers' email addresses, in order, each once."""
    found: list[str] = []
    for officer in officers:
        if officer.email is not None and officer.email not in found:
            found.append(officer.email)
    return found


def _receiver(name: str, officers: Iterable[Officer]) -> dict[str, Any]:
    emails = _emails(officers)
    if not emails:
        return {"name": name}  # a receiver without targets: Alertmanager drops the alert
    return {"name": name, "email_configs": [{"to": ", ".join(emails), "send_resolved": True}]}


def _agency_codes(directory: Directory) -> list[str]:
    return [code for code in directory.agencies if code != ANY_AGENCY]


def receivers(directory: Directory) -> list[dict[str, Any]]:
    """Every receiver the routes name, in a stable order."""
    found = [
        _receiver(OPERATORS, directory.liaisons(None)),
        _receiver(LEVEL_2, directory.level_officers(None, 2)),
        _receiver(DEFAULT_LEVEL_1, directory.level_officers(None, 1)),
        _receiver(DEFAULT_LIAISON, directory.liaisons(None)),
    ]
    for code in _agency_codes(directory):
        name = code.lower()
        critical = [*directory.level_officers(code, 1), *directory.liaisons(code)]
        found.append(_receiver(name, critical))
        found.append(_receiver(f"{name}-liaison", directory.liaisons(code)))
    return found


def routes(directory: Directory) -> list[dict[str, Any]]:
    """The child routes of the root (which is the operators' route)."""
    found: list[dict[str, Any]] = [
        {
            "matchers": ['severity="critical"', 'agency=~".+"'],
            "receiver": LEVEL_2,
            "continue": True,
        }
    ]
    for code in _agency_codes(directory):
        name = code.lower()
        warning = {"matchers": ['severity="warning"'], "receiver": f"{name}-liaison"}
        found.append({"matchers": [f'agency="{code}"'], "receiver": name, "routes": [warning]})
    found.append({"matchers": ['agency=~".+"', 'severity="critical"'], "receiver": DEFAULT_LEVEL_1})
    found.append({"matchers": ['agency=~".+"'], "receiver": DEFAULT_LIAISON})
    return found


def config(directory: Directory) -> dict[str, Any]:
    """The whole Alertmanager configuration as a mapping."""
    smtp = directory.smtp
    global_: dict[str, Any] = {"resolve_timeout": "5m"}
    if smtp is not None:
        global_ |= {
            "smtp_smarthost": f"{smtp.host}:{smtp.port}",
            "smtp_from": smtp.sender,
            "smtp_require_tls": smtp.mode != "insecure",
        }
    return {
        "global": global_,
        "route": {
            "receiver": OPERATORS,
            "group_by": ["alertname", "agency", "severity"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes(directory),
        },
        # While an agency has a critical alert, its warning of the same name is noise.
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["alertname", "agency"],
            }
        ],
        "receivers": receivers(directory),
    }


def render(directory_path: Path = DIRECTORY) -> str:
    """The text of alertmanager.yml for the directory at ``directory_path``."""
    directory = load_directory(directory_path, load_policy())
    body = yaml.safe_dump(config(directory), sort_keys=False, allow_unicode=True, width=100)
    return HEADER + "\n" + body


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT.relative_to(REPO)} is stale: run python -m consumers.alertmanager_routes")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
