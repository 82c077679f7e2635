"""Social media mentions (a generic shape any listener can post) and SP4N-LAPOR! forwards."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from consumers.adapters.base import ComplaintDraft, build_complaint, location_from
from consumers.adapters.fields import (
    AgencyCode,
    ComplaintText,
    EmailAddress,
    Latitude,
    Longitude,
    PhoneNumber,
    Timestamp,
)
from consumers.adapters.web import COORDINATES_TOGETHER, check_coordinates
from workflow.enums import Channel, Confidentiality, MaladministrationCategory, ReportType
from workflow.intake import ComplaintSubmitted


class SocialMention(BaseModel):
    """A public post that mentions the government's account (X, Instagram, Facebook, ...)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=COORDINATES_TOGETHER)

    platform: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")]
    post_id: Annotated[str, Field(min_length=1, max_length=80)]
    author_handle: Annotated[str, Field(min_length=1, max_length=100)]
    author_name: Annotated[str | None, Field(max_length=200)] = None
    text: ComplaintText
    url: Annotated[str | None, Field(max_length=128, pattern=r"^https?://")] = None
    posted_at: Timestamp
    latitude: Latitude | None = None
    longitude: Longitude | None = None

    @model_validator(mode="after")
    def _coordinates(self) -> SocialMention:
        check_coordinates(self.latitude, self.longitude)
        return self


def from_social(mention: SocialMention, now: datetime) -> ComplaintSubmitted:
    """A mention -> intake; message id ``<platform>:<post id>``, the post URL as reference.

    ``now`` (receipt) starts the clock; the post's time is kept as ``channel_sent_at``."""
    handle = (
        mention.author_handle
        if mention.author_handle.startswith("@")
        else ("@" + mention.author_handle)
    )
    name = f"{mention.author_name} ({handle})" if mention.author_name else handle
    draft = ComplaintDraft(
        channel=Channel.SOCIAL_MEDIA,
        channel_message_id=f"{mention.platform}:{mention.post_id}",
        received_at=now,
        channel_sent_at=mention.posted_at,
        text=mention.text,
        name=name[:200],
        location=location_from(None, mention.latitude, mention.longitude),
        external_reference=mention.url,
    )
    return build_complaint(draft)


class LaporReporter(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Annotated[str | None, Field(max_length=200)] = None
    phone: PhoneNumber | None = None
    email: EmailAddress | None = None
    anonymous: StrictBool = False
    """LAPOR! "anonim": the report is public, the identity hidden."""
    secret: StrictBool = False
    """LAPOR! "rahasia": neither report nor identity public."""


class LaporForward(BaseModel):
    """A report forwarded (disposisi) from SP4N-LAPOR! to this government."""

    model_config = ConfigDict(extra="ignore")

    tracking_id: Annotated[str, Field(pattern=r"^#?[0-9A-Za-z\-]{4,40}$")]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    content: ComplaintText
    created_at: Timestamp
    report_type: ReportType = ReportType.PENGADUAN
    category: MaladministrationCategory | None = None
    service: Annotated[str | None, Field(max_length=200)] = None
    agency_hint: AgencyCode | None = None
    location: Annotated[str | None, Field(max_length=500)] = None
    reporter: LaporReporter = LaporReporter()


def from_lapor(report: LaporForward, now: datetime) -> ComplaintSubmitted:
    """A LAPOR! forward -> intake; its tracking id is the message id and external reference.

    ``now`` (the forward's arrival here) starts the clock; the report's creation on LAPOR! is
    kept as ``channel_sent_at`` (the verifier's "older than two years" check reads it)."""
    tracking = report.tracking_id.lstrip("#")
    confidentiality = (
        Confidentiality.CONFIDENTIAL
        if report.reporter.secret
        else Confidentiality.ANONYMOUS
        if report.reporter.anonymous
        else Confidentiality.PUBLIC
    )
    draft = ComplaintDraft(
        channel=Channel.SP4N_LAPOR,
        channel_message_id=tracking,
        received_at=now,
        channel_sent_at=report.created_at,
        text=report.content,
        subject=report.title,
        name=report.reporter.name,
        phone=report.reporter.phone,
        email=report.reporter.email,
        confidentiality=confidentiality,
        report_type=report.report_type,
        category=report.category,
        service=report.service,
        agency_hint=report.agency_hint,
        location=location_from(report.location),
        external_reference=tracking,
    )
    return build_complaint(draft)
