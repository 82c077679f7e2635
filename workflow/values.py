"""The shared building blocks of every wire message: limits, field types, the frozen base
model, the envelope, actors, locations, attachments and the timers a case carries.

Every message has the envelope of docs/core-interface.md: ``event_id``, ``type``,
``schema_version`` (``Literal[1]``), ``occurred_at`` (ISO 8601 *with* an offset),
``case_id``, ``causation_id``, ``correlation_id`` and a typed ``payload``. Models are frozen and
reject unknown fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from workflow.enums import ActorRole
from workflow.sla import SlaClock

__all__ = [
    "EARLIEST_YEAR",
    "LATEST_YEAR",
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_NOTE_CHARS",
    "MAX_SUBJECT_CHARS",
    "MAX_TEXT_CHARS",
    "NO_TIMERS",
    "SCHEMA_VERSION",
    "Actor",
    "ActorPayload",
    "Attachment",
    "Code",
    "Envelope",
    "FrozenModel",
    "Identifier",
    "Instant",
    "Location",
    "LongText",
    "NoteText",
    "Timers",
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

Identifier = Annotated[str, Field(min_length=1, max_length=128)]
Code = Annotated[str, Field(min_length=1, max_length=64)]
NoteText = Annotated[str, Field(max_length=MAX_NOTE_CHARS)]
LongText = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]


class FrozenModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Actor(FrozenModel):
    """Who sends a command. ``agency`` is the agency an agency-side actor works for."""

    id: Identifier
    role: ActorRole
    agency: Code | None = None


class Location(FrozenModel):
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


class Attachment(FrozenModel):
    """A file kept elsewhere (object store); the message only references it."""

    uri: Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    size_bytes: Annotated[int, Field(ge=0, le=MAX_ATTACHMENT_BYTES)]
    content_type: Annotated[str, Field(max_length=127, pattern=r"^[\w.+-]+/[\w.+-]+(\s*;.*)?$")]
    name: Annotated[str | None, Field(max_length=255)] = None


class Timers(FrozenModel):
    """Every timer of a case after an event, computed by ``decide`` so ``evolve`` needs no
    calendar and a replay is exact.

    ``clock`` is the stage clock (verification, follow-up plan, resolution; may be paused);
    ``clock_next_at`` its next warning/breach instant; ``reporter_clock`` the clock waiting on the
    reporter (missing information, confirmation), ``reporter_due_at`` its deadline and
    ``reporter_remind_at`` when the reporter is reminded of it (None once reminded);
    ``escalation_due_at`` when the next escalation level (or reminder past the top) is due.
    """

    clock: SlaClock | None = None
    clock_next_at: AwareDatetime | None = None
    reporter_clock: SlaClock | None = None
    reporter_due_at: AwareDatetime | None = None
    escalation_due_at: AwareDatetime | None = None
    reporter_remind_at: AwareDatetime | None = None


NO_TIMERS = Timers()


# -- the envelope --------------------------------------------------------------------------------


class Envelope(FrozenModel):
    event_id: Identifier
    schema_version: Literal[1] = 1
    occurred_at: Instant
    case_id: Identifier | None = None
    causation_id: Identifier | None = None
    correlation_id: Identifier | None = None


class ActorPayload(FrozenModel):
    actor: Actor
