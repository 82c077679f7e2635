"""What a public view may show of a case: one rule (STYLE.md 14) for the gateway's case lookup,
its Open311 single requests and its Open311 listing.

* confidential (``rahasia``, and every whistle-blowing report): status and dates only; nothing
  that tells the nature of the case (subject, category, agency, channel, text, location), and
  never in a listing;
* others before verification (received, verifying, awaiting information): subject, category
  and agency for the reporter's own lookup; no text, no location, not listed (not moderated);
* verified and later (referred, in progress, resolved, closed): also the text, redacted of
  personal data (`workflow.redaction.redact`), and the location; listed;
* rejected and withdrawn cases are never listed and show no text or location;
* the texts written for the reporter (the verifier's question, the follow-up plan, the
  resolution, the rejection reason; `reporter_facing`) are shown with the case's nature, redacted
  like its text; never a note, an actor or a detail written for officers.
"""

from __future__ import annotations

from dataclasses import dataclass

from states.lifecycle import CaseState
from workflow.case import Case
from workflow.enums import Confidentiality
from workflow.events import Event
from workflow.redaction import redact

__all__ = [
    "FULL_DISCLOSURE",
    "PUBLISHED_STATES",
    "REPORTER_FACING",
    "Disclosure",
    "public_disclosure",
    "public_text",
    "reporter_facing",
]

PUBLISHED_STATES = frozenset(
    {
        CaseState.VERIFIED,
        CaseState.REFERRED,
        CaseState.IN_PROGRESS,
        CaseState.RESOLVED,
        CaseState.CLOSED,
    }
)
"""States in which a verifier has looked at the complaint (moderated): its text may be shown."""


@dataclass(frozen=True)
class Disclosure:
    """Which parts of a case a view may show."""

    nature: bool
    """Subject, category (service), agency, channel and report type."""
    text: bool
    """The complaint text (redacted in public views)."""
    location: bool
    """Address and coordinates."""
    listed: bool
    """May appear in a public listing."""
    redacted: bool = True
    """Personal data is removed from subject and text."""


FULL_DISCLOSURE = Disclosure(nature=True, text=True, location=True, listed=True, redacted=False)
"""What an operator's role view starts from (its role rules apply on top)."""

_NOTHING = Disclosure(nature=False, text=False, location=False, listed=False)


def public_disclosure(case: Case) -> Disclosure:
    """What anyone without a token may see of ``case`` (the module docstring has the rules)."""
    if case.reporter.confidentiality is Confidentiality.CONFIDENTIAL:
        return _NOTHING
    moderated = case.state in PUBLISHED_STATES
    return Disclosure(nature=True, text=moderated, location=moderated, listed=moderated)


def public_text(case: Case, text: str, disclosure: Disclosure) -> str:
    """``text`` as ``disclosure`` lets it be shown (redacted, the public reporter's name too)."""
    if not disclosure.redacted:
        return text
    names = [case.reporter.name] if case.reporter.name else []
    return redact(text, names)


REPORTER_FACING: dict[str, tuple[str, ...]] = {
    "InformationRequested": ("question",),
    "FollowUpPlanPosted": ("plan",),
    "ComplaintResolved": ("resolution_text", "reopen_until"),
    "ComplaintRejected": ("reason",),
}
"""Per event type, the payload fields written for the reporter (everything else stays inside)."""

_FREE_TEXT = frozenset({"question", "plan", "resolution_text"})


def reporter_facing(case: Case, event: Event, disclosure: Disclosure) -> dict[str, str]:
    """The reporter-facing texts of ``event`` as ``disclosure`` lets them be shown."""
    fields = REPORTER_FACING.get(event.type)
    if not fields or not disclosure.nature:
        return {}
    shown: dict[str, str] = {}
    for name in fields:
        value = getattr(event.payload, name)
        if name in _FREE_TEXT:
            shown[name] = public_text(case, str(value), disclosure)
        elif hasattr(value, "isoformat"):
            shown[name] = value.isoformat()
        else:
            shown[name] = str(value)
    return shown
