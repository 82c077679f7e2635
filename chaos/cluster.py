"""The processes a chaos run owns: one Kafka broker (its own ports and data) and engine workers.

Both are driven only through their public entry points: ``deploy/kafka/kafkactl.py`` for the
broker and ``python -m consumers.cli worker`` for the workers. Kills are SIGKILL: no clean
shutdown, no final commit, no flushed buffers.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
KAFKACTL = REPO / "deploy" / "kafka" / "kafkactl.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Broker:
    """A broker started by kafkactl under ``var``; SIGKILLed and started again by the run."""

    port: int
    controller_port: int
    var: Path
    host: str = "127.0.0.1"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.var / f"kafka-{self.port}" / "kafka.pid"

    def _ctl(self, command: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, str(KAFKACTL), "--host", self.host, "--port", str(self.port)]
        argv += ["--controller-port", str(self.controller_port), "--var", str(self.var), command]
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=REPO
        )

    def start(self) -> None:
        done = self._ctl("start")
        if done.returncode != 0:
            raise RuntimeError(f"broker start failed: {(done.stdout + done.stderr).strip()}")

    def stop(self) -> None:
        self._ctl("stop")

    def fresh_start(self) -> None:
        """Stop a broker left over from an earlier run, wipe its data, start an empty one."""
        self.stop()
        root = self.var / f"kafka-{self.port}"
        if root.exists():
            subprocess.run(["rm", "-rf", str(root)], check=False)
        self.start()

    def kill(self) -> int | None:
        """SIGKILL the broker JVM (as a crash would); returns its pid."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return pid

    def restart_after_kill(self) -> None:
        """kafkactl refuses a stale pid file (issue 12, defect 6): ``stop`` clears it first."""
        self.stop()
        self.start()


@dataclass
class Worker:
    """One engine worker process; ``restart`` starts a new process with the same identity."""

    name: str
    env: dict[str, str]
    log_path: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    incarnation: int = 0
    crashes: int = 0  # exits the run did not cause (not a SIGKILL)
    crash_lines: list[str] = field(default_factory=list)
    held: bool = False  # killed by the fault schedule, which restarts it itself
    # The last /stats/ answer of every incarnation (a killed process's counters die with it).
    last_stats: dict[int, dict[str, Any]] = field(default_factory=dict)

    def start(self) -> None:
        if self.process is not None and self.process.poll() not in (None, -signal.SIGKILL):
            self.crashes += 1
            last = self.log_tail(1).strip()
            self.crash_lines.append(f"exit {self.process.returncode}: {last[:200]}")
        self.port = free_port()
        self.incarnation += 1
        env = {**self.env, "ADUAN_WEB_PORT": str(self.port)}
        with self.log_path.open("ab") as log:
            log.write(f"\n=== chaos: incarnation {self.incarnation} ===\n".encode())
            self.process = subprocess.Popen(
                [sys.executable, "-m", "consumers.cli", "worker"],
                env=env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.process is not None and self.alive():
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def get(self, path: str) -> dict[str, Any] | None:
        try:
            url = f"http://127.0.0.1:{self.port}{path}"
            with urllib.request.urlopen(url, timeout=2) as answer:
                body: dict[str, Any] = json.load(answer)
                return body
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def scrape(self) -> dict[str, Any] | None:
        stats = self.get("/stats/")
        if stats is not None:
            self.last_stats[self.incarnation] = stats
        return stats

    def clock(self) -> datetime | None:
        answer = self.get("/clock/")
        return datetime.fromisoformat(answer["now"]) if answer else None

    def counter(self, name: str) -> int:
        return sum(int(stats.get(name, 0)) for stats in self.last_stats.values())

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def worker_env(bootstrap: str, prefix: str, start: datetime, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ADUAN_KAFKA_BOOTSTRAP=bootstrap,
        ADUAN_TOPIC_PREFIX=prefix,
        ADUAN_CLOCK="simulated",
        ADUAN_SIMULATED_START=start.isoformat(),
        ADUAN_DATA_DIR=str(data_dir),
        ADUAN_LOG_LEVEL="info",
        PYTHONPATH=str(REPO),
    )
    return env
