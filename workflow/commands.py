"""Actor commands (imperative): each targets an existing case and fires one lifecycle trigger."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from workflow.enums import ActorRole, Priority, RejectionReason, ReturnReason
from workflow.sla import ComplaintClass
from workflow.values import (
    MAX_ATTACHMENTS,
    MAX_NOTE_CHARS,
    MAX_TEXT_CHARS,
    ActorPayload,
    Attachment,
    Code,
    Envelope,
    FrozenModel,
    Identifier,
    Instant,
    LongText,
    NoteText,
)

__all__ = [
    "COMMAND_TYPES",
    "AcceptReferral",
    "Command",
    "CommandBase",
    "CompleteFormalVerification",
    "CompleteMaterialVerification",
    "ConfirmResolution",
    "DisputePayload",
    "DisputeResolution",
    "EscalateManually",
    "EscalatePayload",
    "FollowUpPlanPayload",
    "LinkIncidentPayload",
    "LinkToIncident",
    "MaterialVerificationPayload",
    "NotePayload",
    "PostFollowUpPlan",
    "ProvideInformation",
    "ProvideInformationPayload",
    "ReassignAgency",
    "ReassignPayload",
    "ReferBack",
    "RejectComplaint",
    "RejectPayload",
    "RequestInformation",
    "RequestInformationPayload",
    "ResolveComplaint",
    "ResolvePayload",
    "ReturnReferral",
    "ReturnReferralPayload",
    "TakeOver",
    "TimerFired",
    "TimerPayload",
    "UnlinkFromIncident",
    "UnlinkIncidentPayload",
    "WithdrawComplaint",
    "timer_event_id",
]


class CommandBase(Envelope):
    """Commands target an existing case: ``case_id`` is required."""

    case_id: Identifier
    trigger: ClassVar[str]
    """The lifecycle trigger (states.lifecycle) this command fires."""
    roles: ClassVar[frozenset[ActorRole]]
    """Roles allowed to send it."""


_VERIFIERS = frozenset({ActorRole.VERIFIER, ActorRole.OFFICER})
_REPORTER = frozenset({ActorRole.REPORTER, ActorRole.OFFICER})
_AGENCY = frozenset({ActorRole.AGENCY, ActorRole.OFFICER})
_OFFICERS = frozenset({ActorRole.OFFICER})
_STAFF = frozenset({ActorRole.VERIFIER, ActorRole.AGENCY, ActorRole.OFFICER})


class NotePayload(ActorPayload):
    note: NoteText | None = None


class CompleteFormalVerification(CommandBase):
    """Verifier: identity, prior complaint, chronology and expectation are complete."""

    type: Literal["CompleteFormalVerification"] = "CompleteFormalVerification"
    payload: NotePayload
    trigger: ClassVar[str] = "complete_formal_verification"
    roles: ClassVar[frozenset[ActorRole]] = _VERIFIERS


class MaterialVerificationPayload(ActorPayload):
    agency: Code | None = None
    """The responsible agency; None lets routing decide (the intake suggestion)."""
    complaint_class: ComplaintClass | None = None
    """Sets the resolution target; None = derived (priority, category, the default class)."""
    priority: Priority | None = None
    """The verifier's priority; None keeps the intake's."""
    note: NoteText | None = None


class CompleteMaterialVerification(CommandBase):
    """Verifier: within authority, not a duplicate, not resolved yet -> verified and referred."""

    type: Literal["CompleteMaterialVerification"] = "CompleteMaterialVerification"
    payload: MaterialVerificationPayload
    trigger: ClassVar[str] = "complete_material_verification"
    roles: ClassVar[frozenset[ActorRole]] = _VERIFIERS


class RequestInformationPayload(ActorPayload):
    question: Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS)]


class RequestInformation(CommandBase):
    """Verifier, or the agency during follow-up and resolution: ask the reporter for missing
    information (pauses the running stage clock until the answer or the reporter's deadline)."""

    type: Literal["RequestInformation"] = "RequestInformation"
    payload: RequestInformationPayload
    trigger: ClassVar[str] = "request_information"
    roles: ClassVar[frozenset[ActorRole]] = _STAFF


class RejectPayload(ActorPayload):
    reason: RejectionReason
    detail: NoteText | None = None


class RejectComplaint(CommandBase):
    """Verifier: reject (archive) the complaint for a reason from the closed list."""

    type: Literal["RejectComplaint"] = "RejectComplaint"
    payload: RejectPayload
    trigger: ClassVar[str] = "reject"
    roles: ClassVar[frozenset[ActorRole]] = _VERIFIERS


class ProvideInformationPayload(ActorPayload):
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS, repr=False)]
    attachments: Annotated[tuple[Attachment, ...], Field(max_length=MAX_ATTACHMENTS)] = ()


