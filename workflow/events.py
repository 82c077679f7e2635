"""Domain events (past tense): what ``decide`` records on a case's audit trail."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from workflow.enums import (
    Channel,
    MaladministrationCategory,
    Priority,
    RejectionReason,
    ReportType,
    ReturnReason,
)
from workflow.reporter import ReporterView
from workflow.sla import ComplaintClass, Stage
from workflow.values import (
    NO_TIMERS,
    Actor,
    ActorPayload,
    Attachment,
    Envelope,
    FrozenModel,
    Identifier,
    Location,
    Timers,
)

__all__ = [
    "EVENT_TYPES",
    "ActorNotePayload",
    "AgencyReassigned",
    "AgencyReassignedPayload",
    "CaseEscalated",
    "CaseEscalatedPayload",
    "CaseOpened",
    "CaseOpenedPayload",
    "CaseReferred",
    "CaseReferredBack",
    "CaseReferredPayload",
    "CaseTakenOver",
    "CaseVerified",
    "CaseVerifiedPayload",
    "ClosedForReporterSilence",
    "CommandRejected",
    "CommandRejectedPayload",
    "ComplaintRejected",
    "ComplaintRejectedPayload",
    "ComplaintResolved",
    "ComplaintResolvedPayload",
    "ComplaintWithdrawn",
    "EscalationReminderIssued",
    "EscalationReminderPayload",
    "Event",
    "EventBase",
    "FollowUpPlanPosted",
    "FollowUpPlanPostedPayload",
    "FormalVerificationCompleted",
    "IncidentLinked",
    "IncidentLinkedPayload",
    "IncidentUnlinked",
    "IncidentUnlinkedPayload",
    "InformationProvided",
    "InformationProvidedPayload",
    "InformationRequestLapsed",
    "InformationRequested",
    "InformationRequestedPayload",
    "ReferralAccepted",
    "ReferralReturned",
    "ReferralReturnedPayload",
    "RejectionCode",
    "ReporterReminderIssued",
    "ReporterReminderPayload",
    "ResolutionConfirmed",
    "ResolutionDisputed",
    "ResolutionDisputedPayload",
    "SlaBreached",
    "SlaBreachedPayload",
    "SlaWarningPayload",
    "SlaWarningRaised",
    "TimerClosurePayload",
    "WithdrawnForMissingInformation",
]


class EventBase(Envelope):
    case_id: Identifier


class CaseOpenedPayload(FrozenModel):
    channel: Channel
    channel_message_id: Identifier
    received_at: AwareDatetime
    reporter: ReporterView
    subject: str
    text: str
    report_type: ReportType
    category: MaladministrationCategory | None = None
    service: str | None = None
    agency_hint: str | None = None
    priority: Priority | None = None
    """The intake's priority (None: none given)."""
    incident_date: date | None = None
    """When the reporter says it happened (None: not given)."""
    incident_older_than_two_years: bool | None = None
    """The two-year rule checked at opening for the verifier (None: no incident date)."""
    location: Location | None = None
    attachments: tuple[Attachment, ...] = ()
    language: str = "id"
    external_reference: str | None = None
    channel_sent_at: AwareDatetime | None = None
    """The channel's claimed send or creation time (see `ComplaintPayload`); never a clock."""
    received_at_claimed: AwareDatetime | None = None
    """The intake's ``received_at`` when the engine did not trust it (too far from its own clock,
    see `workflow.opening`); ``received_at`` is then the engine's clock. None when trusted."""
    triage_agency: str
    """The desk that verifies the case (its calendar and ladder run the verification clock)."""
    suggested_agency: str
    """Routing's suggestion at intake."""
    routing_rule: str | None = None
    routing_fallback: bool = False
    candidates: tuple[str, ...] = ()
    """Routing's ranked alternatives after the suggestion, used when a referral is returned."""
    timers: Timers


class CaseOpened(EventBase):
    """A complaint opened a case (state ``received``); the verification clock runs."""

    type: Literal["CaseOpened"] = "CaseOpened"
    payload: CaseOpenedPayload


class ActorNotePayload(ActorPayload):
    note: str | None = None
    timers: Timers | None = None


class FormalVerificationCompleted(EventBase):
    type: Literal["FormalVerificationCompleted"] = "FormalVerificationCompleted"
    payload: ActorNotePayload


class CaseVerifiedPayload(ActorPayload):
    complaint_class: ComplaintClass
    priority: Priority | None = None
    """The priority the class was derived with (the verifier's, else the intake's)."""
    note: str | None = None


class CaseVerified(EventBase):
    """Material verification done; the verification clock stopped."""

    type: Literal["CaseVerified"] = "CaseVerified"
    payload: CaseVerifiedPayload


class CaseReferredPayload(FrozenModel):
    agency: str
    rule: str | None = None
    """Why this agency: "verifier", "agency_hint", a routing rule, "triage", "reassigned"..."""
    timers: Timers
    """The follow-up plan clock started in the agency's calendar."""


