"""Wire messages: the intake event, actor commands, domain events (pydantic v2, versioned).

Every message has the envelope of docs/core-interface.md: ``event_id``, ``type``,
``schema_version`` (``Literal[1]``), ``occurred_at`` (ISO 8601 *with* an offset),
``case_id``, ``causation_id``, ``correlation_id`` and a typed ``payload``. Models are frozen and
reject unknown fields.

Reporter confidentiality (UU 37/2008 Pasal 24(2); SP4N-LAPOR! "anonim"/"rahasia") is enforced
by construction:

* The clear identity (name, phone, email) exists only in `ComplaintSubmitted`, i.e. on the
  ``complaints.intake`` topic (and in ``deadletter``, which carries original bytes). Those topics
  must be readable only by the intake/case workers and have short retention; an identity vault
  for officers who may contact the reporter is out of the core's scope.
* Everything the core *produces* (``cases.events``, ``cases.state``) carries a `ReporterView`:
  for ``public`` reporters the identity as given, for ``anonymous`` and ``confidential``
  reporters only a keyed pseudonym (HMAC-SHA256 under a secret key held by the deployment; see
  `reporter_view`) or nothing at all when no key is configured.
* ``repr()``/``str()`` of a `ComplaintSubmitted` (and of `Reporter`) never print the identity or
  the complaint text, so a log line cannot leak them; validation errors name the field and the
  rule but never echo the input value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from workflow.sla import ComplaintClass, SlaClock, Stage

__all__ = [
    "COMMAND_TYPES",
    "EVENT_TYPES",
    "MAX_MESSAGE_BYTES",
    "SCHEMA_VERSION",
    "Actor",
    "ActorRole",
    "Attachment",
    "Channel",
    "Command",
    "ComplaintSubmitted",
    "Confidentiality",
    "Event",
    "InvalidMessage",
    "Location",
    "MaladministrationCategory",
    "MessageErrorReason",
    "RejectionCode",
    "RejectionReason",
    "ReportType",
    "Reporter",
    "ReporterView",
    "ReturnReason",
    "Timers",
    "case_id_for",
    "encode",
    "export_json_schemas",
    "parse_command",
    "parse_event",
    "parse_intake",
    "reporter_view",
]

SCHEMA_VERSION = 1
MAX_MESSAGE_BYTES = 256 * 1024
"""Messages larger than this are refused before decoding (reason ``oversized``)."""

MAX_SUBJECT_CHARS = 200
MAX_TEXT_CHARS = 20_000
MAX_NOTE_CHARS = 5_000
MAX_ATTACHMENTS = 20
MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024

EARLIEST_YEAR = 2000
LATEST_YEAR = 2100


def _plausible(value: datetime) -> datetime:
    # A timestamp outside these years is a channel bug (or an attack on the SLA clock: year 1900
    # escalates to the top at once, year 9999 overflows date arithmetic); refuse it at the door.
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_plausible)]
"""A timestamp with an offset, within a plausible range of years."""

_ID = Annotated[str, Field(min_length=1, max_length=128)]
_CODE = Annotated[str, Field(min_length=1, max_length=64)]
_NOTE = Annotated[str, Field(max_length=MAX_NOTE_CHARS)]
_TEXT = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]


# -- enumerations ------------------------------------------------------------------------------


class Channel(StrEnum):
    """Where a complaint came in (DOMAIN.md, "Intake channels seen in practice")."""

    WEB = "web"
    MOBILE_APP = "mobile_app"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    CALL_CENTRE = "call_centre"
    WALK_IN = "walk_in"
    LETTER = "letter"
    COMPLAINT_BOX = "complaint_box"
    SOCIAL_MEDIA = "social_media"
    SP4N_LAPOR = "sp4n_lapor"


class Confidentiality(StrEnum):
    """``anonymous`` = report may be public, identity hidden (LAPOR! "anonim");
    ``confidential`` = neither report nor identity public (LAPOR! "rahasia")."""

    PUBLIC = "public"
    ANONYMOUS = "anonymous"
    CONFIDENTIAL = "confidential"


class ReportType(StrEnum):
    """Report types on SP4N-LAPOR!."""

    ASPIRASI = "aspirasi"
    PENGADUAN = "pengaduan"
    PERMINTAAN_INFORMASI = "permintaan_informasi"
    WHISTLE_BLOWING = "whistle_blowing"


class MaladministrationCategory(StrEnum):
    """The ten maladministration types of Peraturan Ombudsman 26/2017."""

    UNDUE_DELAY = "penundaan_berlarut"
    NO_SERVICE = "tidak_memberikan_pelayanan"
    INCOMPETENCE = "tidak_kompeten"
    ABUSE_OF_AUTHORITY = "penyalahgunaan_wewenang"
    PROCEDURAL_DEVIATION = "penyimpangan_prosedur"
    ASKING_FOR_PAYMENT = "permintaan_imbalan"
    IMPROPER_CONDUCT = "tidak_patut"
    PARTIALITY = "berpihak"
    DISCRIMINATION = "diskriminasi"
    CONFLICT_OF_INTEREST = "konflik_kepentingan"


class RejectionReason(StrEnum):
    """Why a verifier rejects (archives) a complaint (DOMAIN.md rejection reasons)."""

    NOT_WITHIN_AUTHORITY = "not_within_authority"
    FORMAL_REQUIREMENTS_INCOMPLETE = "formal_requirements_incomplete"
    DUPLICATE = "duplicate"
    BEFORE_COURT = "before_court"
    OLDER_THAN_TWO_YEARS = "older_than_two_years"
    NO_PRIOR_COMPLAINT_TO_AGENCY = "no_prior_complaint_to_agency"
    OUT_OF_SCOPE = "out_of_scope"
    FORMAT_ERROR = "format_error"
    TOO_GENERAL = "too_general"
    IRRELEVANT = "irrelevant"


class ReturnReason(StrEnum):
    """Why an agency returns a referral ("Bukan Wewenang" and kin)."""

    NOT_WITHIN_AUTHORITY = "not_within_authority"
    WRONG_REGION = "wrong_region"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    OTHER = "other"


class ActorRole(StrEnum):
    """Who may act on a case."""

    REPORTER = "reporter"
    VERIFIER = "verifier"
    AGENCY = "agency"
    OFFICER = "officer"


# -- shared building blocks ----------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Actor(_Model):
    """Who sends a command. ``agency`` is the agency an agency-side actor works for."""

    id: _ID
    role: ActorRole
    agency: _CODE | None = None


class Reporter(_Model):
    """The reporter as given at intake. The identity fields are hidden from ``repr``."""

    name: Annotated[str | None, Field(max_length=200, repr=False)] = None
    phone: Annotated[str | None, Field(max_length=40, repr=False)] = None
    """Any Indonesian notation (``0812...``, ``+62 812...``); normalised to E.164."""
    email: Annotated[str | None, Field(max_length=254, repr=False)] = None
    """Syntax-checked and normalised; no DNS lookup."""
    confidentiality: Confidentiality = Confidentiality.PUBLIC

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            number = phonenumbers.parse(v, "ID")
        except phonenumbers.NumberParseException:
            raise ValueError("not a valid Indonesian phone number") from None
        if not phonenumbers.is_valid_number(number):
            raise ValueError("not a valid Indonesian phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return validate_email(v, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"not a valid email address ({_strip_value(str(exc), v)})") from None


def _strip_value(text: str, value: str) -> str:
    return text.replace(value, "<value>") if value else text


class ReporterView(_Model):
    """What the audit trail and the case snapshot may hold about the reporter.

    For ``public`` reporters: the identity as validated. For ``anonymous`` and ``confidential``
    reporters: name/phone/email are None; ``pseudonym`` is a keyed HMAC of the identity (lets an
    officer see that two complaints come from the same person without learning who) or None when
    the deployment has no pseudonym key. ``contactable`` says whether intake had a phone or email.
    """

    confidentiality: Confidentiality
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    pseudonym: str | None = None
    contactable: bool = False


def reporter_view(reporter: Reporter, key: bytes | None) -> ReporterView:
    """Project the intake reporter onto what may be stored (see the module docstring)."""
    contactable = reporter.phone is not None or reporter.email is not None
    if reporter.confidentiality is Confidentiality.PUBLIC:
        return ReporterView.model_construct(
            confidentiality=reporter.confidentiality,
            name=reporter.name,
            phone=reporter.phone,
            email=reporter.email,
            pseudonym=None,
            contactable=contactable,
        )
    pseudonym = None
    basis = reporter.phone or reporter.email or reporter.name
    if key is not None and basis:
        digest = hmac.new(key, basis.casefold().encode(), hashlib.sha256).digest()
        pseudonym = "P-" + base64.b32encode(digest[:10]).decode().rstrip("=")
    return ReporterView.model_construct(
        confidentiality=reporter.confidentiality,
        name=None,
        phone=None,
        email=None,
        pseudonym=pseudonym,
        contactable=contactable,
    )


class Location(_Model):
    """Where the problem is. ``region_code``: Kemendagri code, e.g. ``81.01.05.2001``."""

    region_code: Annotated[str | None, Field(pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")] = (
        None
    )
    address: Annotated[str | None, Field(max_length=500, repr=False)] = None
    latitude: Annotated[float | None, Field(ge=-90, le=90)] = None
    longitude: Annotated[float | None, Field(ge=-180, le=180)] = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> Location:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude must be given together")
        return self


class Attachment(_Model):
    """A file kept elsewhere (object store); the message only references it."""

    uri: Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    size_bytes: Annotated[int, Field(ge=0, le=MAX_ATTACHMENT_BYTES)]
    content_type: Annotated[str, Field(max_length=127, pattern=r"^[\w.+-]+/[\w.+-]+(\s*;.*)?$")]
    name: Annotated[str | None, Field(max_length=255)] = None


class Timers(_Model):
    """Every timer of a case after an event, computed by ``decide`` so ``evolve`` needs no
    calendar and a replay is exact.

    ``clock`` is the stage clock (verification, follow-up plan, resolution; may be paused);
    ``clock_next_at`` its next warning/breach instant; ``reporter_clock`` the clock waiting on the
    reporter (missing information, confirmation) and ``reporter_due_at`` its deadline;
    ``escalation_due_at`` when the next escalation level (or reminder past the top) is due.
    """

    clock: SlaClock | None = None
    clock_next_at: AwareDatetime | None = None
    reporter_clock: SlaClock | None = None
    reporter_due_at: AwareDatetime | None = None
    escalation_due_at: AwareDatetime | None = None


NO_TIMERS = Timers()


# -- the envelope --------------------------------------------------------------------------------


class _Envelope(_Model):
    event_id: _ID
    schema_version: Literal[1] = 1
    occurred_at: Instant
    case_id: _ID | None = None
    causation_id: _ID | None = None
    correlation_id: _ID | None = None


# -- intake --------------------------------------------------------------------------------------


class ComplaintPayload(_Model):
    """The complaint as a channel adapter reports it."""

    channel: Channel
    channel_message_id: _ID
    received_at: Instant
    reporter: Reporter
    subject: Annotated[str, Field(min_length=1, max_length=MAX_SUBJECT_CHARS, repr=False)]
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS, repr=False)]
    report_type: ReportType = ReportType.PENGADUAN
    category: MaladministrationCategory | None = None
    service: Annotated[str | None, Field(max_length=200)] = None
    agency_hint: _CODE | None = None
    location: Location | None = None
    attachments: Annotated[tuple[Attachment, ...], Field(max_length=MAX_ATTACHMENTS)] = ()
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] = "id"
    external_reference: Annotated[str | None, Field(max_length=128)] = None
    """E.g. the SP4N-LAPOR! tracking id of a forwarded report."""


class ComplaintSubmitted(_Envelope):
    """Intake: a complaint arrived on a channel (topic ``complaints.intake``).

    ``case_id`` may be omitted; when given it must equal `case_id_for` (channel, message id).
    """

    type: Literal["ComplaintSubmitted"] = "ComplaintSubmitted"
    payload: ComplaintPayload

    @model_validator(mode="after")
    def _case_id_matches(self) -> ComplaintSubmitted:
        expected = case_id_for(self.payload.channel, self.payload.channel_message_id)
        if self.case_id is not None and self.case_id != expected:
            raise ValueError(
                f"case_id must be the tracking number derived from channel and "
                f"channel_message_id ({expected})"
            )
        return self

    @property
    def derived_case_id(self) -> str:
        """The case id of this complaint (given or derived)."""
        return self.case_id or case_id_for(self.payload.channel, self.payload.channel_message_id)


def case_id_for(channel: str, channel_message_id: str) -> str:
    """The deterministic tracking number of a complaint, e.g. ``ADU-7K3F-9QX2-M4TA``.

    Derived from channel and channel message id, so a redelivered or re-sent intake message maps
    to the same case (60 bits of SHA-256, base32).
    """
    digest = hashlib.sha256(f"{channel}\x1f{channel_message_id}".encode()).digest()
    code = base64.b32encode(digest[:10]).decode()[:12]
    return f"ADU-{code[0:4]}-{code[4:8]}-{code[8:12]}"


# -- commands ------------------------------------------------------------------------------------


class _ActorPayload(_Model):
    actor: Actor


class _Command(_Envelope):
    """Commands target an existing case: ``case_id`` is required."""

    case_id: _ID
    trigger: ClassVar[str]
    """The lifecycle trigger (states.lifecycle) this command fires."""
    roles: ClassVar[frozenset[ActorRole]]
    """Roles allowed to send it."""


_VERIFIERS = frozenset({ActorRole.VERIFIER, ActorRole.OFFICER})
_REPORTER = frozenset({ActorRole.REPORTER, ActorRole.OFFICER})
_AGENCY = frozenset({ActorRole.AGENCY, ActorRole.OFFICER})
_OFFICERS = frozenset({ActorRole.OFFICER})
_STAFF = frozenset({ActorRole.VERIFIER, ActorRole.AGENCY, ActorRole.OFFICER})


class NotePayload(_ActorPayload):
    note: _NOTE | None = None


class CompleteFormalVerification(_Command):
    """Verifier: identity, prior complaint, chronology and expectation are complete."""

    type: Literal["CompleteFormalVerification"] = "CompleteFormalVerification"
    payload: NotePayload
    trigger: ClassVar[str] = "complete_formal_verification"
    roles: ClassVar[frozenset[ActorRole]] = _VERIFIERS


class MaterialVerificationPayload(_ActorPayload):
    agency: _CODE | None = None
    """The responsible agency; None lets routing decide (the intake suggestion)."""
    complaint_class: ComplaintClass | None = None
    """Sets the resolution target; None = the policy's default class."""
    note: _NOTE | None = None