class ProvideInformation(CommandBase):
    """Reporter: supply the requested information (resumes the paused stage clock)."""

    type: Literal["ProvideInformation"] = "ProvideInformation"
    payload: ProvideInformationPayload
    trigger: ClassVar[str] = "provide_information"
    roles: ClassVar[frozenset[ActorRole]] = _REPORTER


class ConfirmResolution(CommandBase):
    """Reporter: the resolution is accepted -> closed."""

    type: Literal["ConfirmResolution"] = "ConfirmResolution"
    payload: NotePayload
    trigger: ClassVar[str] = "confirm_resolution"
    roles: ClassVar[frozenset[ActorRole]] = _REPORTER


class DisputePayload(ActorPayload):
    reason: Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS)]


class DisputeResolution(CommandBase):
    """Reporter: the resolution is not accepted -> reopened (within the reopen window)."""

    type: Literal["DisputeResolution"] = "DisputeResolution"
    payload: DisputePayload
    trigger: ClassVar[str] = "dispute_resolution"
    roles: ClassVar[frozenset[ActorRole]] = _REPORTER


class WithdrawComplaint(CommandBase):
    """Reporter (or an officer on their behalf): withdraw the complaint."""

    type: Literal["WithdrawComplaint"] = "WithdrawComplaint"
    payload: NotePayload
    trigger: ClassVar[str] = "withdraw"
    roles: ClassVar[frozenset[ActorRole]] = _REPORTER


class AcceptReferral(CommandBase):
    """Agency: accept the referred case -> in progress."""

    type: Literal["AcceptReferral"] = "AcceptReferral"
    payload: NotePayload
    trigger: ClassVar[str] = "accept_referral"
    roles: ClassVar[frozenset[ActorRole]] = _AGENCY


class ReturnReferralPayload(ActorPayload):
    reason: ReturnReason
    detail: NoteText | None = None


class ReturnReferral(CommandBase):
    """Agency: not ours -> re-routed (excluding every agency that returned it) or triage."""

    type: Literal["ReturnReferral"] = "ReturnReferral"
    payload: ReturnReferralPayload
    trigger: ClassVar[str] = "return_referral"
    roles: ClassVar[frozenset[ActorRole]] = _AGENCY


class FollowUpPlanPayload(ActorPayload):
    plan: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]
    complaint_class: ComplaintClass | None = None
    """Reclassify the complaint (changes the resolution target); None keeps it."""


class PostFollowUpPlan(CommandBase):
    """Agency: post the follow-up plan (tindak lanjut); starts the resolution clock."""

    type: Literal["PostFollowUpPlan"] = "PostFollowUpPlan"
    payload: FollowUpPlanPayload
    trigger: ClassVar[str] = "post_follow_up_plan"
    roles: ClassVar[frozenset[ActorRole]] = _AGENCY


class ResolvePayload(ActorPayload):
    resolution_text: LongText
    """Must not be blank (guard ``has_resolution_text``)."""


class ResolveComplaint(CommandBase):
    """Agency: the complaint is resolved; the reporter is asked to confirm."""

    type: Literal["ResolveComplaint"] = "ResolveComplaint"
    payload: ResolvePayload
    trigger: ClassVar[str] = "resolve"
    roles: ClassVar[frozenset[ActorRole]] = _AGENCY


class ReassignPayload(ActorPayload):
    agency: Code
    reason: NoteText | None = None


class ReassignAgency(CommandBase):
    """Officer: refer the case to another agency (restarts the follow-up plan clock)."""

    type: Literal["ReassignAgency"] = "ReassignAgency"
    payload: ReassignPayload
    trigger: ClassVar[str] = "reassign_agency"
    roles: ClassVar[frozenset[ActorRole]] = _OFFICERS | {ActorRole.VERIFIER}


