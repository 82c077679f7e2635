"""A broker outage under the supervisor of `aduan run` (worker, gateway, notifier), own broker:

503 with Retry-After within the bound, a handful of log lines for a 30 s outage, health pages that
say disconnected, everything resumes when the broker is back, and Ctrl-C stops it all while the
broker is down. (The broker is SIGKILLed, so it is never the shared test broker.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from consumers.topics import provision, topic_specs
from tests.e2e.harness import REPO, free_port, wait_for

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

KAFKACTL = REPO / "deploy" / "kafka" / "kafkactl.py"
PUBLISH_TIMEOUT = 5.0
#: Lines the three processes may write during a 30 s outage (one "lost" line each, a few
#: client lines before the probe notices, the request log of this test). Before: thousands.
OUTAGE_LINES_MAX = 40
#: SIGINT to stopped: the children's forced stop (8 s) or the supervisor's SIGKILL (12 s).
STOP_BOUND = 20.0
WEB = {"X-API-Key": "dev-channel-key", "Content-Type": "application/json"}


@dataclass
class OwnBroker:
    port: int
    controller: int
    var: Path

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        where = ["--port", str(self.port), "--controller-port", str(self.controller)]
        return subprocess.run(
            [sys.executable, str(KAFKACTL), *where, "--var", str(self.var), *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=180,
            check=False,
        )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        # After a SIGKILL the pid file is stale; stop clears it (the data is kept).
        self.ctl("stop")
        started = self.ctl("start")
        assert started.returncode == 0, started.stdout + started.stderr

    def kill(self) -> None:
        pid = int((self.var / f"kafka-{self.port}" / "kafka.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[OwnBroker]:
    own = OwnBroker(free_port(), free_port(), tmp_path / "var")
    own.start()
    try:
        yield own
    finally:
        own.ctl("stop")


def http(
    url: str, body: dict[str, Any] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=WEB if body is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, dict(answer.headers), json.load(answer)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read() or b"null")
    except (urllib.error.URLError, OSError, ValueError):
        return 0, {}, None


SUPERVISE = """
import sys
from consumers.supervisor import Service, cli, run
port = sys.argv[1]
sys.exit(run([
    Service("worker", cli("worker"), "worker"),
    Service("gateway", cli("gateway", "--port", port), "gateway"),
    Service("notifier", cli("notifier"), "notifier"),
]))
"""


@dataclass
class Stack:
    process: subprocess.Popen[bytes]
    log: Path
    gateway: str
    worker: str
    notifier: str

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def health(self) -> dict[str, Any]:
        """Each process's broker status ({} where its page does not answer)."""
        pages = {
            "gateway": f"{self.gateway}/readyz",
            "worker": f"{self.worker}/health/",
            "notifier": f"{self.notifier}/healthz",
        }
        found = {}
        for name, url in pages.items():
            _, _, body = http(url, timeout=5)
            found[name] = (body or {}).get("broker", {})
        return found

    def worker_ready(self) -> bool:
        _, _, body = http(f"{self.worker}/health/", timeout=5)
        return bool((body or {}).get("ready"))

    def all_connected(self, connected: bool) -> bool:
        states = [b.get("connected") for b in self.health().values()]
        return all(s is connected for s in states)


