"""Watching the run from outside: input lag, committed output progress, the longest stall.

A stall is a stretch of wall time in which input was pending (the engine's consumer group had lag
on ``complaints.intake`` or ``cases.commands``) and the committed output (``cases.events`` plus
``cases.state``, read committed) did not grow. Broker outages count: the run reports them apart.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from chaos.cluster import Worker


@dataclass
class Progress:
    lag: int | None = None  # None: could not be measured (broker down)
    output: int | None = None
    longest_stall: float = 0.0
    longest_stall_at: float = 0.0  # wall time when it ended (or was last seen)
    stalls: list[tuple[float, float]] = field(default_factory=list)  # (start, end) over 1 s


class Monitor(threading.Thread):
    def __init__(
        self,
        bootstrap: str,
        group: str,
        inputs: list[str],
        outputs: list[str],
        workers: list[Worker],
        interval: float = 0.5,
    ) -> None:
        super().__init__(name="chaos-monitor", daemon=True)
        self.bootstrap = bootstrap
        self.group = group
        self.inputs = inputs
        self.outputs = outputs
        self.workers = workers
        self.interval = interval
        self.progress = Progress()
        self.stopping = threading.Event()
        self._admin: Any = None
        self._consumer: Any = None

    def run(self) -> None:
        last_output: int | None = None
        since = time.time()
        while not self.stopping.wait(self.interval):
            for worker in self.workers:
                if worker.alive():
                    worker.scrape()
                elif not worker.held:
                    # It ended by itself: restart it, as a supervisor (systemd, k8s) would.
                    worker.start()
            lag, output = self._measure()
            now = time.time()
            self.progress.lag, self.progress.output = lag, output
            if lag == 0 or (output is not None and output != last_output):
                if now - since > 1.0 + self.interval:
                    self.progress.stalls.append((since, now))
                since = now
                last_output = output if output is not None else last_output
                continue
            stalled = now - since
            if stalled > self.progress.longest_stall:
                self.progress.longest_stall = stalled
                self.progress.longest_stall_at = now
        self._close()

    def _measure(self) -> tuple[int | None, int | None]:
        try:
            if self._admin is None:
                self._open()
            committed = self._admin.list_group_offsets(self.group).get(self.group, {})
            inputs = self._partitions(self.inputs)
            outputs = self._partitions(self.outputs)
            ends = self._consumer.end_offsets(inputs + outputs)
        except Exception:  # broker down or restarting: nothing measurable now
            self._close()
            return None, None
        lag = 0
        for tp in inputs:
            done = committed.get(tp)
            lag += ends[tp] - (done.offset if done is not None and done.offset >= 0 else 0)
        return lag, sum(ends[tp] for tp in outputs)

    def _partitions(self, topics: list[str]) -> list[TopicPartition]:
        found = []
        for topic in topics:
            for p in sorted(self._consumer.partitions_for_topic(topic) or ()):
                found.append(TopicPartition(topic, p))
        return found

    def _open(self) -> None:
        self._admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
        self._consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            request_timeout_ms=5000,
        )

    def _close(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
        self._admin = self._consumer = None

    def quiet_for(self, seconds: float, timeout: float) -> bool:
        """Wait until the lag is 0 and the output has not grown for ``seconds``."""
        deadline = time.monotonic() + timeout
        stable_since = time.monotonic()
        last = (self.progress.lag, self.progress.output)
        while time.monotonic() < deadline:
            time.sleep(self.interval)
            current = (self.progress.lag, self.progress.output)
            if current != last or current[0] != 0:
                stable_since = time.monotonic()
                last = current
            elif time.monotonic() - stable_since >= seconds:
                return True
        return False

    def finish(self) -> None:
        self.stopping.set()
        self.join(30)
