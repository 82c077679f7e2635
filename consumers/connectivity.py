"""Broker connectivity: one `BrokerLink` per process, and a filter that quiets the Kafka clients.

While the broker is down, aiokafka and kafka-python log every reconnect attempt at ERROR (about
18,000 lines a minute for a worker, a gateway and a notifier). A `BrokerLink` probes the bootstrap
servers over TCP in a daemon thread (independent of any event loop, so it also answers while
faust is starting or stopping) and says it in three kinds of line instead: one when the broker is
lost, a summary every ``summary_interval`` seconds while it stays away, one when it is back.
`ReconnectNoiseFilter` drops the clients' own connection-failure records while the link is down
and lets at most one of each kind through per summary interval while it is up; any other record
of those loggers passes untouched. The state is also the gauge ``aduan_broker_connected{process}``
(1 reachable, 0 not) and `BrokerLink.status` (the health endpoints).

A TCP connect is a weaker check than a Kafka request; it is what can be asked cheaply and without
credentials, and the clients' own errors (counted here) tell the rest.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

log = logging.getLogger("aduan.broker")

#: What the Kafka clients log when the broker cannot be reached (rendered message text).
CONNECTION_NOISE = re.compile(
    r"Connect call failed|NodeNotReadyError|KafkaConnectionError|Unable connect to"
    r"|Unable to update metadata|Unable to bootstrap|GroupCoordinatorNotAvailableError"
    r"|Marking the coordinator dead|Connection refused|connect attempt to|Connection at .* closed"
    r"|Error sending HeartbeatRequest|Heartbeat send request failed|LeaveGroup request failed"
)
#: Logger name prefixes of the Kafka clients (faust's driver included).
CLIENT_LOGGERS = ("aiokafka", "kafka", "faust.transport")


def _address(server: str) -> tuple[str, int]:
    host, _, port = server.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def tcp_reachable(servers: Sequence[str], timeout: float) -> bool:
    """True when one of ``servers`` (host:port) accepts a TCP connection within ``timeout``."""
    for server in servers:
        try:
            with socket.create_connection(_address(server), timeout=timeout):
                return True
        except OSError:
            continue
    return False


class BrokerLink:
    """Whether this process reaches the broker, with the lines and the gauge that say so.

    `observe` is the state machine (one probe result); `start` runs probes in a daemon thread.
    """

    def __init__(
        self,
        process: str,
        servers: Sequence[str],
        *,
        registry: CollectorRegistry | None = None,
        probe_interval: float = 1.0,
        summary_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        probe: Callable[[], bool] | None = None,
    ) -> None:
        self.process = process
        self.servers = list(servers)
        self.probe_interval = probe_interval
        self.summary_interval = summary_interval
        self._clock = clock
        self._probe = probe or (lambda: tcp_reachable(self.servers, min(1.0, probe_interval)))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Optimistic until the first probe: the process only starts after reaching the broker.
        self.connected = True
        self.lost_at: float | None = None
        self._last_summary = 0.0
        self.failed_probes = 0
        self.client_errors = 0  # client connection-failure records seen during this outage
        self._noise: ReconnectNoiseFilter | None = None
        self._gauge: Gauge | None = None
        if registry is not None:
            self._gauge = Gauge(
                "aduan_broker_connected",
                "1 while this process reaches the Kafka broker (TCP probe), else 0.",
                ["process"],
                registry=registry,
            )
            self._gauge.labels(process).set(1)

    # -- state ---------------------------------------------------------------------------

    def observe(self, reachable: bool) -> None:
        """One probe result: log the transitions and, while down, the periodic summary."""
        now = self._clock()
        with self._lock:
            if reachable and not self.connected:
                self._back(now)
            elif not reachable and self.connected:
                self._lost(now)
            elif not reachable:
                self.failed_probes += 1
                if now - self._last_summary >= self.summary_interval:
                    self._last_summary = now
                    log.warning("%s", self._summary(now, "still unreachable"))

    def _lost(self, now: float) -> None:
        self.connected = False
        self.lost_at = self._last_summary = now
        self.failed_probes = 1
        self.client_errors = 0
        self._set_gauge(0)
        if self._noise is not None:  # client loggers created since the start get it too
            install_noise_filter(self, self._noise)
        log.error(
            "broker %s unreachable from the %s; retrying quietly, a summary every %.0f s",
            ",".join(self.servers),
            self.process,
            self.summary_interval,
        )

    def _back(self, now: float) -> None:
        log.warning("%s", self._summary(now, "reachable again"))
        self.connected = True
        self.lost_at = None
        self._set_gauge(1)

    def _summary(self, now: float, what: str) -> str:
        down = now - (self.lost_at if self.lost_at is not None else now)
        return (
            f"broker {','.join(self.servers)} {what} ({down:.0f} s unreachable, "
            f"{self.failed_probes} probes failed, {self.client_errors} client reconnect "
            "errors not logged)"
        )

    def _set_gauge(self, value: int) -> None:
        if self._gauge is not None:
            self._gauge.labels(self.process).set(value)

    def note_client_error(self) -> None:
        with self._lock:
            self.client_errors += 1

    def unreachable_for(self) -> float:
        """Seconds since the broker was lost (0 while connected)."""
        lost = self.lost_at
        return 0.0 if lost is None else self._clock() - lost

    def status(self) -> dict[str, Any]:
        """For the health endpoints."""
        return {
            "connected": self.connected,
            "unreachable_seconds": round(self.unreachable_for(), 1),
            "servers": self.servers,
        }

    # -- probing -------------------------------------------------------------------------

    def start(self) -> BrokerLink:
        """Probe in a daemon thread until `stop`; also quiets the Kafka clients' loggers."""
        self._noise = install_noise_filter(self, self._noise)
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"broker-link-{self.process}", daemon=True
            )
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.probe_interval):
            self.observe(self._probe())

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=2 * self.probe_interval + 1)


class ReconnectNoiseFilter(logging.Filter):
    """Drops the Kafka clients' connection-failure records while `link` is down; while it is up,
    lets one of each kind through per summary interval. Every other record passes."""

    def __init__(self, link: BrokerLink) -> None:
        super().__init__()
        self.link = link
        self._last_seen: dict[tuple[str, object], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record is not ours to judge
            return True
        if not CONNECTION_NOISE.search(text):
            return True
        self.link.note_client_error()
        if not self.link.connected:
            return False
        kind = (record.name, record.msg)
        now = time.monotonic()
        last = self._last_seen.get(kind)
        if last is not None and now - last < self.link.summary_interval:
            return False
        self._last_seen[kind] = now
        return True


def install_noise_filter(
    link: BrokerLink, noise: ReconnectNoiseFilter | None = None
) -> ReconnectNoiseFilter:
    """Attach one filter to every Kafka client logger (a logger's filters do not apply to its
    children's records, so each gets it); idempotent per logger."""
    import aiokafka  # noqa: F401  (their loggers exist once imported)
    import kafka  # noqa: F401

    noise = noise if noise is not None else ReconnectNoiseFilter(link)
    names = [n for n in logging.Logger.manager.loggerDict if n.startswith(CLIENT_LOGGERS)]
    for name in {*names, *CLIENT_LOGGERS}:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, ReconnectNoiseFilter)]:
            if old is not noise:
                logger.removeFilter(old)
        logger.addFilter(noise)  # no-op when already there
    return noise
