"""The intake message: a complaint as a channel adapter reports it, and its tracking number."""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated, Literal

from pydantic import Field, model_validator

from workflow.enums import Channel, MaladministrationCategory, ReportType
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
    "ComplaintPayload",
    "ComplaintSubmitted",
    "case_id_for",
]


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
    location: Location | None = None
    attachments: Annotated[tuple[Attachment, ...], Field(max_length=MAX_ATTACHMENTS)] = ()
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] = "id"
    external_reference: Annotated[str | None, Field(max_length=128)] = None
    """E.g. the SP4N-LAPOR! tracking id of a forwarded report."""
    channel_sent_at: Instant | None = None
    """When the channel says the complaint was sent or created: an e-mail's ``Date:``, a WhatsApp
    or SMS provider's timestamp, a post's time, a LAPOR! report's creation time. The sender
    chooses it, so it is kept as claimed (even far off) and never starts or moves a clock."""


class ComplaintSubmitted(Envelope):
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


INTAKE_TYPES: dict[str, type[Envelope]] = {"ComplaintSubmitted": ComplaintSubmitted}
