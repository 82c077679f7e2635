"""Prometheus metrics: observers of the engine, never inside the core (STYLE habit 8).

Every collector lives in one object built on an *injected* ``CollectorRegistry``, so a test reads
sample values from a fresh registry and two engines in one process never collide. Metric names
are a contract (prefix ``aduan_``); label values come from closed sets only: agency codes from the
policy (anything else -> ``other``), states, stages, channels, dead-letter reasons, escalation
levels and warning thresholds. A case id, a reporter or free text is never a label.

Where each number comes from (and why there):

* **The event relay, after its Kafka transaction commits** (:meth:`EngineMetrics.published`):
  ``aduan_complaints_received_total``, ``aduan_sla_warnings_total``, ``aduan_sla_breaches_total``,
  ``aduan_escalations_total``. These count the events on ``cases.events`` exactly once (a batch
  whose transaction aborts is redone and counted then). The relay of each worker counts the
  changelog partitions its own consumer group gave it; Prometheus sums the workers.
* **The case agent, when it applies a message** (:meth:`EngineMetrics.applied`):
  ``aduan_case_transitions_total`` (needs the state *before*, which the outbox does not carry),
  ``aduan_stage_duration_seconds`` (needs the clock that just stopped),
  ``aduan_cases_resolved_total`` (needs whether the case breached before it was resolved) and
  ``aduan_event_processing_seconds`` (``occurred_at`` of the message -> the engine clock's ``now``
  when it is applied, so it is right on the simulated clock too). A message redelivered after a
  crash is a no-op for the core (the case remembers what it applied), so it is not counted twice.
* **The case table, by partition** (:class:`CaseCounts`): ``aduan_cases_open`` and
  ``aduan_cases_overdue``. Per-partition counts are recounted from the table whenever faust
  finishes a recovery (start, restart, every rebalance) and kept current by the agent's writes;
  a scrape sums the partitions this worker owns *now*. So the gauges follow the table, not a
  running sum of increments that could drift, and a scrape costs O(labels), not O(cases).
* ``aduan_messages_deadlettered_total``: the agent, when it dead-letters.
* ``aduan_notifications_total`` is the notifier's own (:mod:`consumers.notifier.metrics`).
"""

from __future__ import annotations

import json
import time
from collections import Counter as Tally
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from consumers.incidents.metrics import IncidentCounts
from states.lifecycle import FINAL_STATES, CaseState, lifecycle
from workflow.calendar import WorkingCalendar
from workflow.case import Case
from workflow.codec import MessageErrorReason
from workflow.enums import Channel, Priority
from workflow.evolving import EVENT_STATE
from workflow.policy import Policy
from workflow.responsibility import responsible_agency
from workflow.sla import SlaClock, Stage, elapsed_seconds

__all__ = [
    "OTHER",
    "CaseCounts",
    "EngineMetrics",
    "HttpMetrics",
    "new_registry",
]

OTHER = "other"
"""The label value for anything outside a closed set (an agency not in the policy, ...)."""
NO_STATE = "none"
"""``from_state`` of the transition that opens a case."""
UNKNOWN_CASE = "unknown_case"
"""Dead-letter reason of a command for a case that does not exist."""
COMMAND_LIMIT = "command_limit"
"""Dead-letter reason of a command to a case that applied as many commands as it remembers."""
DEADLETTER_REASONS: tuple[str, ...] = (
    *(r.value for r in MessageErrorReason),
    UNKNOWN_CASE,
    COMMAND_LIMIT,
)
RESOLVED_OUTCOMES: tuple[str, ...] = ("within_sla", "late")

_DAY = 86400.0
#: Office seconds (working-day stages) or wall seconds (calendar-day stages): 1 h .. 120 days.
STAGE_BUCKETS = (3600.0, 14400.0, 28800.0, *(d * _DAY for d in (1, 2, 3, 5, 10, 20, 30, 60, 120)))
#: From a message's occurred_at to the engine applying it: 5 ms .. 10 min.
PROCESSING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600)