class CompleteMaterialVerification(_Command):
    """Verifier: within authority, not a duplicate, not resolved yet -> verified and referred."""

    type: Literal["CompleteMaterialVerification"] = "CompleteMaterialVerification"
    payload: MaterialVerificationPayload
    trigger: ClassVar[str] = "complete_material_verification"
    roles: ClassVar[frozenset[ActorRole]] = _VERIFIERS


class RequestInformationPayload(_ActorPayload):
    question: Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS)]


class RequestInformation(_Command):
    """Verifier: ask the reporter for missing information (pauses the verification clock)."""

    type: Literal["RequestInformation"] = "RequestInformation"
    payload: RequestInformationPayload
    trigger: ClassVar[str] = "request_information"
    roles: ClassVar[frozenset[ActorRole]] = _VERIFIERS


class RejectPayload(_ActorPayload):
    reason: RejectionReason
    detail: _NOTE | None = None


class RejectComplaint(_Command):
    """Verifier: reject (archive) the complaint for a reason from the closed list."""

    type: Literal["RejectComplaint"] = "RejectComplaint"
    payload: RejectPayload
    trigger: ClassVar[str] = "reject"
    roles: ClassVar[frozenset[ActorRole]] = _VERIFIERS


class ProvideInformationPayload(_ActorPayload):
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS, repr=False)]
    attachments: Annotated[tuple[Attachment, ...], Field(max_length=MAX_ATTACHMENTS)] = ()


