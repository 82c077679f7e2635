"""Starting the notifier: the factory, the start banner, ``--check``, /metrics, run until a signal.

`serve` is what ``aduan notifier`` and ``python -m consumers.notifier`` both call.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from consumers.connectivity import BrokerLink
from consumers.notifier.delivery import Sender
from consumers.notifier.directory import Directory, DirectoryError, load_directory
from consumers.notifier.health import serve_metrics_and_health
from consumers.notifier.metrics import notifier_registry
from consumers.notifier.service import Notifier
from consumers.notifier.settings import NotifierSettings
from consumers.settings import EngineSettings
from consumers.stopping import StopWatchdog
from workflow.policy import load_policy

__all__ = [
    "NotifierStartError",
    "create_notifier",
    "describe",
    "run_notifier",
    "serve",
]


class NotifierStartError(Exception):
    """The notifier cannot start (settings or directory); ``str()`` is one line."""


def create_notifier(
    directory_path: Path | None = None, sender: Sender | None = None, **engine_overrides: Any
) -> Notifier:
    """The factory: settings from the environment, the directory checked against the policy
    (raises `consumers.notifier.directory.DirectoryError` with one line)."""
    engine = EngineSettings(**engine_overrides)
    settings = NotifierSettings()
    policy = load_policy(engine.policy_file)
    directory = load_directory(directory_path or settings.directory, policy)
    return Notifier(engine, settings, directory, policy, sender)


def run_notifier(notifier: Notifier, broker: BrokerLink | None = None) -> None:
    """Run until SIGINT/SIGTERM (blocking); a stop that hangs on an unreachable broker ends by
    force after ``stop_grace`` (consumers.stopping)."""
    watchdog = StopWatchdog("notifier", notifier.engine.stop_grace)

    def request_stop(stop: asyncio.Event) -> None:
        watchdog.requested()
        stop.set()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, request_stop, stop)
        await notifier.run(stop)

    if broker is not None:
        broker.start()
    try:
        asyncio.run(main())
    finally:
        if broker is not None:
            broker.stop()


def describe(directory: Directory) -> Iterable[str]:
    """One line per agency route, for the start banner and ``--check``."""
    for code, routes in sorted(directory.agencies.items()):
        levels = ", ".join(f"L{n}: {'+'.join(o)}" for n, o in sorted(routes.levels.items()))
        liaison = "+".join(routes.liaison) if routes.liaison else "-"
        yield f"{code}: liaison {liaison}; {levels or 'no levels'}"
    digest = directory.digest
    if digest.enabled:
        names = [o.id for o in directory.digest_officers()]
        yield f"daily digest at {digest.at} local time to {len(names)} officers"


def serve(
    directory: Path | None,
    check: bool,
    metrics_port: int,
    say: Callable[[str], None],
    metrics_host: str = "127.0.0.1",
) -> None:
    """Check the directory, print the banner, then (unless ``check``) serve /metrics and
    /healthz on ``metrics_host`` (0.0.0.0 where Prometheus scrapes from outside) and
    ``metrics_port`` (0 = off), and run until a signal. Raises `NotifierStartError`."""
    try:
        notifier = create_notifier(directory)
    except (DirectoryError, ValidationError) as exc:
        raise NotifierStartError(str(exc).splitlines()[0]) from None
    for line in describe(notifier.directory):
        say(f"aduan notifier: {line}")
    if check:
        say("aduan notifier: directory ok")
        return
    bootstrap = ",".join(notifier.engine.kafka_bootstrap)
    say(f"aduan notifier: {notifier.topics.events} on {bootstrap}")
    registry = notifier_registry(
        notifier.stats, notifier.pending, notifier.settings.failing_after_seconds
    )
    broker = BrokerLink(
        "notifier",
        notifier.engine.kafka_bootstrap,
        registry=registry,
        summary_interval=notifier.engine.broker_summary_interval,
    )
    if metrics_port:
        serve_metrics_and_health(
            metrics_port, registry, lambda: _health(notifier, broker), host=metrics_host
        )
        say(
            f"aduan notifier: metrics on http://{metrics_host}:{metrics_port}/metrics, "
            "health on /healthz"
        )
    run_notifier(notifier, broker)


def _health(notifier: Notifier, broker: BrokerLink) -> tuple[bool, dict[str, Any]]:
    ready = notifier.ready.is_set()
    healthy = ready and broker.connected
    return healthy, {"healthy": healthy, "ready": ready, "broker": broker.status()}
