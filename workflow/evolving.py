"""evolve: apply one event to a case (pure; no calendar: ``decide`` put every instant into it).

Each event type has an applier returning the fields it changes; `evolve` adds what every event
changes (state, version, the applied message ids, the wake-up instant).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from states.lifecycle import CaseState, lifecycle
from workflow.case import KEY_SIZE, Case, message_key
from workflow.escalation_state import escalated, handed_over
from workflow.events import Event
from workflow.fastpaths import memo_message_key, new_model, replace_model
from workflow.incidents.case_links import INCIDENT_EVENT_APPLIERS
from workflow.values import NO_TIMERS, Timers

__all__ = ["EVENT_STATE", "evolve", "state_after"]

EVENT_STATE: dict[str, CaseState] = {
    "CaseOpened": CaseState.RECEIVED,
    "FormalVerificationCompleted": CaseState.VERIFYING,
    "CaseVerified": CaseState.VERIFIED,
    "CaseReferred": CaseState.REFERRED,
    "InformationRequested": CaseState.AWAITING_INFORMATION,
    "InformationProvided": CaseState.VERIFYING,
    "ComplaintRejected": CaseState.REJECTED,
    "ResolutionConfirmed": CaseState.CLOSED,
    "ResolutionDisputed": CaseState.IN_PROGRESS,
    "ComplaintWithdrawn": CaseState.WITHDRAWN,
    "ReferralAccepted": CaseState.IN_PROGRESS,
    "FollowUpPlanPosted": CaseState.IN_PROGRESS,
    "ComplaintResolved": CaseState.RESOLVED,
    "AgencyReassigned": CaseState.REFERRED,
    "ClosedForReporterSilence": CaseState.CLOSED,
    "WithdrawnForMissingInformation": CaseState.WITHDRAWN,
}
"""The state each state-changing event leads to (the others leave the state as it is)."""

_TRIGGER_OF: dict[str, str] = {
    "InformationRequested": "request_information",
    "InformationProvided": "provide_information",
}
"""Events whose next state depends on the state they apply in (asked in verification, the case
awaits information; asked by the agency, it stays): the lifecycle table says which, and
`EVENT_STATE` is the fallback for a history the current table does not allow."""


def state_after(state: CaseState, event_type: str) -> CaseState | None:
    """The state an event of ``event_type`` leads to from ``state`` (None: it stays)."""
    trigger = _TRIGGER_OF.get(event_type)
    if trigger is not None:
        edge = lifecycle().table.get((state, trigger))
        if edge is not None:
            return edge.dest
    return EVENT_STATE.get(event_type)


def _state_after(case: Case, event_type: str) -> CaseState | None:
    return state_after(case.state, event_type)


def evolve(case: Case | None, event: Event) -> Case:
    """``case`` after ``event``. Raises ValueError for an event that cannot apply to None
    (only ``CaseOpened`` starts a case; an ``unknown_case`` rejection has no case)."""
    if event.type == "CaseOpened":
        return _open_case(event)
    if case is None:
        raise ValueError(f"{event.type} cannot apply to a case that does not exist")
    updates = _APPLIERS[event.type](case, event)
    state = _state_after(case, event.type)
    if state is not None:
        updates["state"] = state
    updates["version"] = case.version + 1
    if _caused_by_timer(event):
        mark = case.timer_mark
        if mark is None or event.occurred_at > mark:
            updates["timer_mark"] = event.occurred_at
    elif event.causation_id is not None:
        key = memo_message_key(event.causation_id)
        keys = case.applied_keys
        if keys[-KEY_SIZE:] != key:  # one message, several events: remembered once
            updates["applied_keys"] = keys + key
    timers = updates.get("timers")
    if timers is not None:
        updates["wake_at"] = earliest(timers)
    return replace_model(case, updates)


_TIMER_EFFECTS = frozenset(
    {
        "SlaWarningRaised",
        "SlaBreached",
        "EscalationReminderIssued",
        "ClosedForReporterSilence",
        "WithdrawnForMissingInformation",
        "InformationRequestLapsed",
        "ReporterReminderIssued",
    }
)
"""Events only the SLA timer causes (with the automatic ``CaseEscalated``). A timer event missing
here is merely remembered by its key like a command's: safe, only less compact."""


def _caused_by_timer(event: Any) -> bool:
    if event.type == "CaseEscalated":
        return bool(event.payload.automatic)
    return event.type in _TIMER_EFFECTS


def earliest(timers: Timers) -> datetime | None:
    """The first instant the SLA timer must look at a case with ``timers`` (None: never)."""
    instants = [
        t
        for t in (
            timers.clock_next_at,
            timers.reporter_due_at,
            timers.escalation_due_at,
            timers.reporter_remind_at,
        )
        if t is not None
    ]
    return min(instants) if instants else None