class ProvideInformation(_Command):
    """Reporter: supply the requested information (resumes the verification clock)."""

    type: Literal["ProvideInformation"] = "ProvideInformation"
    payload: ProvideInformationPayload
    trigger: ClassVar[str] = "provide_information"
    roles: ClassVar[frozenset[ActorRole]] = _REPORTER


class ConfirmResolution(_Command):
    """Reporter: the resolution is accepted -> closed."""

    type: Literal["ConfirmResolution"] = "ConfirmResolution"
    payload: NotePayload
    trigger: ClassVar[str] = "confirm_resolution"
    roles: ClassVar[frozenset[ActorRole]] = _REPORTER


class DisputePayload(_ActorPayload):
    reason: Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS)]


class DisputeResolution(_Command):
    """Reporter: the resolution is not accepted -> reopened (within the reopen window)."""

    type: Literal["DisputeResolution"] = "DisputeResolution"
    payload: DisputePayload
    trigger: ClassVar[str] = "dispute_resolution"
    roles: ClassVar[frozenset[ActorRole]] = _REPORTER


class WithdrawComplaint(_Command):
    """Reporter (or an officer on their behalf): withdraw the complaint."""

    type: Literal["WithdrawComplaint"] = "WithdrawComplaint"
    payload: NotePayload
    trigger: ClassVar[str] = "withdraw"
    roles: ClassVar[frozenset[ActorRole]] = _REPORTER


