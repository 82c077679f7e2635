"""``aduan_notifications_total{outcome}`` for the notifier, read from its counters at scrape time.

A collector rather than increments sprinkled through the delivery code: the notifier already counts
every outcome in `NotifierStats`, so the metric cannot disagree with them.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from consumers.notifier.stats import NotifierStats


class NotifierCollector(Collector):
    def __init__(self, stats: NotifierStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[CounterMetricFamily]:
        stats = self._stats
        family = CounterMetricFamily(
            "aduan_notifications",
            "Escalation notifications by outcome (delivered, retried, failed, duplicate).",
            labels=["outcome"],
        )
        family.add_metric(["delivered"], stats.delivered)
        family.add_metric(["retried"], stats.retried)
        family.add_metric(["failed"], stats.deadlettered)
        family.add_metric(["duplicate"], stats.duplicates_skipped)
        family.add_metric(["other"], stats.no_recipients + stats.invalid_events)
        yield family


def notifier_registry(stats: NotifierStats) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(NotifierCollector(stats))
    return registry
