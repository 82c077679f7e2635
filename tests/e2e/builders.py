"""Build wire messages for end-to-end tests through the core's own models (so they are valid)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from workflow.codec import encode
from workflow.commands import (
    AcceptReferral,
    CompleteFormalVerification,
    CompleteMaterialVerification,
    ConfirmResolution,
    NotePayload,
    PostFollowUpPlan,
    ProvideInformation,
    ProvideInformationPayload,
    RequestInformation,
    RequestInformationPayload,
    ResolveComplaint,
    ResolvePayload,
)
from workflow.commands import FollowUpPlanPayload as PlanPayload
from workflow.commands import MaterialVerificationPayload as MaterialPayload
from workflow.enums import ActorRole, Channel
from workflow.intake import ComplaintPayload, ComplaintSubmitted
from workflow.reporter import Reporter
from workflow.values import Actor

VERIFIER = Actor(id="verifier-01", role=ActorRole.VERIFIER)
REPORTER = Actor(id="reporter", role=ActorRole.REPORTER)


def agency_actor(agency: str) -> Actor:
    return Actor(id=f"{agency.lower()}-liaison", role=ActorRole.AGENCY, agency=agency)


def new_id() -> str:
    return str(uuid.uuid4())


def complaint(
    message_id: str,
    at: datetime,
    *,
    channel: Channel = Channel.WEB,
    text: str = "Antrean pelayanan di puskesmas sangat lama dan petugas tidak ada di tempat.",
    agency_hint: str | None = "DINKES",
    confidentiality: str = "public",
    name: str = "Maria Latuconsina",
    phone: str = "081234567890",
) -> ComplaintSubmitted:
    return ComplaintSubmitted(
        event_id=new_id(),
        occurred_at=at,
        payload=ComplaintPayload(
            channel=channel,
            channel_message_id=message_id,
            received_at=at,
            reporter=Reporter.model_validate(
                {"name": name, "phone": phone, "confidentiality": confidentiality}
            ),
            subject="Pelayanan puskesmas lambat",
            text=text,
            agency_hint=agency_hint,
        ),
    )


def _command(cls: Any, case_id: str, at: datetime, payload: Any) -> Any:
    return cls(event_id=new_id(), occurred_at=at, case_id=case_id, payload=payload)


def formal(case_id: str, at: datetime) -> CompleteFormalVerification:
    return _command(CompleteFormalVerification, case_id, at, NotePayload(actor=VERIFIER))  # type: ignore[no-any-return]


def material(case_id: str, at: datetime, agency: str = "DINKES") -> CompleteMaterialVerification:
    payload = MaterialPayload(actor=VERIFIER, agency=agency)
    return _command(CompleteMaterialVerification, case_id, at, payload)  # type: ignore[no-any-return]


def accept(case_id: str, at: datetime, agency: str = "DINKES") -> AcceptReferral:
    return _command(AcceptReferral, case_id, at, NotePayload(actor=agency_actor(agency)))  # type: ignore[no-any-return]


def plan(case_id: str, at: datetime, agency: str = "DINKES") -> PostFollowUpPlan:
    payload = PlanPayload(actor=agency_actor(agency), plan="Menambah petugas jaga pagi.")
    return _command(PostFollowUpPlan, case_id, at, payload)  # type: ignore[no-any-return]


def resolve(case_id: str, at: datetime, agency: str = "DINKES") -> ResolveComplaint:
    payload = ResolvePayload(
        actor=agency_actor(agency), resolution_text="Jadwal petugas diperbaiki sejak Senin."
    )
    return _command(ResolveComplaint, case_id, at, payload)  # type: ignore[no-any-return]


def confirm(case_id: str, at: datetime) -> ConfirmResolution:
    return _command(ConfirmResolution, case_id, at, NotePayload(actor=REPORTER))  # type: ignore[no-any-return]


def request_information(case_id: str, at: datetime) -> RequestInformation:
    payload = RequestInformationPayload(actor=VERIFIER, question="Mohon sebutkan nama puskesmas.")
    return _command(RequestInformation, case_id, at, payload)  # type: ignore[no-any-return]


def provide_information(case_id: str, at: datetime) -> ProvideInformation:
    payload = ProvideInformationPayload(actor=REPORTER, text="Puskesmas Masohi.")
    return _command(ProvideInformation, case_id, at, payload)  # type: ignore[no-any-return]


def wire(message: Any) -> tuple[bytes, bytes]:
    """(key, value) as a channel would publish it: keyed by the case id."""
    case_id = (
        message.derived_case_id if isinstance(message, ComplaintSubmitted) else message.case_id
    )
    return case_id.encode(), encode(message)