class AcceptReferral(_Command):
    """Agency: accept the referred case -> in progress."""

    type: Literal["AcceptReferral"] = "AcceptReferral"
    payload: NotePayload
    trigger: ClassVar[str] = "accept_referral"
    roles: ClassVar[frozenset[ActorRole]] = _AGENCY


class ReturnReferralPayload(_ActorPayload):
    reason: ReturnReason
    detail: _NOTE | None = None


class ReturnReferral(_Command):
    """Agency: not ours -> re-routed (excluding every agency that returned it) or triage."""

    type: Literal["ReturnReferral"] = "ReturnReferral"
    payload: ReturnReferralPayload
    trigger: ClassVar[str] = "return_referral"
    roles: ClassVar[frozenset[ActorRole]] = _AGENCY


class FollowUpPlanPayload(_ActorPayload):
    plan: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]
    complaint_class: ComplaintClass | None = None
    """Reclassify the complaint (changes the resolution target); None keeps it."""


class PostFollowUpPlan(_Command):
    """Agency: post the follow-up plan (tindak lanjut); starts the resolution clock."""

    type: Literal["PostFollowUpPlan"] = "PostFollowUpPlan"
    payload: FollowUpPlanPayload
    trigger: ClassVar[str] = "post_follow_up_plan"
    roles: ClassVar[frozenset[ActorRole]] = _AGENCY


