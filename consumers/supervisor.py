"""``aduan run``: the main job on embedded defaults, as a handful of child processes.

Each service (engine worker, HTTP gateway, notifier, local SMTP sink) is its own process, as it
would be in production, so one crashing does not take the others' state with it. This supervisor
starts them, prints what runs where, and on Ctrl-C (SIGINT) or SIGTERM stops them all, politely
first (SIGTERM, so the worker commits and leaves its group), then with SIGKILL after a short grace
(a child can hang in its clean stop while the broker is unreachable); a second Ctrl-C kills at
once. If one exits on its own, the others are stopped too and the exit code says so.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Longer than a child's own forced stop (``ADUAN_STOP_GRACE``, 8 s), so SIGKILL is the last resort.
GRACE_SECONDS = 12.0


@dataclass(frozen=True)
class Service:
    name: str
    argv: Sequence[str]
    where: str
    env: dict[str, str] = field(default_factory=dict)


def cli(*args: str) -> list[str]:
    """argv for one of aduan's own commands, run with this interpreter."""
    return [sys.executable, "-m", "consumers.cli", *args]


def run(services: Sequence[Service], grace: float = GRACE_SECONDS) -> int:
    """Run every service until Ctrl-C or until one of them exits; returns an exit code."""
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:  # the second Ctrl-C: no more waiting
            _kill_all(children)
        stopping = True

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for service in services:
            env = {**os.environ, **service.env}
            # Own process group: a Ctrl-C in the terminal reaches only the supervisor, which
            # then stops the children in order.
            children[service.name] = subprocess.Popen(
                list(service.argv), env=env, stdin=subprocess.DEVNULL, start_new_session=True
            )
            print(
                f"aduan run: {service.name:<9} pid {children[service.name].pid:<7} {service.where}"
            )
        print("aduan run: Ctrl-C stops these; 'make stop' stops the Kafka broker", flush=True)
        failed: str | None = None
        while not stopping and failed is None:
            time.sleep(0.2)
            for name, child in children.items():
                if child.poll() is not None:
                    failed = name
                    break
        if failed is not None:
            code = children[failed].returncode
            print(f"aduan run: {failed} exited with code {code}; stopping the others", flush=True)
        _stop_all(children, grace)
        return 0 if failed is None else 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_all(children: dict[str, subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM to all at once (they stop in parallel), SIGKILL to whoever outlives ``grace``."""
    for child in reversed(list(children.values())):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, child in reversed(list(children.items())):
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"aduan run: {name} did not stop in {grace:.0f}s; killing it", flush=True)
            child.kill()
            child.wait()
        print(f"aduan run: {name} stopped (exit {child.returncode})", flush=True)


def _kill_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.kill()
