"""Drive real engine workers (subprocesses) through the topics only, on the simulated clock."""

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from consumers.engine.clock import ClockControl
from consumers.kafka_security import KafkaSecurity, kafka_python_kwargs
from consumers.topics import TopicSpec, provision, topic_name, topic_specs

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@dataclass
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def _get(self, path: str) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as r:
                answer: dict[str, Any] = json.load(r)
                return answer
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def stats(self) -> dict[str, Any] | None:
        return self._get("/stats/")

    def clock(self) -> datetime | None:
        answer = self._get("/clock/")
        return datetime.fromisoformat(answer["now"]) if answer else None

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def diagnose(self) -> Path:
        """Write what a stalled worker is doing next to its log: its stats, where each asyncio
        task waits (/debug/tasks/) and, if py-spy is installed, the Python stack (which also
        answers when the event loop is blocked and the HTTP pages do not). Returns the file."""
        out = self.log_path.with_suffix(".stall.txt")
        parts = [f"stats: {json.dumps(self.stats())}"]
        try:
            url = f"http://127.0.0.1:{self.port}/debug/tasks/"
            with urllib.request.urlopen(url, timeout=5) as r:
                parts.append(r.read().decode(errors="replace"))
        except (urllib.error.URLError, OSError) as exc:
            parts.append(f"/debug/tasks/ unavailable: {exc!r}")
        py_spy = Path(sys.executable).with_name("py-spy")
        if py_spy.exists():
            dump = subprocess.run(
                [str(py_spy), "dump", "--pid", str(self.process.pid)],
                capture_output=True,
                timeout=60,
                check=False,
            )
            parts.append((dump.stdout + dump.stderr).decode(errors="replace"))
        out.write_text("\n".join(parts))
        return out

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no final commit."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class EventLog:
    """A read_committed reader of one topic, accumulating everything it has seen."""

    consumer: KafkaConsumer
    records: list[Any] = field(default_factory=list)

    def poll(self) -> list[Any]:
        new: list[Any] = []
        for batch in self.consumer.poll(timeout_ms=100).values():
            new.extend(batch)
        self.records.extend(new)
        return new

    def values(self) -> list[dict[str, Any]]:
        return [json.loads(r.value) for r in self.records if r.value is not None]

    def wait(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float, what: str
    ) -> list[dict[str, Any]]:
        def check() -> bool:
            self.poll()
            return predicate(self.values())

        wait_for(check, timeout, what, interval=0.0)
        return self.values()

    def read_to_end(self) -> list[Any]:
        """Poll until every partition's end offset (as of now) has been read; returns all."""
        ends = self.consumer.end_offsets(list(self.consumer.assignment()))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
            self.consumer.position(tp) < end for tp, end in ends.items()
        ):
            self.poll()
        return self.records

    def close(self) -> None:
        self.consumer.close()