class ResolvePayload(_ActorPayload):
    resolution_text: _TEXT
    """Must not be blank (guard ``has_resolution_text``)."""


class ResolveComplaint(_Command):
    """Agency: the complaint is resolved; the reporter is asked to confirm."""

    type: Literal["ResolveComplaint"] = "ResolveComplaint"
    payload: ResolvePayload
    trigger: ClassVar[str] = "resolve"
    roles: ClassVar[frozenset[ActorRole]] = _AGENCY


class ReassignPayload(_ActorPayload):
    agency: _CODE
    reason: _NOTE | None = None


class ReassignAgency(_Command):
    """Officer: refer the case to another agency (restarts the follow-up plan clock)."""

    type: Literal["ReassignAgency"] = "ReassignAgency"
    payload: ReassignPayload
    trigger: ClassVar[str] = "reassign_agency"
    roles: ClassVar[frozenset[ActorRole]] = _OFFICERS | {ActorRole.VERIFIER}


class EscalatePayload(_ActorPayload):
    reason: Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS)]


class EscalateManually(_Command):
    """Officer: raise the escalation level by one now."""

    type: Literal["EscalateManually"] = "EscalateManually"
    payload: EscalatePayload
    trigger: ClassVar[str] = "escalate_manually"
    roles: ClassVar[frozenset[ActorRole]] = _STAFF


class TakeOver(_Command):
    """Officer: take personal charge of the case (its handler becomes the officer)."""

    type: Literal["TakeOver"] = "TakeOver"
    payload: NotePayload
    trigger: ClassVar[str] = "take_over"
    roles: ClassVar[frozenset[ActorRole]] = _OFFICERS


class ReferBack(_Command):
    """Officer: hand a taken-over case back to the responsible agency/desk."""

    type: Literal["ReferBack"] = "ReferBack"
    payload: NotePayload
    trigger: ClassVar[str] = "refer_back"
    roles: ClassVar[frozenset[ActorRole]] = _OFFICERS


