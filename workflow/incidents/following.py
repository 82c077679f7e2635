"""Verification and referral once per incident: every linked case follows the first decision.

An operator verifies (formally, then materially, which refers the case) any one case of an
incident; every other open case linked to it gets the same command, so each case changes
through its own decide/evolve and keeps its own audit trail. Two halves, both pure:

* per case (`CaseTrack`, `track_event`): the case's state as its events move it, the incident it
  is linked to, and the decisions an operator made on it; each change that matters becomes a
  `MemberNews` for the incident;
* per incident (`IncidentFollow`, `follow`): its members' states and the first decision of each
  step; the commands that bring every member that can take a step to it.

Idempotent and event-driven: a command's id is derived from (incident, case, step)
(`follow_command_id`), so a replay sends the same ids and the case ignores them; a member is
sent a step only in a state that allows it (received -> formal, verifying -> material), so one
that waits on its reporter is sent the step when it can take it, a case linked after the
decision catches up, and an unlinked case is no longer a member. A command the follower sent
causes events that carry its id (``causation_id``), so they are never taken for a decision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from states.lifecycle import FINAL_STATES, CaseState
from workflow.commands import (
    CompleteFormalVerification,
    CompleteMaterialVerification,
    MaterialVerificationPayload,
    NotePayload,
)
from workflow.enums import Priority
from workflow.evolving import state_after
from workflow.sla import ComplaintClass
from workflow.values import Actor, FrozenModel

__all__ = [
    "FOLLOW_PREFIX",
    "CaseTrack",
    "Decision",
    "FollowCommand",
    "IncidentFollow",
    "MemberNews",
    "Step",
    "follow",
    "follow_command_id",
    "on_news",
    "track_event",
]

Step = Literal["formal", "material"]
FOLLOW_PREFIX = "incident-follow:"
FollowCommand = CompleteFormalVerification | CompleteMaterialVerification
_STEP_STATE: dict[Step, CaseState] = {"formal": CaseState.RECEIVED, "material": CaseState.VERIFYING}
"""The state a member must be in to be sent a step (the lifecycle allows nothing else)."""


class Decision(FrozenModel):
    """An operator's verification step on one case (``material`` includes its referral)."""

    step: Step
    case_id: str
    actor: Actor
    agency: str | None = None
    complaint_class: ComplaintClass | None = None
    priority: Priority | None = None


class CaseTrack(FrozenModel):
    """One case as the follower needs it (the case-keyed table's value)."""

    state: CaseState = CaseState.RECEIVED
    incident_id: str | None = None
    decisions: tuple[Decision, ...] = ()
    verified: Decision | None = None
    """A material verification waiting for its referral (the agency) to complete it."""
    verified_by: str | None = None
    """The message id that verified it (its referral carries the same ``causation_id``)."""


class MemberNews(FrozenModel):
    """What the incident learns of one member: its state, or that it left (``linked`` False)."""

    incident_id: str
    case_id: str
    state: CaseState
    linked: bool = True
    decisions: tuple[Decision, ...] = ()


class IncidentFollow(FrozenModel):
    """One incident (the incident-keyed table's value)."""

    members: dict[str, CaseState] = Field(default_factory=dict)
    decisions: dict[str, Decision] = Field(default_factory=dict)
    """Step -> the first decision seen on any member (later ones do not lead)."""
    sent: frozenset[str] = frozenset()
    """Ids of the commands already sent (a resend would be a no-op; this saves the traffic)."""
    updated_at: AwareDatetime | None = None


def follow_command_id(incident_id: str, case_id: str, step: Step) -> str:
    return f"{FOLLOW_PREFIX}{incident_id}:{case_id}:{step}"


def _by_follower(event: Any) -> bool:
    return str(event.causation_id or "").startswith(FOLLOW_PREFIX)


