"""The fault schedule: SIGKILLs of workers and of the broker at seeded random moments."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from chaos.cluster import Broker, Worker


@dataclass
class FaultLog:
    worker_kills: int = 0
    broker_restarts: int = 0
    outages: list[tuple[float, float]] = field(default_factory=list)  # wall (down, back up)
    lines: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.lines.append(f"{time.strftime('%H:%M:%S')} {text}")


@dataclass(order=True)
class _Action:
    at: float
    what: str = field(compare=False)
    worker: Worker | None = field(default=None, compare=False)


class Faults(threading.Thread):
    """Runs the schedule over ``duration`` seconds from ``start()``; ``wait()`` joins it."""

    def __init__(
        self,
        rng: random.Random,
        broker: Broker,
        workers: list[Worker],
        duration: float,
        worker_kills: int,
        broker_restarts: int,
    ) -> None:
        super().__init__(name="chaos-faults", daemon=True)
        self.rng = rng
        self.broker = broker
        self.workers = workers
        self.log = FaultLog()
        self.stopping = threading.Event()
        self.plan = sorted(
            [_Action(rng.uniform(0.05, 0.9) * duration, "kill-worker") for _ in range(worker_kills)]
            + self._broker_plan(duration, broker_restarts)
        )

    def _broker_plan(self, duration: float, count: int) -> list[_Action]:
        # Spread over the run: one outage per slice, at a random point inside it.
        slices = [(0.1 + 0.75 * i / max(count, 1), 0.75 / max(count, 1)) for i in range(count)]
        return [
            _Action((a + self.rng.uniform(0.1, 0.6) * w) * duration, "kill-broker")
            for a, w in slices
        ]

    def run(self) -> None:
        started = time.monotonic()
        pending = list(self.plan)
        while pending and not self.stopping.is_set():
            pending.sort()
            action = pending.pop(0)
            delay = started + action.at - time.monotonic()
            if delay > 0 and self.stopping.wait(delay):
                break
            follow_up = self._do(action)
            if follow_up is not None:
                follow_up.at = time.monotonic() - started + follow_up.at
                pending.append(follow_up)

    def _do(self, action: _Action) -> _Action | None:
        if action.what == "kill-worker":
            alive = [w for w in self.workers if w.alive() and not w.held]
            if not alive:  # every worker is down right now: the kill comes a second later
                return _Action(1.0, "kill-worker")
            victim = self.rng.choice(alive)
            victim.scrape()
            victim.held = True
            victim.kill()
            self.log.worker_kills += 1
            self.log.say(f"SIGKILL worker {victim.name} (incarnation {victim.incarnation})")
            return _Action(self.rng.uniform(0.2, 4.0), "restart-worker", victim)
        if action.what == "restart-worker" and action.worker is not None:
            action.worker.start()
            action.worker.held = False
            self.log.say(f"restarted worker {action.worker.name}")
            return None
        if action.what == "kill-broker":
            down = time.time()
            pid = self.broker.kill()
            self.log.say(f"SIGKILL broker (pid {pid})")
            time.sleep(self.rng.uniform(1.0, 6.0))
            self.broker.restart_after_kill()
            self.log.broker_restarts += 1
            self.log.outages.append((down, time.time()))
            self.log.say("broker restarted")
        return None

    def finish(self, timeout: float) -> None:
        """Let the remaining schedule run out (up to ``timeout``), then stop it."""
        self.join(timeout)
        self.stopping.set()
        self.join(60)
