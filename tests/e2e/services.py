"""The gateway and the notifier as their own processes (``aduan gateway``, ``aduan notifier``)
next to the engine harness's workers, each logging to a file the test can read."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.harness import EngineHarness, free_port, wait_for


@dataclass
class Process:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start(engine: EngineHarness, name: str, args: list[str], port: int, **env: str) -> Process:
    log_path = engine.workdir / f"{name}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", *args],
        env=engine.env(free_port(), **env),
        cwd=engine.workdir,
        stdin=subprocess.DEVNULL,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )
    return Process(name, process, log_path, port)


def _ready(gateway: Process) -> bool:
    if not gateway.alive():
        raise AssertionError(f"the gateway exited:\n{gateway.log()[-3000:]}")
    try:
        return httpx.get(f"{gateway.url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start_gateway(engine: EngineHarness, **env: str) -> Process:
    """``aduan gateway`` on a free port (environment: the gateway's settings); waits for /readyz."""
    port = free_port()
    settings = {"ADUAN_GATEWAY_STORE_DIR": str(engine.workdir / "store"), **env}
    gateway = start(engine, "gateway", ["gateway", "--port", str(port)], port, **settings)
    try:
        wait_for(lambda: _ready(gateway), 60, "the gateway to be ready", interval=0.2)
    except AssertionError as exc:
        gateway.stop()
        raise AssertionError(f"{exc}\n{gateway.log()[-3000:]}") from None
    return gateway


def start_notifier(engine: EngineHarness, directory: Path, **env: str) -> Process:
    """``aduan notifier``; ``env`` adds to (or overrides) its settings, e.g. a Kafka login."""
    port = free_port()
    settings = {
        "ADUAN_NOTIFIER_DIRECTORY": str(directory),
        "ADUAN_NOTIFIER_GROUP_ID": f"{engine.prefix}-notifier",
        "ADUAN_NOTIFIER_METRICS_PORT": str(port),
        **env,
    }
    return start(engine, "notifier", ["notifier"], port, **settings)


def security_file(
    path: Path, api_keys: list[dict[str, Any]], operators: list[dict[str, Any]]
) -> Path:
    import yaml

    path.write_text(yaml.safe_dump({"api_keys": api_keys, "operators": operators}))
    return path