class TimerPayload(_Model):
    due_at: Instant


class TimerFired(_Command):
    """System: the SLA timer looks at the case. Its ``event_id`` is derived from
    (case_id, due_at) (`timer_event_id`), so a timer firing twice is applied once."""

    type: Literal["TimerFired"] = "TimerFired"
    payload: TimerPayload
    trigger: ClassVar[str] = "timer"
    roles: ClassVar[frozenset[ActorRole]] = frozenset()


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
    | TimerFired,
    Field(discriminator="type"),
]


# -- events --------------------------------------------------------------------------------------


class _Event(_Envelope):
    case_id: _ID


class CaseOpenedPayload(_Model):
    channel: Channel
    channel_message_id: _ID
    received_at: AwareDatetime
    reporter: ReporterView
    subject: str
    text: str
    report_type: ReportType
    category: MaladministrationCategory | None = None
    service: str | None = None
    agency_hint: str | None = None
    location: Location | None = None
    attachments: tuple[Attachment, ...] = ()
    language: str = "id"
    external_reference: str | None = None
    triage_agency: str
    """The desk that verifies the case (its calendar and ladder run the verification clock)."""
    suggested_agency: str
    """Routing's suggestion at intake."""
    routing_rule: str | None = None
    routing_fallback: bool = False
    candidates: tuple[str, ...] = ()
    """Routing's ranked alternatives after the suggestion, used when a referral is returned."""
    timers: Timers


class CaseOpened(_Event):
    """A complaint opened a case (state ``received``); the verification clock runs."""

    type: Literal["CaseOpened"] = "CaseOpened"
    payload: CaseOpenedPayload


class ActorNotePayload(_ActorPayload):
    note: str | None = None
    timers: Timers | None = None


class FormalVerificationCompleted(_Event):
    type: Literal["FormalVerificationCompleted"] = "FormalVerificationCompleted"
    payload: ActorNotePayload


class CaseVerifiedPayload(_ActorPayload):
    complaint_class: ComplaintClass
    note: str | None = None


class CaseVerified(_Event):
    """Material verification done; the verification clock stopped."""

    type: Literal["CaseVerified"] = "CaseVerified"
    payload: CaseVerifiedPayload


class CaseReferredPayload(_Model):
    agency: str
    rule: str | None = None
    """Why this agency: "verifier", "agency_hint", a routing rule, "triage", "reassigned"..."""
    timers: Timers
    """The follow-up plan clock started in the agency's calendar."""


class CaseReferred(_Event):
    """Referred (disposisi) to an agency."""

    type: Literal["CaseReferred"] = "CaseReferred"
    payload: CaseReferredPayload


class InformationRequestedPayload(_ActorPayload):
    question: str
    timers: Timers


class InformationRequested(_Event):
    type: Literal["InformationRequested"] = "InformationRequested"
    payload: InformationRequestedPayload


class ComplaintRejectedPayload(_ActorPayload):
    reason: RejectionReason
    detail: str | None = None
    timers: Timers = NO_TIMERS


class ComplaintRejected(_Event):
    type: Literal["ComplaintRejected"] = "ComplaintRejected"
    payload: ComplaintRejectedPayload


class InformationProvidedPayload(_ActorPayload):
    text: str
    attachments: tuple[Attachment, ...] = ()
    timers: Timers


class InformationProvided(_Event):
    type: Literal["InformationProvided"] = "InformationProvided"
    payload: InformationProvidedPayload


class ResolutionConfirmed(_Event):
    type: Literal["ResolutionConfirmed"] = "ResolutionConfirmed"
    payload: ActorNotePayload


class ResolutionDisputedPayload(_ActorPayload):
    reason: str
    timers: Timers


class ResolutionDisputed(_Event):
    """Reopened: back to in progress with the resolution clock resumed (not reset)."""

    type: Literal["ResolutionDisputed"] = "ResolutionDisputed"
    payload: ResolutionDisputedPayload


class ComplaintWithdrawn(_Event):
    type: Literal["ComplaintWithdrawn"] = "ComplaintWithdrawn"
    payload: ActorNotePayload