class EscalatePayload(ActorPayload):
    reason: Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS)]


class EscalateManually(CommandBase):
    """Officer: raise the escalation level by one now."""

    type: Literal["EscalateManually"] = "EscalateManually"
    payload: EscalatePayload
    trigger: ClassVar[str] = "escalate_manually"
    roles: ClassVar[frozenset[ActorRole]] = _STAFF


class TakeOver(CommandBase):
    """Officer: take personal charge of the case (its handler becomes the officer)."""

    type: Literal["TakeOver"] = "TakeOver"
    payload: NotePayload
    trigger: ClassVar[str] = "take_over"
    roles: ClassVar[frozenset[ActorRole]] = _OFFICERS


class ReferBack(CommandBase):
    """Officer: hand a taken-over case back to the responsible agency/desk."""

    type: Literal["ReferBack"] = "ReferBack"
    payload: NotePayload
    trigger: ClassVar[str] = "refer_back"
    roles: ClassVar[frozenset[ActorRole]] = _OFFICERS


class TimerPayload(FrozenModel):
    due_at: Instant


class TimerFired(CommandBase):
    """System: the SLA timer looks at the case. Its ``event_id`` is derived from
    (case_id, due_at) (`timer_event_id`), so a timer firing twice is applied once."""

    type: Literal["TimerFired"] = "TimerFired"
    payload: TimerPayload
    trigger: ClassVar[str] = "timer"
    roles: ClassVar[frozenset[ActorRole]] = frozenset()


class LinkIncidentPayload(FrozenModel):
    incident_id: Identifier
    reporters: Annotated[int, Field(ge=1)]
    """Reporters linked to the incident so far (its priority rises with them)."""
    score: Annotated[float | None, Field(ge=0, le=1)] = None
    """The linker's text similarity for this case (None when it is the incident's first)."""


class LinkToIncident(CommandBase):
    """System (the incident detector): this case is about incident ``incident_id``. Sent again
    with a higher ``reporters`` when more reporters join; a repeat with no more is a no-op."""

    type: Literal["LinkToIncident"] = "LinkToIncident"
    payload: LinkIncidentPayload
    trigger: ClassVar[str] = "link_incident"
    roles: ClassVar[frozenset[ActorRole]] = frozenset()


class UnlinkIncidentPayload(ActorPayload):
    incident_id: Identifier
    reason: Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS)]


class UnlinkFromIncident(CommandBase):
    """Officer or verifier: the link is wrong; the case leaves the incident for good."""

    type: Literal["UnlinkFromIncident"] = "UnlinkFromIncident"
    payload: UnlinkIncidentPayload
    trigger: ClassVar[str] = "unlink_incident"
    roles: ClassVar[frozenset[ActorRole]] = _OFFICERS | {ActorRole.VERIFIER}


def timer_event_id(case_id: str, due_at: Any) -> str:
    """Deterministic id of the timer message for ``case_id`` due at ``due_at``."""
    return f"timer:{case_id}:{due_at.isoformat()}"


Command = Annotated[
    CompleteFormalVerification
    | CompleteMaterialVerification
    | RequestInformation
    | RejectComplaint
    | ProvideInformation
    | ConfirmResolution
    | DisputeResolution
    | WithdrawComplaint
    | AcceptReferral
    | ReturnReferral
    | PostFollowUpPlan
    | ResolveComplaint
    | ReassignAgency
    | EscalateManually
    | TakeOver
    | ReferBack
    | TimerFired
    | LinkToIncident
    | UnlinkFromIncident,
    Field(discriminator="type"),
]


COMMAND_TYPES: dict[str, type[CommandBase]] = {
    m.model_fields["type"].default: m
    for m in (
        CompleteFormalVerification,
        CompleteMaterialVerification,
        RequestInformation,
        RejectComplaint,
        ProvideInformation,
        ConfirmResolution,
        DisputeResolution,
        WithdrawComplaint,
        AcceptReferral,
        ReturnReferral,
        PostFollowUpPlan,
        ResolveComplaint,
        ReassignAgency,
        EscalateManually,
        TakeOver,
        ReferBack,
        TimerFired,
        LinkToIncident,
        UnlinkFromIncident,
    )
}