class CaseReferred(EventBase):
    """Referred (disposisi) to an agency."""

    type: Literal["CaseReferred"] = "CaseReferred"
    payload: CaseReferredPayload


class InformationRequestedPayload(ActorPayload):
    question: str
    timers: Timers


class InformationRequested(EventBase):
    type: Literal["InformationRequested"] = "InformationRequested"
    payload: InformationRequestedPayload


class ComplaintRejectedPayload(ActorPayload):
    reason: RejectionReason
    detail: str | None = None
    timers: Timers = NO_TIMERS


class ComplaintRejected(EventBase):
    type: Literal["ComplaintRejected"] = "ComplaintRejected"
    payload: ComplaintRejectedPayload


class InformationProvidedPayload(ActorPayload):
    text: str
    attachments: tuple[Attachment, ...] = ()
    timers: Timers


class InformationProvided(EventBase):
    type: Literal["InformationProvided"] = "InformationProvided"
    payload: InformationProvidedPayload


class ResolutionConfirmed(EventBase):
    type: Literal["ResolutionConfirmed"] = "ResolutionConfirmed"
    payload: ActorNotePayload


class ResolutionDisputedPayload(ActorPayload):
    reason: str
    timers: Timers


class ResolutionDisputed(EventBase):
    """Reopened: back to in progress with the resolution clock resumed (not reset)."""

    type: Literal["ResolutionDisputed"] = "ResolutionDisputed"
    payload: ResolutionDisputedPayload


class ComplaintWithdrawn(EventBase):
    type: Literal["ComplaintWithdrawn"] = "ComplaintWithdrawn"
    payload: ActorNotePayload


class ReferralAccepted(EventBase):
    type: Literal["ReferralAccepted"] = "ReferralAccepted"
    payload: ActorNotePayload


class ReferralReturnedPayload(ActorPayload):
    agency: str
    """The agency that returned the case (excluded from re-routing from now on)."""
    reason: ReturnReason
    detail: str | None = None


class ReferralReturned(EventBase):
    """Followed by `CaseReferred` to the next candidate or the triage desk."""

    type: Literal["ReferralReturned"] = "ReferralReturned"
    payload: ReferralReturnedPayload


class FollowUpPlanPostedPayload(ActorPayload):
    plan: str
    complaint_class: ComplaintClass
    timers: Timers


class FollowUpPlanPosted(EventBase):
    type: Literal["FollowUpPlanPosted"] = "FollowUpPlanPosted"
    payload: FollowUpPlanPostedPayload


class ComplaintResolvedPayload(ActorPayload):
    resolution_text: str
    reopen_until: AwareDatetime
    """The reporter may dispute until this instant."""
    timers: Timers


class ComplaintResolved(EventBase):
    type: Literal["ComplaintResolved"] = "ComplaintResolved"
    payload: ComplaintResolvedPayload


class AgencyReassignedPayload(ActorPayload):
    from_agency: str | None
    agency: str
    reason: str | None = None
    timers: Timers


class AgencyReassigned(EventBase):
    """Referred to another agency by an officer (state ``referred``)."""

    type: Literal["AgencyReassigned"] = "AgencyReassigned"
    payload: AgencyReassignedPayload


class CaseEscalatedPayload(FrozenModel):
    level: Annotated[int, Field(ge=1)]
    """The level reached on ``agency``'s ladder."""
    automatic: bool
    stage: Stage | None = None
    actor: Actor | None = None
    reason: str | None = None
    timers: Timers
    agency: str | None = None
    """The agency whose ladder the case climbed (the one that is late); None in events written
    before the field existed (they climbed the case's current owner's ladder)."""


class CaseEscalated(EventBase):
    """The case moved up the escalation ladder to ``level``."""

    type: Literal["CaseEscalated"] = "CaseEscalated"
    payload: CaseEscalatedPayload


class EscalationReminderPayload(FrozenModel):
    level: int
    timers: Timers
    agency: str | None = None
    """The agency whose ladder's top is reminded (None in events older than the field)."""


class EscalationReminderIssued(EventBase):
    """The case sits at the top level past its deadline: remind that level again."""

    type: Literal["EscalationReminderIssued"] = "EscalationReminderIssued"
    payload: EscalationReminderPayload


class CaseTakenOver(EventBase):
    type: Literal["CaseTakenOver"] = "CaseTakenOver"
    payload: ActorNotePayload


class CaseReferredBack(EventBase):
    type: Literal["CaseReferredBack"] = "CaseReferredBack"
    payload: ActorNotePayload


class SlaWarningPayload(FrozenModel):
    stage: Stage
    threshold: float
    timers: Timers


class SlaWarningRaised(EventBase):
    type: Literal["SlaWarningRaised"] = "SlaWarningRaised"
    payload: SlaWarningPayload