class ReferralAccepted(_Event):
    type: Literal["ReferralAccepted"] = "ReferralAccepted"
    payload: ActorNotePayload


class ReferralReturnedPayload(_ActorPayload):
    agency: str
    """The agency that returned the case (excluded from re-routing from now on)."""
    reason: ReturnReason
    detail: str | None = None


class ReferralReturned(_Event):
    """Followed by `CaseReferred` to the next candidate or the triage desk."""

    type: Literal["ReferralReturned"] = "ReferralReturned"
    payload: ReferralReturnedPayload


class FollowUpPlanPostedPayload(_ActorPayload):
    plan: str
    complaint_class: ComplaintClass
    timers: Timers


class FollowUpPlanPosted(_Event):
    type: Literal["FollowUpPlanPosted"] = "FollowUpPlanPosted"
    payload: FollowUpPlanPostedPayload


class ComplaintResolvedPayload(_ActorPayload):
    resolution_text: str
    reopen_until: AwareDatetime
    """The reporter may dispute until this instant."""
    timers: Timers


class ComplaintResolved(_Event):
    type: Literal["ComplaintResolved"] = "ComplaintResolved"
    payload: ComplaintResolvedPayload


class AgencyReassignedPayload(_ActorPayload):
    from_agency: str | None
    agency: str
    reason: str | None = None
    timers: Timers


class AgencyReassigned(_Event):
    """Referred to another agency by an officer (state ``referred``)."""

    type: Literal["AgencyReassigned"] = "AgencyReassigned"
    payload: AgencyReassignedPayload


class CaseEscalatedPayload(_Model):
    level: Annotated[int, Field(ge=1)]
    automatic: bool
    stage: Stage | None = None
    actor: Actor | None = None
    reason: str | None = None
    timers: Timers


class CaseEscalated(_Event):
    """The case moved up the escalation ladder to ``level``."""

    type: Literal["CaseEscalated"] = "CaseEscalated"
    payload: CaseEscalatedPayload


class EscalationReminderPayload(_Model):
    level: int
    timers: Timers


class EscalationReminderIssued(_Event):
    """The case sits at the top level past its deadline: remind that level again."""

    type: Literal["EscalationReminderIssued"] = "EscalationReminderIssued"
    payload: EscalationReminderPayload


class CaseTakenOver(_Event):
    type: Literal["CaseTakenOver"] = "CaseTakenOver"
    payload: ActorNotePayload


class CaseReferredBack(_Event):
    type: Literal["CaseReferredBack"] = "CaseReferredBack"
    payload: ActorNotePayload


class SlaWarningPayload(_Model):
    stage: Stage
    threshold: float
    timers: Timers


class SlaWarningRaised(_Event):
    type: Literal["SlaWarningRaised"] = "SlaWarningRaised"
    payload: SlaWarningPayload


class SlaBreachedPayload(_Model):
    stage: Stage
    deadline: AwareDatetime
    timers: Timers


class SlaBreached(_Event):
    type: Literal["SlaBreached"] = "SlaBreached"
    payload: SlaBreachedPayload


class TimerClosurePayload(_Model):
    deadline: AwareDatetime
    timers: Timers = NO_TIMERS


class ClosedForReporterSilence(_Event):
    """The reporter did not answer the resolution in time -> closed."""

    type: Literal["ClosedForReporterSilence"] = "ClosedForReporterSilence"
    payload: TimerClosurePayload


class WithdrawnForMissingInformation(_Event):
    """The reporter did not supply the requested information in time -> withdrawn."""

    type: Literal["WithdrawnForMissingInformation"] = "WithdrawnForMissingInformation"
    payload: TimerClosurePayload


RejectionCode = Literal["unknown_case", "not_allowed_in_state", "guard_failed", "forbidden"]
"""Why a command was rejected: no such case, the state does not allow it, a guard failed, or
the actor's role may not send it."""


class CommandRejectedPayload(_Model):
    command_type: str
    reason_code: RejectionCode
    detail: str


class CommandRejected(_Event):
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
    | CommandRejected,
    Field(discriminator="type"),
]