_CHANNELS = frozenset(c.value for c in Channel)
_PRIORITIES = frozenset(p.value for p in Priority)
NO_PRIORITY = "none"


def priority_label(value: Any) -> str:
    """A priority as a label: one of the closed list, 'none' when absent, else 'other'."""
    if value is None:
        return NO_PRIORITY
    return value if value in _PRIORITIES else OTHER


_COUNTED_EVENTS = (b"CaseOpened", b"SlaWarningRaised", b"SlaBreached", b"CaseEscalated")
_TYPE_MARKERS = tuple(b'"type":"' + name + b'"' for name in _COUNTED_EVENTS)


def new_registry(*, process: bool = True) -> CollectorRegistry:
    """A fresh registry, with the process and platform collectors unless ``process=False``."""
    registry = CollectorRegistry(auto_describe=True)
    if process:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
    return registry


def threshold_label(fraction: float) -> str:
    """``0.5`` -> ``"0.5"``, ``0.75`` -> ``"0.75"`` (the warning threshold label)."""
    return format(fraction, "g")


class _Labels:
    """Closed label sets derived from the policy."""

    def __init__(self, policy: Policy) -> None:
        self.agencies: tuple[str, ...] = (*(a.code for a in policy.agencies), OTHER)
        self._known = frozenset(self.agencies)
        self.thresholds = tuple(threshold_label(t) for t in policy.sla.warning_thresholds)
        tops = [policy.ladder_for(a).top for a in policy.agencies] + [policy.ladder.top]
        self.levels = tuple(str(n) for n in range(1, max(tops) + 1))
        self.open_states = tuple(s.value for s in CaseState if s not in FINAL_STATES)
        self.stages = tuple(s.value for s in Stage)

    def agency(self, code: str | None) -> str:
        return code if code is not None and code in self._known else OTHER

    def level(self, level: int) -> str:
        text = str(level)
        return text if text in self.levels else OTHER


class _SnapshotAgencies(NamedTuple):
    """The agency fields of a case snapshot read as JSON (for `responsible_agency`)."""

    agency: str | None
    triage_agency: str


_STAGES = {s.value: s for s in Stage}


