"""Metric history for the real-Prometheus alert test: one function of time per series.

A `Series` knows its value at any time ``t`` (seconds relative to ``t0``, the test's "now" when the
history is written; negative = the past). The same function feeds both sides of one continuous
series: `write_openmetrics` backfills the past (``promtool tsdb create-blocks-from openmetrics``)
and `MetricsEndpoint` serves the value *now* on a real HTTP /metrics endpoint that Prometheus
scrapes, with the labels ``job`` and ``instance`` that the scrape adds, so backfilled and scraped
samples are one series.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MINUTE = 60.0
HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True)
class Series:
    name: str
    kind: Literal["counter", "gauge"]
    labels: dict[str, str]
    value: Callable[[float], float]
    """The value at ``t`` seconds relative to t0 (a counter's never decreases)."""
    start: float = -8 * HOUR
    step: float = 30.0
    target: str = field(default="", compare=False)
    """``job/instance`` of the endpoint that serves it (set by `MetricsEndpoint.add`); empty
    for a series no target serves (no job, no instance label)."""


def steps_every(interval: float, since: float) -> Callable[[float], float]:
    """A counter that counts one every ``interval`` seconds from ``since`` on (0 before)."""
    return lambda t: 0.0 if t < since else float(int((t - since) // interval) + 1)


def _labels(labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def write_openmetrics(path: Path, series: Iterable[Series], t0: float) -> int:
    """Every series' samples from its ``start`` to t0 (inclusive), grouped by metric name as
    OpenMetrics wants; returns the number of samples."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for s in sorted(series, key=lambda s: (s.name, _labels(s.labels))):
            scraped = {}
            if s.target:
                scraped["job"], scraped["instance"] = s.target.split("/", 1)
            labels = _labels({**s.labels, **scraped})
            t = s.start
            while t <= 0:
                out.write(f"{s.name}{labels} {s.value(t)} {t0 + t:.3f}\n")
                count += 1
                t += s.step
        out.write("# EOF\n")
    return count


class _Collector(Collector):
    def __init__(self, series: Sequence[Series], t0: float) -> None:
        self.series, self.t0 = series, t0

    def collect(self) -> Iterator[Metric]:
        now = time.time() - self.t0
        by_name: dict[str, list[Series]] = {}
        for s in self.series:
            by_name.setdefault(s.name, []).append(s)
        for name, group in sorted(by_name.items()):
            keys = sorted(group[0].labels)
            family: CounterMetricFamily | GaugeMetricFamily
            if group[0].kind == "counter":
                family = CounterMetricFamily(name, "history of the alert test", labels=keys)
            else:
                family = GaugeMetricFamily(name, "history of the alert test", labels=keys)
            for s in group:
                family.add_metric([s.labels[k] for k in keys], s.value(now))
            yield family


class MetricsEndpoint:
    """A real HTTP server serving ``/metrics`` (Prometheus text format) for its series, now."""

    def __init__(self, job: str, t0: float) -> None:
        self.job, self.t0 = job, t0
        self.series: list[Series] = []
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(self.series, t0))
        registry = self.registry

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = generate_latest(registry)
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.instance = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, *series: Series) -> list[Series]:
        placed = [
            Series(
                s.name, s.kind, s.labels, s.value, s.start, s.step, f"{self.job}/{self.instance}"
            )
            for s in series
        ]
        self.series.extend(placed)
        return placed

    def families(self) -> set[str]:
        text = generate_latest(self.registry).decode()
        return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
