"""The image's health check (deploy/docker/healthcheck.py) against real local HTTP servers."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "docker" / "healthcheck.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aduan_healthcheck", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


check = load()


class Answers:
    """What the fake process answers: path -> (status, body)."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, bytes]] = {}


@pytest.fixture
def server() -> Iterator[tuple[int, Answers]]:
    answers = Answers()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = answers.pages.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], answers
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_command_is_read_from_the_console_script_argv() -> None:
    assert check.command_of(["/opt/aduan/bin/python", "/opt/aduan/bin/aduan", "worker"]) == "worker"
    assert check.command_of(["aduan", "--help"]) is None
    assert check.command_of(["/usr/bin/python3", "-m", "http.server"]) is None


def test_a_worker_is_healthy_only_once_its_table_is_recovered(
    server: tuple[int, Answers], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, answers = server
    monkeypatch.setenv("ADUAN_WEB_PORT", str(port))
    answers.pages["/stats/"] = (200, json.dumps({"ready": False}).encode())
    assert check.main(["worker"]) == 1
    answers.pages["/stats/"] = (200, json.dumps({"ready": True, "processed": 3}).encode())
    assert check.main(["worker"]) == 0
    answers.pages["/stats/"] = (200, b"<html>something else</html>")
    assert check.main(["worker"]) == 1


def test_a_gateway_is_healthy_only_when_ready(
    server: tuple[int, Answers], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, answers = server
    monkeypatch.setenv("ADUAN_GATEWAY_PORT", str(port))
    answers.pages["/readyz"] = (503, b'{"ready": false}')
    assert check.main(["gateway"]) == 1
    answers.pages["/readyz"] = (200, b'{"ready": true}')
    assert check.main(["gateway"]) == 0


def test_a_notifier_is_healthy_when_its_metrics_answer(
    server: tuple[int, Answers], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, answers = server
    monkeypatch.setenv("ADUAN_NOTIFIER_METRICS_PORT", str(port))
    assert check.main(["notifier"]) == 1  # 404
    answers.pages["/metrics"] = (200, b"aduan_notifier_up 1\n")
    assert check.main(["notifier"]) == 0


def test_nothing_listening_is_unhealthy(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    monkeypatch.setenv("ADUAN_GATEWAY_PORT", str(free))
    assert check.main(["gateway"]) == 1


def test_a_one_shot_command_has_nothing_to_check() -> None:
    assert check.main(["topics"]) == 0
