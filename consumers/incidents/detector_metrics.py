"""The detector's own series on its ``/metrics`` (no case id, no text: counts by kind only).

``aduan_incident_commands_total{kind}``: commands it sent to ``cases.commands``, ``link`` (a
case joins an incident or its reporter count rises) and ``formal``/``material`` (a linked case
follows its incident's verification).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

__all__ = ["DetectorMetrics"]


class DetectorMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.commands = Counter(
            "aduan_incident_commands",
            "Commands the incident detector sent, by kind (link, formal, material).",
            ["kind"],
            registry=registry,
        )
        for kind in ("link", "formal", "material"):
            self.commands.labels(kind)
