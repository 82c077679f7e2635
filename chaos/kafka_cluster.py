"""The 3-node KRaft cluster a cluster chaos run owns, driven through ``kafkactl.py cluster``.

Node i listens on base+2(i-1); its pid file is ``var/cluster-<base>/node-<i>/kafka.pid``. Kills
are SIGKILL; a restart is ``cluster start``, which starts only the nodes that are down (clearing
their stale pid files) and returns once every node lists all brokers and the quorum has a leader.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from chaos.cluster import KAFKACTL, REPO

RECOVERING = -1


@dataclass
class KafkaCluster:
    base_port: int
    var: Path
    nodes: int = 3
    host: str = "127.0.0.1"
    heap: str = "384m"
    # (wall time, nodes up) at every change: what the gateway's answers are judged against;
    # RECOVERING while restarted nodes rejoin after a quorum loss (min ISR per partition unknown)
    timeline: list[tuple[float, int]] = field(default_factory=list)
    down: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{self.host}:{self.base_port + 2 * i}" for i in range(self.nodes))

    @property
    def root(self) -> Path:
        return self.var / f"cluster-{self.base_port}"

    @property
    def replication(self) -> int:
        return min(3, self.nodes)

    def _ctl(self, action: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, str(KAFKACTL), "cluster", action, "--nodes", str(self.nodes)]
        argv += ["--base-port", str(self.base_port), "--host", self.host]
        argv += ["--var", str(self.var), "--heap", self.heap]
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, cwd=REPO
        )

    def _mark(self) -> None:
        self.timeline.append((time.time(), self.nodes - len(self.down)))

    def start(self, recovering: bool = False) -> None:
        """Start the nodes that are down; returns when the whole cluster is ready again.

        ``recovering``: the nodes come back after a quorum loss; until ``mark_whole`` nobody
        knows which partitions have 2 replicas in sync again (the timeline says RECOVERING)."""
        if recovering:
            with self._lock:
                self.timeline.append((time.time(), RECOVERING))
        done = self._ctl("start")
        if done.returncode != 0:
            raise RuntimeError(f"cluster start failed: {(done.stdout + done.stderr).strip()}")
        with self._lock:
            self.down.clear()
            if not recovering:
                self._mark()

    def mark_whole(self) -> None:
        """Every partition is in sync again (after a ``start(recovering=True)``)."""
        with self._lock:
            self._mark()

    def stop(self) -> None:
        self._ctl("stop")

    def fresh_start(self) -> None:
        """Stop a cluster left over from an earlier run, wipe its data, start an empty one."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def leader(self) -> int | None:
        """The node id of the active controller (None: no quorum leader now)."""
        done = self._ctl("leader", timeout=30)
        text = done.stdout.strip()
        return int(text) if done.returncode == 0 and text.isdigit() else None

    def up(self) -> list[int]:
        return [i for i in range(1, self.nodes + 1) if i not in self.down]

    def kill(self, node_id: int) -> int | None:
        """SIGKILL one node's JVM (as a crash would); returns its pid."""
        try:
            pid = int((self.root / f"node-{node_id}" / "kafka.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return None
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._lock:
            self.down.add(node_id)
            self._mark()
        return pid

    def up_between(self, start: float, end: float) -> tuple[int, int] | None:
        """The fewest and the most nodes up at any moment of [start, end] (wall time); None
        when part of it was a recovery from a quorum loss."""
        counts = [n for t, n in self.timeline if start <= t <= end]
        before = [n for t, n in self.timeline if t < start]
        if before:
            counts.append(before[-1])
        if not counts or RECOVERING in counts:
            return None
        return min(counts), max(counts)
