"""kafka-python -> complaints.intake -> faust worker (a real subprocess) -> cases.events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


class Worker:
    """The passthrough worker as a child process, its output collected for failure messages."""

    def __init__(self, bootstrap: str, prefix: str, datadir: Path) -> None:
        env = dict(os.environ)
        env.update(
            ADUAN_KAFKA_BOOTSTRAP=bootstrap,
            ADUAN_TOPIC_PREFIX=prefix,
            ADUAN_APP_ID=f"{prefix}-passthrough",
            ADUAN_FAUST_DATADIR=str(datadir),
            PYTHONUNBUFFERED="1",
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "consumers.passthrough"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())
            if "[^Worker]: Ready" in line:
                self.ready.set()

    def output(self) -> str:
        return "\n".join(self.lines[-40:])

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker not ready (exit {self.proc.poll()}):\n{self.output()}")

    def interrupt(self, timeout: float = 30.0) -> int:
        """Ctrl-C: SIGINT, then wait for a clean exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"worker ignored SIGINT for {timeout}s:\n{self.output()}")


@pytest.fixture
def worker(kafka_topics: Any, tmp_path: Path) -> Iterator[Worker]:
    w = Worker(kafka_topics.bootstrap, kafka_topics.prefix, tmp_path / "faust")
    try:
        yield w
    finally:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()


def complaint(n: int) -> tuple[bytes, bytes]:
    case_id = f"ADU-TEST-{n:04d}"
    body = {
        "event_id": f"evt-{n}",
        "type": "ComplaintSubmitted",
        "schema_version": 1,
        "occurred_at": "2026-01-05T09:00:00+09:00",
        "case_id": case_id,
        "payload": {"channel": "web", "text": f"Jalan rusak nomor {n}"},
    }
    return case_id.encode(), json.dumps(body).encode()


def test_a_complaint_moves_from_intake_to_case_events(
    kafka_topics: Any,
    worker: Worker,
    send_messages: Callable[[str, Sequence[tuple[bytes | None, bytes]]], None],
    read_messages: Callable[..., list[Any]],
) -> None:
    early = [complaint(i) for i in range(3)]
    send_messages(kafka_topics["complaints.intake"], early)  # before the worker is up
    worker.wait_ready()

    sent_at = time.monotonic()
    late = complaint(99)
    send_messages(kafka_topics["complaints.intake"], [late])
    records = read_messages(kafka_topics["cases.events"], 4, timeout=30.0)
    latency = time.monotonic() - sent_at

    assert sorted((r.key, r.value) for r in records) == sorted([*early, late])
    assert latency < 5.0, f"the message took {latency:.1f}s to reach cases.events"
    assert json.loads(records[0].value)["type"] == "ComplaintSubmitted"

    assert worker.interrupt() == 0, worker.output()
    assert any("Stopping" in line for line in worker.lines), worker.output()
