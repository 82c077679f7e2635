"""``aduan_incidents_open{priority}`` and ``aduan_incident_cases_open{priority}`` (engine side).

Counted from the case table like ``aduan_cases_open``: per partition, each open (non-final) case
linked to an incident, under the priority its reporter count gives (`incident_priority`). An
incident's priority is the highest among its cases here. An incident whose cases lie in
partitions owned by two workers is counted by both: sum ``aduan_incident_cases_open`` for an
exact figure, take ``max`` of ``aduan_incidents_open`` across workers for a lower bound.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from workflow.case import Case
from workflow.incidents.case_links import IncidentPriority, incident_priority

__all__ = ["IncidentCounts"]

_RANK = {p: n for n, p in enumerate(IncidentPriority)}


def _key(case: Case | None) -> tuple[str, IncidentPriority] | None:
    if case is None or case.is_final or case.incident_id is None:
        return None
    return case.incident_id, incident_priority(case.incident_reporters)


class IncidentCounts:
    def __init__(self, owned: Callable[[], Iterable[int]]) -> None:
        self._owned = owned
        self._linked: dict[int, Tally[tuple[str, IncidentPriority]]] = {}

    def update(self, partition: int, before: Case | None, after: Case | None) -> None:
        old, new = _key(before), _key(after)
        if old == new:
            return
        tally = self._linked.setdefault(partition, Tally())
        if old is not None:
            tally[old] -= 1
            if tally[old] <= 0:
                del tally[old]
        if new is not None:
            tally[new] += 1

    def recount(self, cases: Iterable[tuple[int, Case]]) -> None:
        linked: dict[int, Tally[tuple[str, IncidentPriority]]] = {}
        for partition, case in cases:
            key = _key(case)
            if key is not None:
                linked.setdefault(partition, Tally())[key] += 1
        self._linked = linked

    def totals(self) -> tuple[Tally[IncidentPriority], Tally[IncidentPriority]]:
        """(incidents, linked cases) by priority, over the owned partitions."""
        highest: dict[str, IncidentPriority] = {}
        cases: Tally[IncidentPriority] = Tally()
        for partition in set(self._owned()):
            for (incident, priority), count in self._linked.get(partition, {}).items():
                cases[priority] += count
                known = highest.get(incident)
                if known is None or _RANK[priority] > _RANK[known]:
                    highest[incident] = priority
        return Tally(highest.values()), cases

    def describe(self) -> Iterable[Metric]:
        return [
            GaugeMetricFamily("aduan_incidents_open", "", labels=["priority"]),
            GaugeMetricFamily("aduan_incident_cases_open", "", labels=["priority"]),
        ]

    def collect(self) -> Iterable[Metric]:
        incidents, cases = self.totals()
        incident_family = GaugeMetricFamily(
            "aduan_incidents_open",
            "Mass-complaint incidents with an open linked case here, by priority.",
            labels=["priority"],
        )
        case_family = GaugeMetricFamily(
            "aduan_incident_cases_open",
            "Open cases linked to an incident, by the incident's priority.",
            labels=["priority"],
        )
        for priority in IncidentPriority:
            incident_family.add_metric([priority.value], incidents.get(priority, 0))
            case_family.add_metric([priority.value], cases.get(priority, 0))
        return [incident_family, case_family]