@pytest.fixture
def stack(broker: OwnBroker, tmp_path: Path) -> Iterator[Stack]:
    prefix = f"outage{os.getpid()}"
    assert not provision(broker.bootstrap, topic_specs(prefix, 3)).drift
    ports = {name: free_port() for name in ("gateway", "worker", "notifier")}
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "ADUAN_KAFKA_BOOTSTRAP": broker.bootstrap,
        "ADUAN_TOPIC_PREFIX": prefix,
        "ADUAN_TOPIC_PARTITIONS": "3",
        "ADUAN_WEB_PORT": str(ports["worker"]),
        "ADUAN_NOTIFIER_METRICS_PORT": str(ports["notifier"]),
        "ADUAN_DATA_DIR": str(tmp_path / "worker"),
        "ADUAN_GATEWAY_STORE_DIR": str(tmp_path / "attachments"),
        "ADUAN_READMODEL_URL": f"sqlite:///{tmp_path / 'readmodel.sqlite'}",
        "ADUAN_GATEWAY_PUBLISH_TIMEOUT": str(PUBLISH_TIMEOUT),
        "ADUAN_GATEWAY_RATE_PER_MINUTE": "0",
        "ADUAN_GATEWAY_DEV_MODE": "true",  # the dev credentials below (WEB)
    }
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SUPERVISE, str(ports["gateway"])],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    running = Stack(process, log, url["gateway"], url["worker"], url["notifier"])
    try:
        wait_for(lambda: running.all_connected(True), 180, "the three processes to be up")
        wait_for(lambda: running.worker_ready(), 180, "the worker to be ready")
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        print("\n".join(running.lines()[-60:]))


def intake(stack: Stack, n: int) -> tuple[int, dict[str, str], Any, float]:
    body = {"submission_id": f"outage-{n}", "text": "Jalan di Desa Amahai berlubang besar"}
    started = time.monotonic()
    status, headers, answer = http(f"{stack.gateway}/v1/intake/web", body)
    return status, headers, answer, time.monotonic() - started


def processed(stack: Stack, tracking: str) -> bool:
    status, _, _ = http(f"{stack.gateway}/v1/cases/{tracking}", timeout=5)
    return status == 200


def test_outage_is_quiet_fast_and_stoppable(broker: OwnBroker, stack: Stack) -> None:
    status, _, answer, _ = intake(stack, 1)
    assert status == 202, answer
    wait_for(lambda: processed(stack, answer["tracking_number"]), 180, "the first intake")

    before = len(stack.lines())
    broker.kill()
    killed = time.monotonic()
    # At once (whether or not the probe has noticed yet): 503 + Retry-After within the bound.
    status, headers, answer, took = intake(stack, 2)
    assert status == 503, answer
    assert int(headers["retry-after"]) > 0
    assert took <= PUBLISH_TIMEOUT + 2, took
    wait_for(lambda: stack.all_connected(False), 30, "every health page to say disconnected")
    status, headers, answer, took = intake(stack, 3)
    assert status == 503, answer
    assert "retry-after" in headers
    assert took <= PUBLISH_TIMEOUT + 2, took
    # The outage lasts 30 s; what the processes wrote meanwhile is counted.
    wait_for(lambda: time.monotonic() - killed >= 30, 40, "30 s of outage", interval=0.5)
    written = stack.lines()[before:]
    assert len(written) <= OUTAGE_LINES_MAX, "\n".join(written[-80:])
    assert sum("unreachable from the" in line for line in written) == 3, "\n".join(written)

    broker.start()
    wait_for(lambda: stack.all_connected(True), 90, "every health page to say connected")

    def accepted() -> str | None:
        status, _, answer, _ = intake(stack, 4)
        return answer["tracking_number"] if status == 202 else None

    tracking = wait_for(accepted, 60, "an intake accepted after the broker came back", 1.0)
    wait_for(lambda: processed(stack, tracking), 120, "the intake sent after the outage")
    assert sum("reachable again" in line for line in stack.lines()[before:]) == 3

    broker.kill()
    wait_for(lambda: stack.all_connected(False), 30, "disconnected again")
    stack.process.send_signal(signal.SIGINT)
    asked = time.monotonic()
    stack.process.wait(timeout=STOP_BOUND + 30)
    stopped_in = time.monotonic() - asked
    print(f"stopped {stopped_in:.1f} s after SIGINT with the broker down")
    assert stopped_in <= STOP_BOUND, stopped_in
    assert stack.health() == {"gateway": {}, "worker": {}, "notifier": {}}