class EngineHarness:
    """One isolated engine deployment (its own topic prefix) on the shared test broker."""

    def __init__(
        self,
        bootstrap: str,
        prefix: str,
        workdir: Path,
        start: datetime,
        security: KafkaSecurity | None = None,
    ) -> None:
        """``security``: the test's own Kafka login (a secured broker's operator); None = none."""
        self.bootstrap = bootstrap
        self.kafka: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            **(kafka_python_kwargs(security) if security is not None else {}),
        }
        self.prefix = prefix
        self.workdir = workdir
        self.start = start
        self.workers: list[Worker] = []
        self.logs: list[EventLog] = []
        self.producer = KafkaProducer(**self.kafka, acks="all", linger_ms=5)

    def topic(self, name: str) -> str:
        return topic_name(name, self.prefix)

    def provision(self, partitions: int = 6) -> None:
        clock = TopicSpec(self.topic("control.clock"), 1, 1, {"cleanup.policy": "delete"})
        result = provision(self.bootstrap, [*topic_specs(self.prefix, partitions), clock])
        assert not result.drift, result.drift

    def env(self, port: int, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            ADUAN_KAFKA_BOOTSTRAP=self.bootstrap,
            ADUAN_TOPIC_PREFIX=self.prefix,
            ADUAN_CLOCK="simulated",
            ADUAN_SIMULATED_START=self.start.isoformat(),
            ADUAN_WEB_PORT=str(port),
            ADUAN_DATA_DIR=str(self.workdir / "data"),
            ADUAN_LOG_LEVEL="info",
            PYTHONPATH=str(REPO),
        )
        env.update(extra)
        return env

    def start_worker(self, name: str = "w1", wait_ready: bool = True, **extra: str) -> Worker:
        port = free_port()
        log_path = self.workdir / f"{name}.log"
        log_file = log_path.open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "consumers.cli", "worker"],
            env=self.env(port, **extra),
            cwd=self.workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        worker = Worker(name, process, port, log_path)
        self.workers.append(worker)
        if wait_ready:
            self.wait_ready(worker)
        return worker

    def wait_ready(self, worker: Worker, timeout: float = 90) -> None:
        def ready() -> bool:
            if not worker.alive():
                raise AssertionError(f"worker {worker.name} exited:\n{worker.log_tail()}")
            stats = worker.stats()
            return bool(stats and stats.get("ready"))

        try:
            wait_for(ready, timeout, f"worker {worker.name} to be ready", interval=0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{worker.log_tail()}") from None

    def publish(self, name: str, value: bytes, key: bytes | None = None) -> None:
        self.producer.send(self.topic(name), key=key, value=value).get(timeout=10)

    def publish_many(self, name: str, items: Iterable[tuple[bytes | None, bytes]]) -> int:
        futures = [self.producer.send(self.topic(name), key=k, value=v) for k, v in items]
        self.producer.flush(timeout=60)
        for future in futures:
            future.get(timeout=10)
        return len(futures)

    def set_clock(self, instant: datetime, timeout: float = 20) -> None:
        """Move the simulated time and wait until every live worker has seen it."""
        body = ClockControl(now=instant).model_dump_json().encode()
        self.producer.send(self.topic("control.clock"), value=body, partition=0).get(timeout=10)
        for worker in self.workers:
            if worker.alive():
                wait_for(
                    lambda w=worker: (w.clock() or instant) >= instant and w.clock() is not None,
                    timeout,
                    f"worker {worker.name} clock to reach {instant.isoformat()}",
                )

    def run_clock(
        self,
        start: datetime,
        until: Callable[[], Any],
        timeout: float = 60,
        step: timedelta = timedelta(milliseconds=100),
    ) -> datetime:
        """Let simulated time flow from ``start`` in ``step``s until ``until()`` holds; returns
        the simulated instant reached. Each step is seen by every live worker before the next,
        and time never flows faster than real time, so on a busy machine the simulated clock
        slows down with the workers instead of racing ahead of them: an engine-time lateness
        measured against it is the engine's own."""
        began = time.monotonic()
        instant, steps = start, 0
        self.set_clock(instant)
        while not until():
            if time.monotonic() - began > timeout:
                raise AssertionError(f"simulated time ran {instant - start} without the event")
            steps += 1
            instant = start + steps * step
            self.set_clock(instant)
            ahead = began + steps * step.total_seconds() - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)  # pacing: one simulated second per real second at most
        return instant

    def reader(self, name: str) -> EventLog:
        return self.reader_of(self.topic(name))

    def reader_of(self, topic: str, committed: bool = True) -> EventLog:
        """A reader of ``topic`` (a full name) from its start; ``committed=False`` also sees
        what open or aborted transactions wrote (for diagnosing, never for counting)."""
        consumer = KafkaConsumer(
            **self.kafka,
            isolation_level="read_committed" if committed else "read_uncommitted",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            group_id=None,
            consumer_timeout_ms=100,
        )
        partitions = wait_for(
            lambda: consumer.partitions_for_topic(topic), 20, f"metadata of {topic}"
        )
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        consumer.seek_to_beginning()
        log = EventLog(consumer)
        self.logs.append(log)
        return log

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        for log in self.logs:
            log.close()
        self.producer.close()
