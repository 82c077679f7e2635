"""SMS gateway inbound webhook: a generic JSON shape and the form-encoded shape that
Twilio-style gateways post (``From``, ``Body``, ``MessageSid``), with the short keyword format
(see `consumers.adapters.base.parse_keyword_text`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from consumers.adapters.base import (
    AdapterError,
    ComplaintDraft,
    build_complaint,
    location_from,
    parse_keyword_text,
)
from consumers.adapters.fields import PhoneNumber, Timestamp
from workflow.enums import Channel
from workflow.intake import ComplaintSubmitted


class SmsInbound(BaseModel):
    """One inbound SMS as the gateway provider reports it."""

    model_config = ConfigDict(extra="ignore")

    message_id: Annotated[str, Field(min_length=1, max_length=100)]
    sender: Annotated[PhoneNumber, Field(min_length=1, alias="from")]
    text: Annotated[str, Field(min_length=1, max_length=5000, pattern=r"\S")]
    received_at: Timestamp | None = None
    """The provider's time stamp, kept as the channel's claim (the receipt starts the SLA)."""
    to: Annotated[str | None, Field(max_length=40)] = None


class TwilioSms(BaseModel):
    """The form fields of a Twilio-style inbound SMS that the gateway reads (others ignored)."""

    model_config = ConfigDict(extra="ignore")

    MessageSid: Annotated[str, Field(min_length=1, max_length=100)]
    From: Annotated[PhoneNumber, Field(min_length=1)]
    Body: Annotated[str, Field(min_length=1, max_length=5000, pattern=r"\S")]


def sms_from_form(form: Mapping[str, str]) -> SmsInbound:
    """Twilio-style form fields -> `SmsInbound` (AdapterError naming a missing field)."""
    try:
        fields = TwilioSms.model_validate(form)
    except ValidationError as exc:
        raise AdapterError("invalid_payload", _describe(exc)) from None
    return SmsInbound.model_validate(
        {"message_id": fields.MessageSid, "from": fields.From, "text": fields.Body}
    )


def parse_sms(data: object) -> SmsInbound:
    """Validate the JSON shape; AdapterError naming the fields otherwise."""
    try:
        return SmsInbound.model_validate(data)
    except ValidationError as exc:
        raise AdapterError("invalid_payload", _describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<body>'}: {e['msg']}"
        for e in exc.errors(include_url=False, include_input=False)
    )


def from_sms(
    sms: SmsInbound, now: datetime, agency_codes: frozenset[str] = frozenset()
) -> ComplaintSubmitted:
    """An SMS -> intake; the message id is the provider's id; the sender is the reporter."""
    report = parse_keyword_text(sms.text, agency_codes)
    draft = ComplaintDraft(
        channel=Channel.SMS,
        channel_message_id=sms.message_id,
        received_at=now,
        channel_sent_at=sms.received_at,
        # A bare keyword ("ADUAN") leaves no text: the message as sent is still the complaint.
        text=report.text or sms.text,
        subject=report.subject,
        phone=sms.sender,
        confidentiality=report.confidentiality,
        agency_hint=report.agency_hint,
        location=location_from(report.address),
    )
    return build_complaint(draft)