class CaseCounts(Collector):
    """``aduan_cases_open{state,agency}`` and ``aduan_cases_overdue{stage,agency}`` by partition.

    ``owned`` returns the partitions this worker owns now; only those are reported. Call
    :meth:`recount` with every (partition, case) of the table when a recovery completes, and
    :meth:`update` for every table write.
    """

    def __init__(self, labels: _Labels, owned: Callable[[], Iterable[int]]) -> None:
        self._labels = labels
        self._owned = owned
        self._open: dict[int, Tally[tuple[str, str]]] = {}
        self._overdue: dict[int, Tally[tuple[str, str]]] = {}

    def _keys(self, case: Case | None) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
        if case is None or case.is_final:
            return None, None
        agency = self._labels.agency(responsible_agency(case))
        opened = (case.state.value, agency)
        clock = case.timers.clock
        if clock is None or not clock.breached:
            return opened, None
        responsible = responsible_agency(case, clock.stage)
        return opened, (clock.stage.value, self._labels.agency(responsible))

    def update(self, partition: int, before: Case | None, after: Case | None) -> None:
        """One table write: ``before`` replaced by ``after`` in ``partition``."""
        old_open, old_overdue = self._keys(before)
        new_open, new_overdue = self._keys(after)
        if old_open != new_open:
            tally = self._open.setdefault(partition, Tally())
            if old_open is not None:
                tally[old_open] -= 1
            if new_open is not None:
                tally[new_open] += 1
        if old_overdue != new_overdue:
            tally = self._overdue.setdefault(partition, Tally())
            if old_overdue is not None:
                tally[old_overdue] -= 1
            if new_overdue is not None:
                tally[new_overdue] += 1

    def recount(self, cases: Iterable[tuple[int, Case]]) -> None:
        """Replace every count with a count of ``cases`` (the whole table)."""
        opened: dict[int, Tally[tuple[str, str]]] = {}
        overdue: dict[int, Tally[tuple[str, str]]] = {}
        for partition, case in cases:
            open_key, overdue_key = self._keys(case)
            if open_key is not None:
                opened.setdefault(partition, Tally())[open_key] += 1
            if overdue_key is not None:
                overdue.setdefault(partition, Tally())[overdue_key] += 1
        self._open, self._overdue = opened, overdue

    def totals(self) -> tuple[Tally[tuple[str, str]], Tally[tuple[str, str]]]:
        """(open, overdue) summed over the owned partitions."""
        owned = set(self._owned())
        opened: Tally[tuple[str, str]] = Tally()
        overdue: Tally[tuple[str, str]] = Tally()
        for partition in owned:
            opened.update(self._open.get(partition, {}))
            overdue.update(self._overdue.get(partition, {}))
        return opened, overdue

    def describe(self) -> Iterable[Metric]:
        return [
            GaugeMetricFamily("aduan_cases_open", "", labels=["state", "agency"]),
            GaugeMetricFamily("aduan_cases_overdue", "", labels=["stage", "agency"]),
        ]

    def collect(self) -> Iterable[Metric]:
        opened, overdue = self.totals()
        open_family = GaugeMetricFamily(
            "aduan_cases_open",
            "Open (non-final) cases in the partitions this worker owns, by state and agency.",
            labels=["state", "agency"],
        )
        overdue_family = GaugeMetricFamily(
            "aduan_cases_overdue",
            "Open cases whose stage deadline has passed (breached), by stage and agency.",
            labels=["stage", "agency"],
        )
        for agency in self._labels.agencies:
            for state in self._labels.open_states:
                open_family.add_metric([state, agency], opened.get((state, agency), 0))
            for stage in self._labels.stages:
                overdue_family.add_metric([stage, agency], overdue.get((stage, agency), 0))
        return [open_family, overdue_family]