def _decided(track: CaseTrack, event: Any) -> CaseTrack:
    """``track`` with the operator decision ``event`` records, if it records one."""
    p = event.payload
    if _by_follower(event):
        return track
    if event.type == "FormalVerificationCompleted":
        decision = Decision(step="formal", case_id=event.case_id, actor=p.actor)
        return track.model_copy(update={"decisions": (*track.decisions, decision)})
    if event.type == "CaseVerified":
        verified = Decision(
            step="material",
            case_id=event.case_id,
            actor=p.actor,
            complaint_class=p.complaint_class,
            priority=p.priority,
        )
        return track.model_copy(update={"verified": verified, "verified_by": event.causation_id})
    if event.type == "CaseReferred" and track.verified is not None:
        if event.causation_id != track.verified_by:
            return track
        material = track.verified.model_copy(update={"agency": p.agency})
        decisions = (*track.decisions, material)
        return track.model_copy(
            update={"decisions": decisions, "verified": None, "verified_by": None}
        )
    return track


def _news(track: CaseTrack, incident_id: str, case_id: str, linked: bool) -> MemberNews:
    return MemberNews(
        incident_id=incident_id,
        case_id=case_id,
        state=track.state,
        linked=linked,
        decisions=track.decisions,
    )


def track_event(track: CaseTrack, event: Any) -> tuple[CaseTrack, list[MemberNews]]:
    """``track`` after one event of its case, and what the case's incident must hear."""
    before = track
    state = state_after(track.state, event.type) or track.state
    track = _decided(track.model_copy(update={"state": state}), event)
    if event.type == "IncidentLinked":
        incident = event.payload.incident_id
        track = track.model_copy(update={"incident_id": incident})
        return track, [_news(track, incident, event.case_id, True)]
    if event.type == "IncidentUnlinked":
        left = _news(track, event.payload.incident_id, event.case_id, False)
        return track.model_copy(update={"incident_id": None}), [left]
    changed = (track.state, track.decisions) != (before.state, before.decisions)
    if track.incident_id is None or not changed:
        return track, []
    return track, [_news(track, track.incident_id, event.case_id, True)]


def on_news(value: IncidentFollow, news: MemberNews) -> IncidentFollow:
    """The incident after ``news`` of one member (a decision leads only if none came first)."""
    members = dict(value.members)
    decisions = dict(value.decisions)
    if not news.linked:
        members.pop(news.case_id, None)
    else:
        members[news.case_id] = news.state
        for decision in news.decisions:
            decisions.setdefault(decision.step, decision)
    return value.model_copy(update={"members": members, "decisions": decisions})


def _note(incident_id: str, decision: Decision) -> str:
    return f"Mengikuti keputusan insiden {incident_id} pada kasus {decision.case_id}."


def _command(
    incident_id: str, case_id: str, step: Step, decision: Decision, now: datetime
) -> FollowCommand:
    common: dict[str, Any] = {
        "event_id": follow_command_id(incident_id, case_id, step),
        "occurred_at": now,
        "case_id": case_id,
        "correlation_id": incident_id,
    }
    note = _note(incident_id, decision)
    if step == "formal":
        return CompleteFormalVerification(
            **common, payload=NotePayload(actor=decision.actor, note=note)
        )
    payload = MaterialVerificationPayload(
        actor=decision.actor,
        agency=decision.agency,
        complaint_class=decision.complaint_class,
        priority=decision.priority,
        note=note,
    )
    return CompleteMaterialVerification(**common, payload=payload)


def _leading(value: IncidentFollow, step: Step) -> Decision | None:
    """The decision members follow for ``step``: a material verification made on a case that
    was formally verified before it joined also stands for the formal step."""
    found = value.decisions.get(step)
    if found is None and step == "formal":
        found = value.decisions.get("material")
    return found


def follow(
    incident_id: str, value: IncidentFollow, now: datetime
) -> tuple[IncidentFollow, list[FollowCommand]]:
    """The commands that bring each member to the incident's decisions, and the value after."""
    commands: list[FollowCommand] = []
    for case_id, state in sorted(value.members.items()):
        if state in FINAL_STATES:
            continue
        for step, needed in _STEP_STATE.items():
            decision = _leading(value, step)
            if state != needed or decision is None or decision.case_id == case_id:
                continue
            if follow_command_id(incident_id, case_id, step) in value.sent:
                continue
            commands.append(_command(incident_id, case_id, step, decision, now))
    sent = value.sent | {c.event_id for c in commands}
    return value.model_copy(update={"sent": sent, "updated_at": now}), commands
