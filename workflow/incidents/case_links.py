"""Linking a case to an incident: decide and evolve for `LinkToIncident`/`UnlinkFromIncident`.

Linking changes no lifecycle state, so these commands bypass the lifecycle table (like the
timer) but go through the same decide/evolve path: each is remembered by its message key, a
repeated link with no more reporters causes nothing (the detector may replay), and an unlinked
incident is kept on the case so no later link, even from a detector that lost its state,
brings the case back into it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from workflow.case import Case
from workflow.commands import LinkToIncident, UnlinkFromIncident
from workflow.events import (
    CommandRejected,
    CommandRejectedPayload,
    Event,
    IncidentLinked,
    IncidentLinkedPayload,
    IncidentUnlinked,
    IncidentUnlinkedPayload,
    RejectionCode,
)
from workflow.fastpaths import new_event, new_model

__all__ = [
    "INCIDENT_COMMANDS",
    "INCIDENT_EVENT_APPLIERS",
    "IncidentPriority",
    "decide_incident",
    "incident_priority",
]

INCIDENT_COMMANDS = frozenset({"LinkToIncident", "UnlinkFromIncident"})


class IncidentPriority(StrEnum):
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


HIGH_FROM_REPORTERS = 3
URGENT_FROM_REPORTERS = 10


def incident_priority(reporters: int) -> IncidentPriority:
    """An incident's priority rises with the number of people who reported it."""
    if reporters >= URGENT_FROM_REPORTERS:
        return IncidentPriority.URGENT
    if reporters >= HIGH_FROM_REPORTERS:
        return IncidentPriority.HIGH
    return IncidentPriority.NORMAL


def _rejected(case: Case, message: Any, now: datetime, code: RejectionCode, detail: str) -> Any:
    payload = new_model(
        CommandRejectedPayload, command_type=message.type, reason_code=code, detail=detail
    )
    return new_event(CommandRejected, case.case_id, message, 0, now, case.correlation_id, payload)


def _link(case: Case, message: LinkToIncident, now: datetime) -> list[Event]:
    p = message.payload
    if p.incident_id in case.incidents_refused:
        detail = f"payload.incident_id: an operator unlinked this case from {p.incident_id}"
        return [_rejected(case, message, now, "guard_failed", detail)]
    if case.incident_id == p.incident_id and p.reporters <= case.incident_reporters:
        return []  # a replay, or news the case already has
    if case.incident_id is not None and case.incident_id != p.incident_id:
        detail = f"payload.incident_id: the case is linked to {case.incident_id}; unlink it first"
        return [_rejected(case, message, now, "guard_failed", detail)]
    payload = new_model(
        IncidentLinkedPayload, incident_id=p.incident_id, reporters=p.reporters, score=p.score
    )
    return [new_event(IncidentLinked, case.case_id, message, 0, now, case.correlation_id, payload)]


def _unlink(case: Case, message: UnlinkFromIncident, now: datetime) -> list[Event]:
    p = message.payload
    if p.actor.role not in UnlinkFromIncident.roles:
        detail = f"payload.actor.role: a {p.actor.role.value} may not send {message.type}"
        return [_rejected(case, message, now, "forbidden", detail)]
    if case.incident_id != p.incident_id:
        detail = f"payload.incident_id: the case is not linked to {p.incident_id}"
        return [_rejected(case, message, now, "guard_failed", detail)]
    payload = new_model(
        IncidentUnlinkedPayload, actor=p.actor, incident_id=p.incident_id, reason=p.reason
    )
    event = new_event(IncidentUnlinked, case.case_id, message, 0, now, case.correlation_id, payload)
    return [event]


def decide_incident(case: Case, message: Any, now: datetime) -> list[Event]:
    """The events of an incident command on an existing case (never raises for bad input)."""
    if case.is_final:
        detail = f"{message.type} is not allowed in state '{case.state.value}'"
        return [_rejected(case, message, now, "not_allowed_in_state", detail)]
    if message.type == "LinkToIncident":
        return _link(case, message, now)
    return _unlink(case, message, now)


def _apply_linked(case: Case, event: Any) -> dict[str, Any]:
    p = event.payload
    return {"incident_id": p.incident_id, "incident_reporters": p.reporters}


def _apply_unlinked(case: Case, event: Any) -> dict[str, Any]:
    refused = (*case.incidents_refused, event.payload.incident_id)
    return {"incident_id": None, "incident_reporters": 0, "incidents_refused": refused}


INCIDENT_EVENT_APPLIERS = {"IncidentLinked": _apply_linked, "IncidentUnlinked": _apply_unlinked}
