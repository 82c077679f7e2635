"""compose.yaml's reporter service, the cluster profile's 3-voter KRaft quorum and where
Alertmanager sends mail, checked with Debian's ``docker-compose config`` (and amtool, promtool)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.tools import require_tool
from tests.unit.test_deploy_containers import ROOT, compose_config

VOTERS = "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"


@pytest.fixture(scope="module")
def default() -> dict[str, Any]:
    """`docker-compose config` without any environment (one run for the module)."""
    return compose_config()


def test_the_reporter_service_runs_waits_for_the_topics_and_is_scraped(
    default: dict[str, Any],
) -> None:
    services = default["services"]
    reporter = services["reporter"]
    assert reporter["command"] == ["reporter"]
    assert reporter["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    env = reporter["environment"]
    assert env["ADUAN_REPORTER_METRICS_HOST"] == "0.0.0.0"
    port = str(env["ADUAN_REPORTER_METRICS_PORT"])
    assert reporter["healthcheck"]["test"][-1] == "/opt/aduan/healthcheck.py"
    # email reaches the sink: it listens on every address of the notifier's network namespace
    assert (env["ADUAN_REPORTER_SMTP_HOST"], str(env["ADUAN_REPORTER_SMTP_PORT"])) == (
        "notifier",
        "2525",
    )
    sink = services["smtp-sink"]
    assert sink["network_mode"] == "service:notifier"
    assert sink["command"][sink["command"].index("--host") + 1] == "0.0.0.0"
    scrape = yaml.safe_load((ROOT / "deploy/docker/prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in scrape["scrape_configs"]}
    assert jobs["aduan-reporter"]["static_configs"][0]["targets"] == [f"reporter:{port}"]


def test_the_cluster_profile_is_a_three_voter_kraft_quorum() -> None:
    env = {"ADUAN_KAFKA_VOTERS": VOTERS, "ADUAN_KAFKA_REPLICATION": "3", "ADUAN_KAFKA_MIN_ISR": "2"}
    services = compose_config("--profile", "cluster", env=env)["services"]
    nodes = {n: s for n, s in services.items() if s["image"].startswith("apache/kafka")}
    voters = dict(v.split("@") for v in VOTERS.split(","))
    assert len(nodes) == 3
    for name, node in nodes.items():
        e = node["environment"]
        assert set(e["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}, name
        assert e["KAFKA_CONTROLLER_QUORUM_VOTERS"] == VOTERS, name
        assert voters[str(e["KAFKA_NODE_ID"])] == f"{node['hostname']}:9093", name
        assert "CONTROLLER://:9093" in e["KAFKA_LISTENERS"], name
        assert (
            str(e["KAFKA_MIN_INSYNC_REPLICAS"]),
            str(e["KAFKA_DEFAULT_REPLICATION_FACTOR"]),
        ) == (
            "2",
            "3",
        )
        # a quorum of three needs two voters up before any is healthy: no start order
        assert not any(d.startswith("kafka") for d in node.get("depends_on") or {}), name


def _rendered_alertmanager_config(tmp_path: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Run the compose entrypoint's rewrite (not the exec) on the committed config."""
    service = config["services"]["alertmanager"]
    assert service["entrypoint"] == ["/bin/sh", "-c"]
    # `config` keeps compose's $$ escape; the container's shell gets a single $
    script = service["command"][0].split(" && exec ")[0].replace("$$", "$")
    out = tmp_path / "alertmanager.yml"
    committed = str(ROOT / "deploy/alertmanager/alertmanager.yml")
    script = script.replace(" /alertmanager/alertmanager.yml", f" {out}")
    script = script.replace(" /etc/alertmanager/alertmanager.yml", f" {committed}")
    run = subprocess.run(
        ["/bin/sh", "-c", script],
        env={"PATH": "/usr/bin:/bin", **service["environment"]},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    amtool = require_tool("amtool")
    check = subprocess.run([amtool, "check-config", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    config: dict[str, Any] = yaml.safe_load(out.read_text())
    return config


def test_alertmanager_mails_the_compose_sink_not_its_own_loopback(
    tmp_path: Path, default: dict[str, Any]
) -> None:
    config = _rendered_alertmanager_config(tmp_path, default)
    assert config["global"]["smtp_smarthost"] == "notifier:2525"
    committed = yaml.safe_load((ROOT / "deploy/alertmanager/alertmanager.yml").read_text())
    assert config["receivers"] == committed["receivers"]  # only the smarthost changed


def test_alertmanager_mail_host_is_set_by_the_environment(tmp_path: Path) -> None:
    env = {"ADUAN_ALERTMANAGER_SMARTHOST": "mail.malukutengahkab.go.id:587"}
    config = _rendered_alertmanager_config(tmp_path, compose_config(env=env))
    assert config["global"]["smtp_smarthost"] == "mail.malukutengahkab.go.id:587"