class EngineMetrics:
    """Every ``aduan_*`` collector of one engine worker, on ``registry``."""

    def __init__(
        self,
        registry: CollectorRegistry,
        policy: Policy,
        *,
        calendar: Callable[[str | None], WorkingCalendar],
        owned_partitions: Callable[[], Iterable[int]] = lambda: (),
    ) -> None:
        self.registry = registry
        self.labels = labels = _Labels(policy)
        self._calendar = calendar
        self.received = Counter(
            "aduan_complaints_received_total",
            "Complaints that opened a case, by intake channel (counted from CaseOpened events "
            "as published on cases.events; duplicates of a complaint open no case).",
            ["channel"],
            registry=registry,
        )
        self.by_priority = Counter(
            "aduan_complaints_by_priority_total",
            "Complaints that opened a case, by the intake's priority ('none': not given).",
            ["priority"],
            registry=registry,
        )
        self.breaches_by_priority = Counter(
            "aduan_sla_breaches_by_priority_total",
            "SLA deadlines breached, by stage and the case's priority ('none': not given).",
            ["stage", "priority"],
            registry=registry,
        )
        self.transitions = Counter(
            "aduan_case_transitions_total",
            "Lifecycle state changes (from_state 'none' opens a case).",
            ["from_state", "to_state"],
            registry=registry,
        )
        self.stage_duration = Histogram(
            "aduan_stage_duration_seconds",
            "Time counted by a stage's SLA clock when the stage ends (office seconds for "
            "working-day stages, wall seconds for calendar-day stages; paused time excluded).",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=registry,
        )
        self.warnings = Counter(
            "aduan_sla_warnings_total",
            "SLA warnings raised (threshold = share of the stage budget elapsed).",
            ["stage", "agency", "threshold"],
            registry=registry,
        )
        self.breaches = Counter(
            "aduan_sla_breaches_total",
            "SLA deadlines breached, by stage and responsible agency.",
            ["stage", "agency"],
            registry=registry,
        )
        self.escalations = Counter(
            "aduan_escalations_total",
            "Escalations by ladder level reached and agency.",
            ["level", "agency"],
            registry=registry,
        )
        self.resolved = Counter(
            "aduan_cases_resolved_total",
            "Cases resolved by the agency: within_sla = no breach and no escalation before the "
            "resolution, else late (the base of the SLA compliance recording rules).",
            ["agency", "outcome"],
            registry=registry,
        )
        self.deadlettered_total = Counter(
            "aduan_messages_deadlettered_total",
            "Messages sent to the deadletter topic, by reason.",
            ["reason"],
            registry=registry,
        )
        self.processing = Histogram(
            "aduan_event_processing_seconds",
            "From a message's occurred_at to the engine applying it, on the engine's clock.",
            buckets=PROCESSING_BUCKETS,
            registry=registry,
        )
        self.cases = CaseCounts(labels, owned_partitions)
        registry.register(self.cases)
        self.incidents = IncidentCounts(owned_partitions)
        registry.register(self.incidents)
        self._transition_children: dict[tuple[str, str], Any] = {}
        self._preset()

    def _preset(self) -> None:
        """Create every labelled series at 0, so ``increase()`` sees the first event."""
        lb = self.labels
        for channel in Channel:
            self.received.labels(channel=channel.value)
        edges = {(NO_STATE, CaseState.RECEIVED.value)} | {
            (e.source.value, e.dest.value) for e in lifecycle().edges() if not e.internal
        }
        for source, dest in sorted(edges):
            self._transition_children[source, dest] = self.transitions.labels(source, dest)
        for stage in lb.stages:
            self.stage_duration.labels(stage=stage)
            for agency in lb.agencies:
                self.breaches.labels(stage=stage, agency=agency)
                for threshold in lb.thresholds:
                    self.warnings.labels(stage=stage, agency=agency, threshold=threshold)
        for agency in lb.agencies:
            for level in lb.levels:
                self.escalations.labels(level=level, agency=agency)
            for outcome in RESOLVED_OUTCOMES:
                self.resolved.labels(agency=agency, outcome=outcome)
        for reason in (*DEADLETTER_REASONS, OTHER):
            self.deadlettered_total.labels(reason=reason)

    # -- the case agent ---------------------------------------------------------------------

    def applied(
        self,
        partition: int,
        before: Case | None,
        after: Case,
        events: Sequence[Any],
        occurred_at: datetime,
        now: datetime,
    ) -> None:
        """The agent applied a message (occurred at ``occurred_at``) at ``now``: ``before``
        became ``after`` through ``events``."""
        self.processing.observe(max(0.0, (now - occurred_at).total_seconds()))
        self.cases.update(partition, before, after)
        self.incidents.update(partition, before, after)
        state = before.state.value if before is not None else NO_STATE
        for event in events:
            dest = EVENT_STATE.get(event.type)
            if dest is not None and dest.value != state:
                child = self._transition_children.get((state, dest.value))
                if child is None:  # not in the table: still count it, under its own labels
                    child = self.transitions.labels(state, dest.value)
                child.inc()
                state = dest.value
            if event.type == "ComplaintResolved" and before is not None:
                clock = before.timers.clock
                late = before.escalation_level > 0 or (clock is not None and clock.breached)
                self.resolved.labels(
                    agency=self.labels.agency(before.agency),
                    outcome="late" if late else "within_sla",
                ).inc()
        if before is not None:
            old, new = before.timers, after.timers
            self._stage_ended(before, old.clock, new.clock, now)
            self._stage_ended(before, old.reporter_clock, new.reporter_clock, now)

    def _stage_ended(
        self, case: Case, old: SlaClock | None, new: SlaClock | None, now: datetime
    ) -> None:
        if old is None or (
            new is not None and new.stage == old.stage and new.started_at == old.started_at
        ):
            return
        agency = responsible_agency(case, old.stage)
        seconds = elapsed_seconds(old, now, self._calendar(agency))
        self.stage_duration.labels(stage=old.stage.value).observe(seconds)

    def deadlettered(self, reason: str) -> None:
        value = str(reason)
        if value not in DEADLETTER_REASONS:
            value = OTHER
        self.deadlettered_total.labels(reason=value).inc()

    def recount(self, cases: Iterable[tuple[int, Case]]) -> None:
        """Recount the open/overdue gauges from the whole case table (after a recovery)."""
        cases = list(cases)
        self.cases.recount(cases)
        self.incidents.recount(cases)

    # -- the event relay --------------------------------------------------------------------

    def published(self, snapshot: bytes, outbox: Sequence[bytes]) -> None:
        """The relay committed ``outbox`` (and ``snapshot``) to cases.events / cases.state.

        Only events with a counted type are decoded (a bytes search finds them first)."""
        case: dict[str, Any] | None = None
        for raw in outbox:
            if not any(marker in raw for marker in _TYPE_MARKERS):
                continue
            try:
                event = json.loads(raw)
                if case is None:
                    case = json.loads(snapshot)
                self._count_event(event, case)
            except (ValueError, KeyError, TypeError):
                continue  # unreadable: the relay logs those; metrics never break publishing

    def _count_event(self, event: dict[str, Any], case: dict[str, Any]) -> None:
        type_ = event["type"]
        payload = event["payload"]
        if type_ == "CaseOpened":
            channel = payload["channel"]
            self.received.labels(channel=channel if channel in _CHANNELS else OTHER).inc()
            self.by_priority.labels(priority=priority_label(payload.get("priority"))).inc()
            return
        stage = payload.get("stage")
        owner = _SnapshotAgencies(case.get("agency"), case.get("triage_agency") or "")
        agency = self.labels.agency(responsible_agency(owner, _STAGES.get(stage)))
        stage_label = stage if stage in self.labels.stages else OTHER
        if type_ == "SlaWarningRaised":
            threshold = threshold_label(float(payload["threshold"]))
            if threshold not in self.labels.thresholds:
                threshold = OTHER
            self.warnings.labels(stage=stage_label, agency=agency, threshold=threshold).inc()
        elif type_ == "SlaBreached":
            self.breaches.labels(stage=stage_label, agency=agency).inc()
            priority = priority_label(case.get("priority"))
            self.breaches_by_priority.labels(stage=stage_label, priority=priority).inc()
        elif type_ == "CaseEscalated":
            self.escalations.labels(
                level=self.labels.level(int(payload["level"])), agency=agency
            ).inc()


