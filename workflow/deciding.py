"""decide: the events a message causes on a case, per command (pure; ``now`` is given).

A command is checked in order: the actor's role may send it (else ``forbidden``), the lifecycle
table allows its trigger in the case's state (else ``not_allowed_in_state``) and every guard of
that transition holds (else ``guard_failed``). Then its handler computes the events, putting
every clock and deadline into them (see `workflow.core`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from states.lifecycle import GUARDS, CaseState, Transition
from workflow.case import APPLIED_CAP, Case, has_key
from workflow.commands import Command
from workflow.deployment import Deployment
from workflow.enums import RejectionReason
from workflow.escalation_state import ladder_position
from workflow.events import (
    ActorNotePayload,
    AgencyReassigned,
    AgencyReassignedPayload,
    CaseEscalated,
    CaseEscalatedPayload,
    CaseReferred,
    CaseReferredBack,
    CaseReferredPayload,
    CaseTakenOver,
    CaseVerified,
    CaseVerifiedPayload,
    CommandRejected,
    CommandRejectedPayload,
    ComplaintRejected,
    ComplaintRejectedPayload,
    ComplaintResolved,
    ComplaintResolvedPayload,
    ComplaintWithdrawn,
    Event,
    FollowUpPlanPosted,
    FollowUpPlanPostedPayload,
    FormalVerificationCompleted,
    InformationProvided,
    InformationProvidedPayload,
    InformationRequested,
    InformationRequestedPayload,
    ReferralAccepted,
    ReferralReturned,
    ReferralReturnedPayload,
    RejectionCode,
    ResolutionConfirmed,
    ResolutionDisputed,
    ResolutionDisputedPayload,
)
from workflow.fastpaths import memo_message_key, new_event, new_model, replace_model
from workflow.guards import GUARD_FUNCTIONS
from workflow.incidents.case_links import INCIDENT_COMMANDS, decide_incident
from workflow.intake import ComplaintSubmitted
from workflow.opening import open_case
from workflow.responsibility import responsible_agency
from workflow.sla import (
    ComplaintClass,
    Stage,
    deadline_for,
    reopen_clock,
)
from workflow.sla_timer import on_timer
from workflow.values import NO_TIMERS
from workflow.waiting import resumed_timers, wait_on_reporter

__all__ = ["Message", "decide"]

Message = ComplaintSubmitted | Command
Handler = Callable[[Deployment, Case, Any, datetime], list[Any]]
_AGENCY_STATES = frozenset({CaseState.REFERRED, CaseState.IN_PROGRESS})


class _Rejection(Exception):
    def __init__(self, code: RejectionCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def decide(dep: Deployment, case: Case | None, message: Message, now: datetime) -> list[Event]:
    """The events ``message`` causes on ``case`` at ``now``; never raises for bad input."""
    if message.type == "ComplaintSubmitted":
        return [] if case is not None else [open_case(dep, message, now)]
    if case is None:
        payload = new_model(
            CommandRejectedPayload,
            command_type=message.type,
            reason_code="unknown_case",
            detail=f"case_id: no case {message.case_id!r} exists",
        )
        first = message.event_id
        return [new_event(CommandRejected, message.case_id, message, 0, now, first, payload)]
    if has_key(case.applied_keys, memo_message_key(message.event_id)):
        return []
    if message.type == "TimerFired":
        return [] if _stale_timer(case, message, now) else on_timer(dep, case, message, now)
    if case.applied_count >= APPLIED_CAP:
        detail = f"case {case.case_id} has applied {APPLIED_CAP} commands, the most it remembers"
        return [_rejected(case, message, now, "command_limit", detail)]
    if message.type in INCIDENT_COMMANDS:
        return decide_incident(case, message, now)
    try:
        _check(dep, case, message, type(message).trigger, now)
        return _HANDLERS[message.type](dep, case, message, now)
    except _Rejection as rejection:
        return [_rejected(case, message, now, rejection.code, rejection.detail)]


# -- checks ------------------------------------------------------------------------------------


def _stale_timer(case: Case, message: Any, now: datetime) -> bool:
    """A timer not yet due, or due at or before the timer last changed the case (so it is a
    redelivery, or its work was done by a later timer): see `workflow.case`."""
    due_at = message.payload.due_at
    return due_at > now or (case.timer_mark is not None and due_at <= case.timer_mark)


def _rejected(
    case: Case, message: Message, now: datetime, code: RejectionCode, detail: str
) -> CommandRejected:
    payload = new_model(
        CommandRejectedPayload, command_type=message.type, reason_code=code, detail=detail
    )
    event = new_event(CommandRejected, case.case_id, message, 0, now, case.correlation_id, payload)
    return cast(CommandRejected, event)


def _check(dep: Deployment, case: Case, message: Any, trigger: str, now: datetime) -> Transition:
    actor = message.payload.actor
    if actor.role not in type(message).roles:
        raise _Rejection(
            "forbidden",
            f"payload.actor.role: a {actor.role.value} may not send {message.type}",
        )
    return _transition(dep, case, message, trigger, now)


def _transition(
    dep: Deployment, case: Case, message: Any, trigger: str, now: datetime
) -> Transition:
    transition = dep.table.get((case.state, trigger))
    if transition is None:
        raise _Rejection(
            "not_allowed_in_state",
            f"{message.type} is not allowed in state '{case.state.value}'",
        )
    for guard in transition.guards:
        if not GUARD_FUNCTIONS[guard](dep, case, message, now):
            raise _Rejection("guard_failed", f"{guard}: {GUARDS[guard]}")
    return transition


def _one(cls: type[Any], case: Case, m: Any, now: datetime, payload: Any) -> list[Any]:
    """The single event a command causes."""
    return [new_event(cls, case.case_id, m, 0, now, case.correlation_id, payload)]


# -- clocks a command changes ------------------------------------------------------------------


def _referred(
    dep: Deployment, case: Case, m: Any, index: int, agency: str, rule: str | None, now: datetime
) -> Any:
    """`CaseReferred` to ``agency``, with the follow-up plan clock started in its calendar."""
    payload = new_model(
        CaseReferredPayload,
        agency=agency,
        rule=rule,
        timers=dep.start(Stage.FOLLOW_UP_PLAN, agency, now),
    )
    return new_event(CaseReferred, case.case_id, m, index, now, case.correlation_id, payload)


# -- verification ------------------------------------------------------------------------------


def _formal(dep: Deployment, case: Case, m: Any, now: datetime) -> list[Any]:
    payload = new_model(ActorNotePayload, actor=m.payload.actor, note=m.payload.note, timers=None)
    return _one(FormalVerificationCompleted, case, m, now, payload)


def _material(dep: Deployment, case: Case, m: Any, now: datetime) -> list[Any]:
    p = m.payload
    agency = p.agency or case.suggested_agency
    rule = "verifier" if p.agency else "routing"
    category = case.category.value if case.category is not None else None
    priority = p.priority or case.priority
    cls = dep.complaint_class(p.complaint_class, category, priority)
    verified = new_event(
        CaseVerified,
        case.case_id,
        m,
        0,
        now,
        case.correlation_id,
        new_model(
            CaseVerifiedPayload,
            actor=p.actor,
            complaint_class=cls,
            priority=priority,
            note=p.note,
        ),
    )
    # The automatic `refer` transition from verified (guard has_agency).
    probe = replace_model(case, {"state": CaseState.VERIFIED, "agency": agency})
    _transition(dep, probe, m, "refer", now)
    return [verified, _referred(dep, case, m, 1, agency, rule, now)]


def _request_information(dep: Deployment, case: Case, m: Any, now: datetime) -> list[Any]:
    stage = Stage.REPORTER_INFORMATION
    target = dep.policy.sla.reporter_information
    # Asked in verification: the triage desk's calendar; asked by the agency: the agency's.
    asker = None if case.state in _AGENCY_STATES else stage
    timers = wait_on_reporter(dep, case, stage, target, responsible_agency(case, asker), now)
    payload = new_model(
        InformationRequestedPayload,
        actor=m.payload.actor,
        question=m.payload.question,
        timers=timers,
    )
    return _one(InformationRequested, case, m, now, payload)


def _provide_information(dep: Deployment, case: Case, m: Any, now: datetime) -> list[Any]:
    timers = resumed_timers(dep, case, now)
    payload = new_model(
        InformationProvidedPayload,
        actor=m.payload.actor,
        text=m.payload.text,
        attachments=m.payload.attachments,
        timers=timers,
    )
    return _one(InformationProvided, case, m, now, payload)


def _reject(dep: Deployment, case: Case, m: Any, now: datetime) -> list[Any]:
    if (
        m.payload.reason is RejectionReason.OLDER_THAN_TWO_YEARS
        and case.incident_older_than_two_years is False
    ):
        raise _Rejection(
            "guard_failed",
            f"older_than_two_years: the reporter dates the incident {case.incident_date}, "
            "within two years of receipt",
        )
    payload = new_model(
        ComplaintRejectedPayload,
        actor=m.payload.actor,
        reason=m.payload.reason,
        detail=m.payload.detail,
        timers=NO_TIMERS,
    )
    return _one(ComplaintRejected, case, m, now, payload)


# -- notes: events that only record the actor (final ones clear every timer) --------------------


def _noted(cls: type[Any], *, final: bool) -> Handler:
    def handler(dep: Deployment, case: Case, m: Any, now: datetime) -> list[Any]:
        timers = NO_TIMERS if final else None
        payload = new_model(
            ActorNotePayload, actor=m.payload.actor, note=m.payload.note, timers=timers
        )
        return _one(cls, case, m, now, payload)

    return handler


# -- the agency's work -------------------------------------------------------------------------


def _return(dep: Deployment, case: Case, m: Any, now: datetime) -> list[Any]:
    p = m.payload
    returning = responsible_agency(case)
    returned = {*case.returned_by, returning}
    target = next(
        (
            a
            for a in (case.suggested_agency, *case.candidates)
            if a not in returned and a != case.triage_agency
        ),
        case.triage_agency,
    )
    rule = "triage" if target == case.triage_agency else "next_candidate"
    payload = new_model(
        ReferralReturnedPayload, actor=p.actor, agency=returning, reason=p.reason, detail=p.detail
    )
    first = new_event(ReferralReturned, case.case_id, m, 0, now, case.correlation_id, payload)
    return [first, _referred(dep, case, m, 1, target, rule, now)]


def _post_plan(dep: Deployment, case: Case, m: Any, now: datetime) -> list[Any]:
    p = m.payload
    cls: ComplaintClass = p.complaint_class or case.complaint_class or dep.policy.sla.default_class
    agency = responsible_agency(case, Stage.RESOLUTION)
    timers = dep.start(Stage.RESOLUTION, agency, now, cls)
    payload = new_model(
        FollowUpPlanPostedPayload, actor=p.actor, plan=p.plan, complaint_class=cls, timers=timers
    )
    return _one(FollowUpPlanPosted, case, m, now, payload)


def _resolve(dep: Deployment, case: Case, m: Any, now: datetime) -> list[Any]:
    stage = Stage.REPORTER_CONFIRMATION
    target = dep.policy.sla.reporter_confirmation
    timers = wait_on_reporter(dep, case, stage, target, responsible_agency(case, stage), now)
    cal = dep.stage_calendar(case, stage)
    reopen_until = deadline_for(dep.policy.sla.reopen_window, now, cal)
    payload = new_model(
        ComplaintResolvedPayload,
        actor=m.payload.actor,
        resolution_text=m.payload.resolution_text,
        reopen_until=reopen_until,
        timers=timers,
    )
    return _one(ComplaintResolved, case, m, now, payload)


def _dispute(dep: Deployment, case: Case, m: Any, now: datetime) -> list[Any]:
    clock = case.timers.clock
    timers = NO_TIMERS
    if clock is not None:
        cal = dep.stage_calendar(case, clock.stage)
        reopened = reopen_clock(clock, now, cal, dep.reopen_grace, dep.thresholds)
        timers = dep.running(reopened, cal)
    payload = new_model(
        ResolutionDisputedPayload, actor=m.payload.actor, reason=m.payload.reason, timers=timers
    )
    return _one(ResolutionDisputed, case, m, now, payload)


# -- officers ----------------------------------------------------------------------------------


def _reassign(dep: Deployment, case: Case, m: Any, now: datetime) -> list[Any]:
    p = m.payload
    payload = new_model(
        AgencyReassignedPayload,
        actor=p.actor,
        from_agency=case.agency,
        agency=p.agency,
        reason=p.reason,
        timers=dep.start(Stage.FOLLOW_UP_PLAN, p.agency, now),
    )
    return _one(AgencyReassigned, case, m, now, payload)


def _escalate_manually(dep: Deployment, case: Case, m: Any, now: datetime) -> list[Any]:
    """One level up the ladder of the agency running the current stage (its owner when no
    clock runs): the same ladder a breach of that stage would climb."""
    stage = case.timers.clock.stage if case.timers.clock is not None else None
    agency, reached = ladder_position(case, stage)
    level = reached + 1
    after = dep.stage_ladder(case, stage).deadline_after(level)
    due = deadline_for(after, now, dep.stage_calendar(case, stage))
    payload = new_model(
        CaseEscalatedPayload,
        level=level,
        automatic=False,
        stage=stage,
        actor=m.payload.actor,
        reason=m.payload.reason,
        timers=replace_model(case.timers, {"escalation_due_at": due}),
        agency=agency,
    )
    return _one(CaseEscalated, case, m, now, payload)


_HANDLERS: dict[str, Handler] = {
    "CompleteFormalVerification": _formal,
    "CompleteMaterialVerification": _material,
    "RequestInformation": _request_information,
    "RejectComplaint": _reject,
    "ProvideInformation": _provide_information,
    "ConfirmResolution": _noted(ResolutionConfirmed, final=True),
    "DisputeResolution": _dispute,
    "WithdrawComplaint": _noted(ComplaintWithdrawn, final=True),
    "AcceptReferral": _noted(ReferralAccepted, final=False),
    "ReturnReferral": _return,
    "PostFollowUpPlan": _post_plan,
    "ResolveComplaint": _resolve,
    "ReassignAgency": _reassign,
    "EscalateManually": _escalate_manually,
    "TakeOver": _noted(CaseTakenOver, final=False),
    "ReferBack": _noted(CaseReferredBack, final=False),
}
"""The handler of every actor command (``TimerFired`` goes to `workflow.sla_timer`)."""