_INTAKE_TYPES: dict[str, type[_Envelope]] = {"ComplaintSubmitted": ComplaintSubmitted}
COMMAND_TYPES: dict[str, type[_Command]] = {
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
    )
}
EVENT_TYPES: dict[str, type[_Event]] = {
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
        CommandRejected,
    )
}


# -- decoding, encoding, schemas -----------------------------------------------------------------


class MessageErrorReason(StrEnum):
    """Why a message was refused (the closed set the dead-letter records carry)."""

    OVERSIZED = "oversized"
    INVALID_UTF8 = "invalid_utf8"
    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    INVALID_FIELD = "invalid_field"


class InvalidMessage(ValueError):
    """A message that cannot be accepted; ``str()`` names the field and the rule broken.

    The detail never echoes input values (they may hold a reporter's identity).
    """

    def __init__(self, reason: MessageErrorReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


_FRIENDLY = {
    "missing": "missing required field",
    "extra_forbidden": "unknown field (not allowed by the schema)",
    "timezone_aware": "timestamp must carry a UTC offset, e.g. 2026-03-02T09:00:00+09:00",
}


def _describe(error: Any) -> str:
    loc = ".".join(str(part) for part in error["loc"]) or "<message>"
    msg = _FRIENDLY.get(error["type"]) or str(error["msg"])
    msg = msg.removeprefix("Value error, ")
    return f"{loc}: {msg}"


def _validation_detail(exc: ValidationError) -> str:
    return "; ".join(_describe(e) for e in exc.errors(include_url=False, include_input=False))


def _decode(
    raw: bytes, models: dict[str, Any], kind: str, max_bytes: int = MAX_MESSAGE_BYTES
) -> Any:
    if len(raw) > max_bytes:
        raise InvalidMessage(
            MessageErrorReason.OVERSIZED,
            f"message is {len(raw)} bytes, the limit is {max_bytes}",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessage(
            MessageErrorReason.INVALID_UTF8, f"not valid UTF-8 at byte {exc.start}"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidMessage(
            MessageErrorReason.NOT_JSON,
            f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from None
    return _from_object(data, models, kind)


def _from_object(data: Any, models: dict[str, Any], kind: str) -> Any:
    if not isinstance(data, dict):
        raise InvalidMessage(
            MessageErrorReason.NOT_AN_OBJECT, f"a message must be a JSON object, got {_kind(data)}"
        )
    type_ = data.get("type")
    model = models.get(type_) if isinstance(type_, str) else None
    if model is None:
        if "type" not in data:
            raise InvalidMessage(MessageErrorReason.UNKNOWN_TYPE, "type: missing required field")
        raise InvalidMessage(
            MessageErrorReason.UNKNOWN_TYPE,
            f"type: {str(type_)[:60]!r} is not a known {kind} type",
        )
    version = data.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise InvalidMessage(
            MessageErrorReason.UNSUPPORTED_SCHEMA_VERSION,
            f"schema_version: {json.dumps(version)[:20]} is not supported "
            f"(supported: {SCHEMA_VERSION})",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessage(MessageErrorReason.INVALID_FIELD, _validation_detail(exc)) from None


def _kind(data: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(data), "a number"
    )


def parse_intake(raw: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> ComplaintSubmitted:
    """Decode and validate an intake message; raises `InvalidMessage`."""
    result: ComplaintSubmitted = _decode(raw, _INTAKE_TYPES, "intake", max_bytes)
    return result


def parse_command(raw: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> Command:
    """Decode and validate a command; raises `InvalidMessage`."""
    result: Command = _decode(raw, COMMAND_TYPES, "command", max_bytes)
    return result


def parse_event(raw: bytes) -> Event:
    """Decode and validate a domain event; raises `InvalidMessage`."""
    result: Event = _decode(raw, EVENT_TYPES, "event")
    return result


def encode(message: BaseModel) -> bytes:
    """Compact UTF-8 JSON of any message (or case snapshot)."""
    return message.__pydantic_serializer__.to_json(message)


def export_json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12) of every wire message, keyed by message type."""
    models: dict[str, type[BaseModel]] = {**_INTAKE_TYPES, **COMMAND_TYPES, **EVENT_TYPES}
    schemas = {}
    for name, model in models.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"urn:aduan:message:{name}:v{SCHEMA_VERSION}"
        schemas[name] = schema
    return schemas