class HttpMetrics:
    """ASGI middleware for the gateway: ``aduan_gateway_http_requests_total{method,route,
    status}`` and ``aduan_gateway_http_request_seconds{route}``. ``route`` is the route's
    template (``/cases/{tracking}``), never the requested path, so no id becomes a label."""

    def __init__(self, app: Any, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "aduan_gateway_http_requests_total",
            "HTTP requests answered by the gateway, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "aduan_gateway_http_request_seconds",
            "Gateway request latency by route template.",
            ["route"],
            registry=registry,
        )

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}
        started = time.perf_counter()

        async def observe(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "GET")
            if method not in _METHODS:
                method = OTHER
            self.requests.labels(method=method, route=route, status=str(status["code"])).inc()
            self.latency.labels(route=route).observe(time.perf_counter() - started)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def iter_table(
    items: Iterable[tuple[bytes, Any]], partition_of: Callable[[bytes], int]
) -> Iterator[tuple[int, Case]]:
    """(partition, case) for every (key, CaseRecord) of the case table."""
    for key, record in items:
        yield partition_of(key), record.case


def metrics_endpoint(registry: CollectorRegistry) -> Callable[[Any], Awaitable[Any]]:
    """A Starlette/FastAPI endpoint serving ``registry`` in the Prometheus text format."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    from starlette.responses import Response

    async def endpoint(request: Any) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return endpoint