def _open_case(event: Any) -> Case:
    p = event.payload
    key = message_key(event.causation_id) if event.causation_id else None
    return new_model(
        Case,
        case_id=event.case_id,
        state=CaseState.RECEIVED,
        version=1,
        correlation_id=event.correlation_id or event.event_id,
        applied=(),
        applied_keys=key or b"",
        timer_mark=None,
        opened_at=p.received_at,
        channel=p.channel,
        report_type=p.report_type,
        category=p.category,
        subject=p.subject,
        reporter=p.reporter,
        triage_agency=p.triage_agency,
        suggested_agency=p.suggested_agency,
        candidates=p.candidates,
        agency=None,
        returned_by=(),
        complaint_class=None,
        priority=p.priority,
        incident_date=p.incident_date,
        incident_older_than_two_years=p.incident_older_than_two_years,
        plan_posted=False,
        handler=None,
        escalation_level=0,
        reopen_until=None,
        reopen_count=0,
        timers=p.timers,
        wake_at=earliest(p.timers),
    )


def _no_change(case: Case, event: Any) -> dict[str, Any]:
    return {}


def _apply_timers(case: Case, event: Any) -> dict[str, Any]:
    timers = event.payload.timers
    return {} if timers is None else {"timers": timers}


def _apply_final(case: Case, event: Any) -> dict[str, Any]:
    return {"timers": NO_TIMERS}


def _apply_verified(case: Case, event: Any) -> dict[str, Any]:
    p = event.payload
    return {"complaint_class": p.complaint_class, "priority": p.priority, "timers": NO_TIMERS}


def _apply_referred(case: Case, event: Any) -> dict[str, Any]:
    agency = event.payload.agency
    changes = {"agency": agency, "plan_posted": False, "timers": event.payload.timers}
    return handed_over(case, agency) | changes


def _apply_returned(case: Case, event: Any) -> dict[str, Any]:
    agency = event.payload.agency
    returned = case.returned_by if agency in case.returned_by else (*case.returned_by, agency)
    return {"returned_by": returned}


def _apply_plan(case: Case, event: Any) -> dict[str, Any]:
    p = event.payload
    return {"plan_posted": True, "complaint_class": p.complaint_class, "timers": p.timers}


def _apply_resolved(case: Case, event: Any) -> dict[str, Any]:
    p = event.payload
    return {"reopen_until": p.reopen_until, "timers": p.timers}


def _apply_disputed(case: Case, event: Any) -> dict[str, Any]:
    return {
        "reopen_count": case.reopen_count + 1,
        "reopen_until": None,
        "timers": event.payload.timers,
    }


def _apply_reassigned(case: Case, event: Any) -> dict[str, Any]:
    p = event.payload
    changes = {"agency": p.agency, "plan_posted": False, "timers": p.timers}
    return handed_over(case, p.agency) | changes


def _apply_escalated(case: Case, event: Any) -> dict[str, Any]:
    p = event.payload
    return escalated(case, p.agency, p.level) | {"timers": p.timers}


def _apply_taken_over(case: Case, event: Any) -> dict[str, Any]:
    return {"handler": event.payload.actor.id}


def _apply_referred_back(case: Case, event: Any) -> dict[str, Any]:
    return {"handler": None}


_APPLIERS: dict[str, Callable[[Case, Any], dict[str, Any]]] = {
    "FormalVerificationCompleted": _no_change,
    "CaseVerified": _apply_verified,
    "CaseReferred": _apply_referred,
    "InformationRequested": _apply_timers,
    "InformationProvided": _apply_timers,
    "ComplaintRejected": _apply_timers,
    "ResolutionConfirmed": _apply_final,
    "ResolutionDisputed": _apply_disputed,
    "ComplaintWithdrawn": _apply_final,
    "ReferralAccepted": _no_change,
    "ReferralReturned": _apply_returned,
    "FollowUpPlanPosted": _apply_plan,
    "ComplaintResolved": _apply_resolved,
    "AgencyReassigned": _apply_reassigned,
    "CaseEscalated": _apply_escalated,
    "EscalationReminderIssued": _apply_timers,
    "CaseTakenOver": _apply_taken_over,
    "CaseReferredBack": _apply_referred_back,
    "SlaWarningRaised": _apply_timers,
    "SlaBreached": _apply_timers,
    "ClosedForReporterSilence": _apply_timers,
    "WithdrawnForMissingInformation": _apply_timers,
    "InformationRequestLapsed": _apply_timers,
    "ReporterReminderIssued": _apply_timers,
    "CommandRejected": _no_change,
    **INCIDENT_EVENT_APPLIERS,
}
