"""The intake message: a complaint as a channel adapter reports it, and its tracking number."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, date, timedelta
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from workflow.enums import Channel, MaladministrationCategory, Priority, ReportType
from workflow.reporter import Reporter
from workflow.values import (
    MAX_ATTACHMENTS,
    MAX_SUBJECT_CHARS,
    MAX_TEXT_CHARS,
    Attachment,
    Code,
    Envelope,
    FrozenModel,
    Identifier,
    Instant,
    Location,
)

__all__ = [
    "INTAKE_TYPES",
    "TRACKING_NUMBER",
    "ComplaintPayload",
    "ComplaintSubmitted",
    "ReportedDate",
    "case_id_for",
    "with_tracking_number",
]


def _date_not_number(value: object) -> object:
    # pydantic's lax mode reads a number as days since 1970: a reporter's date is never that.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("a date must be written YYYY-MM-DD")
    return value


ReportedDate = Annotated[date, BeforeValidator(_date_not_number)]
"""A date a reporter gives (ISO ``YYYY-MM-DD`` text or a date), never a number."""


class ComplaintPayload(FrozenModel):
    """The complaint as a channel adapter reports it."""

    channel: Channel
    channel_message_id: Identifier
    received_at: Instant
    """When this system received the complaint (the gateway's clock): the SLA clock starts here."""
    reporter: Reporter
    subject: Annotated[str, Field(min_length=1, max_length=MAX_SUBJECT_CHARS, repr=False)]
    text: Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS, repr=False)]
    report_type: ReportType = ReportType.PENGADUAN
    category: MaladministrationCategory | None = None
    service: Annotated[str | None, Field(max_length=200)] = None
    agency_hint: Code | None = None
    priority: Priority | None = None
    """How urgent the channel or the intake desk judged it; the verifier may change it."""
    incident_date: ReportedDate | None = None
    """When the maladministration happened, as the reporter says (for the two-year rule)."""
    location: Location | None = None
    attachments: Annotated[tuple[Attachment, ...], Field(max_length=MAX_ATTACHMENTS)] = ()
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] = "id"
    external_reference: Annotated[str | None, Field(max_length=128)] = None
    """E.g. the SP4N-LAPOR! tracking id of a forwarded report."""
    channel_sent_at: Instant | None = None
    """When the channel says the complaint was sent or created: an e-mail's ``Date:``, a WhatsApp
    or SMS provider's timestamp, a post's time, a LAPOR! report's creation time. The sender
    chooses it, so it is kept as claimed (even far off) and never starts or moves a clock."""

    @model_validator(mode="after")
    def _incident_not_after_receipt(self) -> ComplaintPayload:
        # One day of slack: the reporter's local date may be a day ahead of UTC (WIT is +9).
        if self.incident_date is not None and self.incident_date > (
            self.received_at.astimezone(UTC).date() + timedelta(days=1)
        ):
            raise ValueError(
                f"incident_date {self.incident_date} is after the complaint was received"
            )
        return self


class ComplaintSubmitted(Envelope):
    """Intake: a complaint arrived on a channel (topic ``complaints.intake``).

    ``case_id``: the tracking number the gateway derived with the deployment's secret
    (`with_tracking_number`); the core cannot recompute a keyed number, so it checks the form
    only. When omitted, the unkeyed `case_id_for` is used (trusted producers and old messages).
    """

    type: Literal["ComplaintSubmitted"] = "ComplaintSubmitted"
    payload: ComplaintPayload

    @model_validator(mode="after")
    def _case_id_is_a_tracking_number(self) -> ComplaintSubmitted:
        if self.case_id is not None and not TRACKING_NUMBER.fullmatch(self.case_id):
            raise ValueError("case_id must be a tracking number (ADU-XXXX-XXXX-XXXX, base32)")
        return self

    @property
    def derived_case_id(self) -> str:
        """The case id of this complaint (given or derived)."""
        return self.case_id or case_id_for(self.payload.channel, self.payload.channel_message_id)


TRACKING_NUMBER = re.compile(r"ADU-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}")
"""The form of a tracking number (= case id)."""


def case_id_for(channel: str, channel_message_id: str, secret: bytes | None = None) -> str:
    """The deterministic tracking number of a complaint, e.g. ``ADU-7K3F-6QX2-M4TA``.

    Derived from channel and channel message id, so a redelivered or re-sent intake message maps
    to the same case (60 bits, base32). With the deployment's ``secret`` it is an HMAC-SHA256:
    nobody without the secret can compute a reporter's number from guessable channel ids
    (LAPOR!'s sequential numbers, SMS gateway ids). Without one, a plain SHA-256 (numbers of
    cases opened before the secret existed, and of trusted producers that leave it out).
    """
    basis = f"{channel}\x1f{channel_message_id}".encode()
    if secret is None:
        digest = hashlib.sha256(basis).digest()
    else:
        digest = hmac.new(secret, basis, hashlib.sha256).digest()
    code = base64.b32encode(digest[:10]).decode()[:12]
    return f"ADU-{code[0:4]}-{code[4:8]}-{code[8:12]}"


def with_tracking_number(complaint: ComplaintSubmitted, secret: bytes) -> ComplaintSubmitted:
    """``complaint`` with its keyed tracking number as case id (and the intake ids that name
    it): deterministic, so a redelivered message still finds its case."""
    case_id = case_id_for(complaint.payload.channel, complaint.payload.channel_message_id, secret)
    intake_id = f"intake:{case_id}"
    return complaint.model_copy(
        update={"case_id": case_id, "event_id": intake_id, "correlation_id": intake_id}
    )


INTAKE_TYPES: dict[str, type[Envelope]] = {"ComplaintSubmitted": ComplaintSubmitted}
