"""SLA what-if: the recorded history replayed through the pure core under another policy.

The history is what cases.events holds. The people's part of it (the intake, every command a
verifier, agency, officer or reporter sent, at the instant they sent it) is rebuilt from the
events each message caused, and fed to `Workflow.handle` under the alternative policy; the
SLA timer's part (warnings, breaches, escalations, closures for silence) is recomputed by
firing the timer whenever the alternative case says it is due, up to the last instant of the
history. The assumption, said plainly: people act at the same moments whatever the deadlines.

A case's outcome is that of the SLA compliance metric (`consumers.metrics`): ``within_sla``
(resolved with no breach and no escalation before the resolution), ``late``, ``open`` (not
resolved by the end of the history) or ``ended`` (rejected or withdrawn without a resolution).
Per agency (the one that resolved the case, else the one holding it) the compliance is the
share of resolved cases resolved within the SLA, and the Ombudsman zone that score falls in
(DOMAIN.md, the 2021 scale). Nothing here reads or writes Kafka.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from workflow.case import Case
from workflow.commands import COMMAND_TYPES
from workflow.core import Workflow
from workflow.events import Event
from workflow.intake import ComplaintSubmitted

__all__ = [
    "AgencyCompliance",
    "CaseOutcome",
    "WhatIf",
    "compare",
    "outcomes_of",
    "replay_under",
    "zone_of",
]

#: The event a command caused first -> that command (events caused by a timer have none).
_COMMAND_OF_EVENT = {
    "FormalVerificationCompleted": "CompleteFormalVerification",
    "CaseVerified": "CompleteMaterialVerification",
    "InformationRequested": "RequestInformation",
    "ComplaintRejected": "RejectComplaint",
    "InformationProvided": "ProvideInformation",
    "ResolutionConfirmed": "ConfirmResolution",
    "ResolutionDisputed": "DisputeResolution",
    "ComplaintWithdrawn": "WithdrawComplaint",
    "ReferralAccepted": "AcceptReferral",
    "ReferralReturned": "ReturnReferral",
    "FollowUpPlanPosted": "PostFollowUpPlan",
    "ComplaintResolved": "ResolveComplaint",
    "AgencyReassigned": "ReassignAgency",
    "CaseEscalated": "EscalateManually",
    "CaseTakenOver": "TakeOver",
    "CaseReferredBack": "ReferBack",
}
_LATE_EVENTS = frozenset({"SlaBreached", "CaseEscalated"})
_ENDED_STATES = frozenset({"rejected", "withdrawn"})


def zone_of(score: float) -> str:
    """The Ombudsman compliance zone of a 0-100 score (green >= 81, yellow >= 51, else red)."""
    if score >= 81.0:
        return "green"
    if score >= 51.0:
        return "yellow"
    return "red"


@dataclass(frozen=True)
class CaseOutcome:
    case_id: str
    agency: str
    outcome: str
    """within_sla, late, open or ended."""


@dataclass(frozen=True)
class AgencyCompliance:
    agency: str
    within: int
    late: int

    @property
    def score(self) -> float | None:
        resolved = self.within + self.late
        return None if resolved == 0 else 100.0 * self.within / resolved

    @property
    def zone(self) -> str:
        return "-" if self.score is None else zone_of(self.score)


@dataclass
class WhatIf:
    """Both sides of the comparison and the cases whose outcome changed."""

    now: dict[str, AgencyCompliance]
    alternative: dict[str, AgencyCompliance]
    changed: list[tuple[CaseOutcome, CaseOutcome]] = field(default_factory=list)
    cases: int = 0


# -- the people's messages, rebuilt from the events ---------------------------------------------


def _intake_of(opened: Event) -> ComplaintSubmitted:
    p = opened.payload.model_dump(mode="json")
    view = p["reporter"]
    reporter = {k: view[k] for k in ("name", "phone", "email", "confidentiality") if view.get(k)}
    keep = [
        "channel",
        "channel_message_id",
        "subject",
        "text",
        "report_type",
        "category",
        "service",
        "agency_hint",
        "priority",
        "incident_date",
        "location",
        "attachments",
        "language",
        "external_reference",
        "channel_sent_at",
    ]
    payload = {k: p[k] for k in keep if p.get(k) is not None}
    payload["received_at"] = p.get("received_at_claimed") or p["received_at"]
    payload["reporter"] = reporter
    return ComplaintSubmitted.model_validate(
        {
            "event_id": opened.causation_id or opened.event_id,
            "occurred_at": opened.occurred_at,
            "case_id": opened.case_id,
            "payload": payload,
        }
    )


def _command_of(caused: Sequence[Event], before: Case, recorded: Workflow) -> Any | None:
    """The command that caused ``caused`` (one message's events, on ``before``), or None for
    the timer's."""
    types = [e.type for e in caused]
    first = (
        caused[types.index("FollowUpPlanPosted")] if "FollowUpPlanPosted" in types else caused[0]
    )
    name = _COMMAND_OF_EVENT.get(first.type)
    if name is None or (first.causation_id or "").startswith("timer:"):
        return None
    model = COMMAND_TYPES[name]
    fields = model.model_fields["payload"].annotation.model_fields  # type: ignore[union-attr]
    given = first.payload.model_dump(mode="json")
    payload = {k: v for k, v in given.items() if k in fields and v is not None}
    if name == "CompleteMaterialVerification":
        payload.update(_material_choices(caused, given, before, recorded))
    kept = before.complaint_class.value if before.complaint_class is not None else None
    if name == "PostFollowUpPlan" and kept is not None and given.get("complaint_class") == kept:
        payload.pop("complaint_class", None)  # kept, not reclassified
    return model.model_validate(
        {
            "event_id": first.causation_id,
            "occurred_at": first.occurred_at,
            "case_id": first.case_id,
            "payload": payload,
        }
    )


def _material_choices(
    caused: Sequence[Event], given: dict[str, Any], before: Case, recorded: Workflow
) -> dict[str, Any]:
    """What the verifier chose: the agency only when named (rule ``verifier``); the class only
    when it differs from what the recorded policy derives (else the alternative derives it)."""
    choices: dict[str, Any] = {}
    referred = next((e for e in caused if e.type == "CaseReferred"), None)
    if referred is not None and getattr(referred.payload, "rule", None) == "verifier":
        choices["agency"] = referred.payload.agency
    category = before.category.value if before.category is not None else None
    derived = recorded.policy.sla.complaint_class(None, category, given.get("priority"))
    if derived.value != given["complaint_class"]:
        choices["complaint_class"] = given["complaint_class"]
    return choices


# -- replay ------------------------------------------------------------------------------------


def _messages_of(history: Sequence[Event], recorded: Workflow) -> list[tuple[datetime, Any]]:
    """The people's messages of one case, in order, with the instant each was handled."""
    groups: dict[str, list[Event]] = {}
    for event in history:
        groups.setdefault(event.causation_id or event.event_id, []).append(event)
    case: Case | None = None
    messages: list[tuple[datetime, Any]] = []
    for event in history:
        caused = groups.pop(event.causation_id or event.event_id, None)
        if caused is not None:
            if caused[0].type == "CaseOpened":
                messages.append((caused[0].occurred_at, _intake_of(caused[0])))
            elif caused[0].type != "CommandRejected" and case is not None:
                command = _command_of(caused, case, recorded)
                if command is not None:
                    messages.append((caused[0].occurred_at, command))
        case = recorded.evolve(case, event) if event.type != "CommandRejected" else case
    return messages


def replay_under(
    messages: Sequence[tuple[datetime, Any]], wf: Workflow, horizon: datetime
) -> list[Event]:
    """One case's people's messages through ``wf``, the SLA timer fired whenever due."""
    case: Case | None = None
    events: list[Event] = []

    def run_timers(until: datetime) -> None:
        nonlocal case
        while case is not None and case.wake_at is not None and case.wake_at <= until:
            due = case.wake_at
            case, fired = wf.handle(case, wf.timer_message(case, due), due)
            events.extend(fired)
            if case is not None and case.wake_at == due:
                break  # nothing moved: never loop on one instant

    for at, message in messages:
        run_timers(at)
        case, caused = wf.handle(case, message, at)
        events.extend(caused)
    run_timers(horizon)
    return events


def outcomes_of(case_id: str, events: Iterable[Event], wf: Workflow) -> CaseOutcome:
    """The outcome of one case from its events (see the module docstring)."""
    case: Case | None = None
    late = False
    for event in events:
        if event.type == "ComplaintResolved" and case is not None:
            agency = case.agency or case.triage_agency
            return CaseOutcome(case_id, agency, "late" if late else "within_sla")
        late = late or event.type in _LATE_EVENTS
        if event.type != "CommandRejected":
            case = wf.evolve(case, event)
    if case is None:
        return CaseOutcome(case_id, "-", "open")
    agency = case.agency or case.triage_agency
    return CaseOutcome(case_id, agency, "ended" if case.state in _ENDED_STATES else "open")


def _compliance(outcomes: Iterable[CaseOutcome]) -> dict[str, AgencyCompliance]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in outcomes:
        if o.outcome == "within_sla":
            counts[o.agency][0] += 1
        elif o.outcome == "late":
            counts[o.agency][1] += 1
        else:
            counts[o.agency]
    return {a: AgencyCompliance(a, w, lt) for a, (w, lt) in sorted(counts.items())}


def compare(
    histories: dict[str, list[Event]],
    recorded: Workflow,
    alternative: Workflow,
    *,
    opened_from: date | None = None,
    opened_to: date | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> WhatIf:
    """Every case of ``histories`` (case id -> its events in order) now and under the
    alternative; ``opened_from``/``opened_to`` keep the cases received in that date range."""
    horizon = max((e.occurred_at for h in histories.values() for e in h), default=None)
    now_outcomes: list[CaseOutcome] = []
    alt_outcomes: list[CaseOutcome] = []
    changed: list[tuple[CaseOutcome, CaseOutcome]] = []
    for case_id, history in histories.items():
        progress(1)
        if horizon is None or not history or history[0].type != "CaseOpened":
            continue
        received = history[0].payload.received_at.date()
        if (opened_from and received < opened_from) or (opened_to and received > opened_to):
            continue
        before = outcomes_of(case_id, history, recorded)
        replayed = replay_under(_messages_of(history, recorded), alternative, horizon)
        after = outcomes_of(case_id, replayed, alternative)
        now_outcomes.append(before)
        alt_outcomes.append(after)
        if (before.outcome, before.agency) != (after.outcome, after.agency):
            changed.append((before, after))
    return WhatIf(_compliance(now_outcomes), _compliance(alt_outcomes), changed, len(now_outcomes))


def load_history(records: Iterable[bytes]) -> tuple[dict[str, list[Event]], int]:
    """Events (one encoded event per record, as on cases.events) grouped per case in order;
    and how many records were unreadable (skipped and counted, never guessed at)."""
    from workflow.codec import InvalidMessage, parse_event

    histories: dict[str, list[Event]] = {}
    bad = 0
    for raw in records:
        if not raw.strip():
            continue
        try:
            event = parse_event(raw)
        except (InvalidMessage, ValueError):
            bad += 1
            continue
        histories.setdefault(event.case_id, []).append(event)
    return histories, bad
