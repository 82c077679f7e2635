"""The notifier's /metrics and /healthz bind address: 127.0.0.1 by default (`make run`), any
address from ADUAN_NOTIFIER_METRICS_HOST or --metrics-host (compose and Kubernetes: 0.0.0.0,
so Prometheus can scrape it), through both entries. Runs no broker: the run loop is replaced,
the HTTP server is real."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from consumers.cli import app
from consumers.notifier import runner
from consumers.notifier.__main__ import main
from tests.e2e.harness import free_port

SAMPLE = Path(__file__).resolve().parents[2] / "deploy/notifier/officers.yaml"


@pytest.fixture
def servers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    started: list[Any] = []
    real = runner.serve_metrics_and_health

    def recording(*args: Any, **kwargs: Any) -> Any:
        server = real(*args, **kwargs)
        started.append(server)
        return server

    monkeypatch.setattr(runner, "serve_metrics_and_health", recording)
    monkeypatch.setattr(runner, "run_notifier", lambda notifier, broker=None: None)
    monkeypatch.delenv("ADUAN_NOTIFIER_METRICS_HOST", raising=False)
    yield started
    for server in started:
        server.shutdown()
        server.server_close()


def scrape(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        status: int = answer.status
        return status


def test_the_default_is_loopback_only(servers: list[Any]) -> None:
    port = free_port()
    assert main(["--directory", str(SAMPLE), "--metrics-port", str(port)]) == 0
    [server] = servers
    assert server.server_address[0] == "127.0.0.1"
    assert scrape(port) == 200


def test_the_module_entry_binds_the_configured_address(
    servers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADUAN_NOTIFIER_METRICS_HOST", "0.0.0.0")
    port = free_port()
    assert main(["--directory", str(SAMPLE), "--metrics-port", str(port)]) == 0
    [server] = servers
    assert server.server_address[0] == "0.0.0.0"
    assert scrape(port) == 200


def test_aduan_notifier_binds_the_configured_address(servers: list[Any]) -> None:
    port = free_port()
    args = ["notifier", "--directory", str(SAMPLE), "--metrics-port", str(port)]
    result = CliRunner().invoke(app, [*args, "--metrics-host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    [server] = servers
    assert server.server_address[0] == "0.0.0.0"
    assert f"http://0.0.0.0:{port}/metrics" in result.output
    assert scrape(port) == 200


def test_compose_and_kubernetes_bind_every_address() -> None:
    root = SAMPLE.parents[2]
    compose = yaml.safe_load((root / "compose.yaml").read_text())
    assert compose["services"]["notifier"]["environment"]["ADUAN_NOTIFIER_METRICS_HOST"] == (
        "0.0.0.0"
    )
    docs = yaml.safe_load_all((root / "deploy/k8s/base/notifier.yaml").read_text())
    [deployment] = [d for d in docs if d and d["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ADUAN_NOTIFIER_METRICS_HOST"] == "0.0.0.0"
