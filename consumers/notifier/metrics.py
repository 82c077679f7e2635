"""The notifier's metrics, read from its counters and its receipts at scrape time.

* ``aduan_notifications_total{outcome}``: deliveries by outcome;
* ``aduan_messages_deadlettered_total{source="notifier",reason}``: its dead letters, in the same
  counter as the engine's (whose series have no ``source``); sum them for every dead letter;
* ``aduan_notifications_pending``, ``aduan_notifications_oldest_pending_seconds``: deliveries
  pending as the receipts topic says (every notifier of a group reports the same view: use max);
* ``aduan_notifications_failing_after_seconds``: the notifier's ``failing_after_seconds``, the
  threshold the ``AduanNotificationsFailing`` rule compares the oldest pending age with (the
  threshold lives beside the backoff it must exceed, and a test can set it without another rule).

A collector rather than increments sprinkled through the delivery code: the notifier already counts
every outcome in `NotifierStats`, so the metric cannot disagree with them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from consumers.notifier.stats import NotifierStats

Pending = Callable[[], tuple[int, float] | None]
"""(deliveries pending, age of the oldest in seconds); None while not known (not exported)."""


class NotifierCollector(Collector):
    def __init__(
        self,
        stats: NotifierStats,
        pending: Pending | None = None,
        failing_after: float | None = None,
    ) -> None:
        self._stats = stats
        self._pending = pending
        self._failing_after = failing_after

    def collect(self) -> Iterator[Metric]:
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
        dead = CounterMetricFamily(
            "aduan_messages_deadlettered",
            "Messages sent to the deadletter topic, by source and reason.",
            labels=["source", "reason"],
        )
        for reason, count in sorted(stats.deadletters.items()):
            dead.add_metric(["notifier", reason], count)
        yield dead
        known = self._pending() if self._pending is not None else None
        if known is not None:
            count, oldest = known
            yield GaugeMetricFamily(
                "aduan_notifications_pending", "Deliveries pending (to be retried).", value=count
            )
            yield GaugeMetricFamily(
                "aduan_notifications_oldest_pending_seconds",
                "Age of the oldest pending delivery in seconds (0 when none).",
                value=oldest,
            )
        if self._failing_after is not None:
            yield GaugeMetricFamily(
                "aduan_notifications_failing_after_seconds",
                "Oldest pending age past which AduanNotificationsFailing fires (seconds).",
                value=self._failing_after,
            )


def notifier_registry(
    stats: NotifierStats, pending: Pending | None = None, failing_after: float | None = None
) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(NotifierCollector(stats, pending, failing_after))
    return registry