class SlaBreachedPayload(FrozenModel):
    stage: Stage
    deadline: AwareDatetime
    timers: Timers


class SlaBreached(EventBase):
    type: Literal["SlaBreached"] = "SlaBreached"
    payload: SlaBreachedPayload


class TimerClosurePayload(FrozenModel):
    deadline: AwareDatetime
    timers: Timers = NO_TIMERS


class ClosedForReporterSilence(EventBase):
    """The reporter did not answer the resolution in time -> closed."""

    type: Literal["ClosedForReporterSilence"] = "ClosedForReporterSilence"
    payload: TimerClosurePayload


class WithdrawnForMissingInformation(EventBase):
    """The reporter did not supply the requested information in time -> withdrawn."""

    type: Literal["WithdrawnForMissingInformation"] = "WithdrawnForMissingInformation"
    payload: TimerClosurePayload


class InformationRequestLapsed(EventBase):
    """The reporter did not answer the agency's question by its deadline: the case stays with
    the agency and its stage clock resumes at that deadline."""

    type: Literal["InformationRequestLapsed"] = "InformationRequestLapsed"
    payload: TimerClosurePayload


class ReporterReminderPayload(FrozenModel):
    stage: Stage
    """``reporter_information`` (a question) or ``reporter_confirmation`` (a resolution)."""
    deadline: AwareDatetime
    timers: Timers


class ReporterReminderIssued(EventBase):
    """The reporter's time to answer is nearly over: remind them once (reporter messaging)."""

    type: Literal["ReporterReminderIssued"] = "ReporterReminderIssued"
    payload: ReporterReminderPayload


class IncidentLinkedPayload(FrozenModel):
    incident_id: Identifier
    reporters: int
    """Reporters linked to the incident when this was recorded."""
    score: float | None = None


class IncidentLinked(EventBase):
    """The case is (still) about incident ``incident_id``, now with ``reporters`` reporters."""

    type: Literal["IncidentLinked"] = "IncidentLinked"
    payload: IncidentLinkedPayload


class IncidentUnlinkedPayload(ActorPayload):
    incident_id: Identifier
    reason: str


class IncidentUnlinked(EventBase):
    """An operator undid a wrong link; the case is never linked to that incident again."""

    type: Literal["IncidentUnlinked"] = "IncidentUnlinked"
    payload: IncidentUnlinkedPayload


RejectionCode = Literal[
    "unknown_case", "not_allowed_in_state", "guard_failed", "forbidden", "command_limit"
]
"""Why a command was rejected: no such case, the state does not allow it, a guard failed, the
actor's role may not send it, or the case has applied as many commands as it can remember
(`workflow.case.APPLIED_CAP`). ``unknown_case`` and ``command_limit`` are not folded into a case:
the engine dead-letters the command instead."""


class CommandRejectedPayload(FrozenModel):
    command_type: str
    reason_code: RejectionCode
    detail: str


class CommandRejected(EventBase):
    """A command could not be applied; recorded on the audit trail instead of raising."""

    type: Literal["CommandRejected"] = "CommandRejected"
    payload: CommandRejectedPayload


Event = Annotated[
    CaseOpened
    | FormalVerificationCompleted
    | CaseVerified
    | CaseReferred
    | InformationRequested
    | ComplaintRejected
    | InformationProvided
    | ResolutionConfirmed
    | ResolutionDisputed
    | ComplaintWithdrawn
    | ReferralAccepted
    | ReferralReturned
    | FollowUpPlanPosted
    | ComplaintResolved
    | AgencyReassigned
    | CaseEscalated
    | EscalationReminderIssued
    | CaseTakenOver
    | CaseReferredBack
    | SlaWarningRaised
    | SlaBreached
    | ClosedForReporterSilence
    | WithdrawnForMissingInformation
    | InformationRequestLapsed
    | ReporterReminderIssued
    | IncidentLinked
    | IncidentUnlinked
    | CommandRejected,
    Field(discriminator="type"),
]

EVENT_TYPES: dict[str, type[EventBase]] = {
    m.model_fields["type"].default: m
    for m in (
        CaseOpened,
        FormalVerificationCompleted,
        CaseVerified,
        CaseReferred,
        InformationRequested,
        ComplaintRejected,
        InformationProvided,
        ResolutionConfirmed,
        ResolutionDisputed,
        ComplaintWithdrawn,
        ReferralAccepted,
        ReferralReturned,
        FollowUpPlanPosted,
        ComplaintResolved,
        AgencyReassigned,
        CaseEscalated,
        EscalationReminderIssued,
        CaseTakenOver,
        CaseReferredBack,
        SlaWarningRaised,
        SlaBreached,
        ClosedForReporterSilence,
        WithdrawnForMissingInformation,
        InformationRequestLapsed,
        ReporterReminderIssued,
        IncidentLinked,
        IncidentUnlinked,
        CommandRejected,
    )
}
