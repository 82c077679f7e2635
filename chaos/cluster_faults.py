"""The fault schedule of a cluster run: scripted broker failures among random worker kills.

Steps, spread over the publishing time (each waits for the previous one to heal: every node back
and every partition's replicas in sync, so "2 of 3 up" means min.insync.replicas is reachable):

- ``broker``: SIGKILL a broker that is not the active controller, restart it;
- ``controller``: SIGKILL the active controller (the KRaft quorum leader), restart it;
- ``broker+worker``: SIGKILL a broker, then an engine worker while the broker is down; restart
  the worker, then the broker;
- ``two-brokers``: SIGKILL two brokers (1 of 3 left: min.insync.replicas=2 is out of reach, the
  quorum has no majority); restart both.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from kafka import KafkaAdminClient

from chaos.cluster import Worker
from chaos.faults import FaultLog
from chaos.kafka_cluster import KafkaCluster

ALL_STEPS = ("broker", "controller", "broker+worker", "two-brokers")


@dataclass
class Step:
    """One scripted failure: when it began, when the cluster was whole again, what it did."""

    name: str
    began: float
    restarted: float = 0.0  # every node answering again
    healed: float = 0.0  # and every partition fully in sync
    detail: str = ""


@dataclass
class ClusterFaultLog(FaultLog):
    steps: list[Step] = field(default_factory=list)


class ClusterFaults(threading.Thread):
    def __init__(
        self,
        rng: random.Random,
        cluster: KafkaCluster,
        workers: list[Worker],
        duration: float,
        worker_kills: int,
        steps: tuple[str, ...] = ALL_STEPS,
        down_seconds: float = 8.0,
        quorum_loss_seconds: float = 35.0,
    ) -> None:
        super().__init__(name="chaos-cluster-faults", daemon=True)
        self.rng = rng
        self.cluster = cluster
        self.workers = workers
        self.log = ClusterFaultLog()
        self.stopping = threading.Event()
        self.down_seconds = down_seconds
        # long enough for whole gateway requests (each up to its publish timeout) inside it
        self.quorum_loss_seconds = quorum_loss_seconds
        marks = [(0.08 + 0.8 * i / max(len(steps), 1)) * duration for i in range(len(steps))]
        kills = [(rng.uniform(0.05, 0.9) * duration, "kill-worker") for _ in range(worker_kills)]
        self.plan = sorted([*zip(marks, steps, strict=True), *kills])

    def run(self) -> None:
        started = time.monotonic()
        for at, what in self.plan:
            delay = started + at - time.monotonic()
            if delay > 0 and self.stopping.wait(delay):
                return
            if self.stopping.is_set():
                return
            if what == "kill-worker":
                self._kill_worker(restart_after=self.rng.uniform(0.5, 3.0))
            else:
                self._step(what)

    def _say(self, text: str) -> None:
        self.log.say(text)
        print(f"chaos: {self.log.lines[-1]}", flush=True)  # live: a step takes a minute

    def _sleep(self, seconds: float) -> None:
        self.stopping.wait(seconds)

    def _kill_worker(self, restart_after: float) -> None:
        alive = [w for w in self.workers if w.alive()]
        if not alive:
            return
        victim = self.rng.choice(alive)
        victim.scrape()
        victim.held = True
        victim.kill()
        self.log.worker_kills += 1
        self._say(f"SIGKILL worker {victim.name} (incarnation {victim.incarnation})")
        self._sleep(restart_after)
        victim.start()
        victim.held = False
        self._say(f"restarted worker {victim.name}")

    def _kill_nodes(self, victims: list[int]) -> str:
        pids = [f"node {n} (pid {self.cluster.kill(n)})" for n in victims]
        text = ", ".join(pids)
        self.log.broker_restarts += len(victims)  # each one is restarted by the step
        self._say(f"SIGKILL {text}")
        return text

    def _step(self, name: str) -> None:
        cluster = self.cluster
        leader = cluster.leader()
        others = [n for n in cluster.up() if n != leader]
        step = Step(name, time.time())
        down = self.down_seconds * self.rng.uniform(0.75, 1.25)
        if name == "controller" and leader is not None:
            step.detail = "active controller " + self._kill_nodes([leader])
            self._sleep(down)
        elif name == "broker+worker":
            step.detail = self._kill_nodes([self.rng.choice(others)])
            self._sleep(down / 3)
            self._kill_worker(restart_after=down / 3)
            step.detail += ", then a worker"
            self._sleep(down / 3)
        elif name == "two-brokers":
            step.detail = self._kill_nodes(self.rng.sample(others, 2))
            self._sleep(self.quorum_loss_seconds)
        else:
            step.detail = self._kill_nodes([self.rng.choice(others)])
            self._sleep(down)
        cluster.start(recovering=name == "two-brokers")
        step.restarted = time.time()
        self.log.outages.append((step.began, step.restarted))
        wait_in_sync(cluster.bootstrap, timeout=180)
        cluster.mark_whole()
        step.healed = time.time()
        self.log.steps.append(step)
        self._say(
            f"{name}: {step.detail}; restarted after {step.restarted - step.began:.1f} s, "
            f"in sync after {step.healed - step.began:.1f} s; leader now node {cluster.leader()}"
        )

    def finish(self, timeout: float) -> None:
        """Wait for the remaining steps (each one is what the run is for), then stop."""
        self.join(max(timeout, 1200.0))
        self.stopping.set()
        self.join(300)


def out_of_sync(bootstrap: str) -> int | None:
    """Partitions whose in-sync replicas are fewer than their replicas (None: not measurable)."""
    admin = None
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
        short = 0
        for topic in admin.describe_topics():
            for part in topic.get("partitions") or []:
                if len(part.get("isr_nodes") or []) < len(part.get("replica_nodes") or []):
                    short += 1
        return short
    except Exception:  # a node still starting: measure again
        return None
    finally:
        if admin is not None:
            admin.close()


def wait_in_sync(bootstrap: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while out_of_sync(bootstrap) != 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the cluster on {bootstrap} did not get back in sync in time")
        time.sleep(0.5)
