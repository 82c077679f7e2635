"""Who runs a stage of a case, and in whose calendar its clock counts.

The one rule (the core's clocks follow it, so every consumer showing a deadline must too):

* Verification, and the reporter's answer to a verifier's question (``reporter_information``),
  belong to the triage desk (`Case.triage_agency`): before referral no agency is involved.
* Every other stage (follow-up plan, resolution, the reporter's confirmation, escalation)
  belongs to the agency the case is referred to, falling back to the triage desk while none is
  (e.g. before referral, or when a returned referral came back to the desk).
* Without a stage (no clock runs) the case is owned the same way: its agency, else the desk.

A clock counts in the calendar of its owner's zone; an agency the policy does not know (a
case older than a policy change) counts in the policy's default zone.
"""

from __future__ import annotations

from typing import Protocol

from workflow.calendar import WorkingCalendar
from workflow.policy import Policy
from workflow.sla import Stage

__all__ = [
    "TRIAGE_STAGES",
    "HasAgencies",
    "agency_calendar",
    "responsible_agency",
    "stage_calendar",
]

TRIAGE_STAGES = frozenset({Stage.VERIFICATION, Stage.REPORTER_INFORMATION})
"""The stages the triage desk runs, whatever agency the case is referred to."""


class HasAgencies(Protocol):
    """Anything carrying a case's two agency fields (`Case`, a notifier's case summary...)."""

    @property
    def agency(self) -> str | None: ...

    @property
    def triage_agency(self) -> str: ...


def responsible_agency(case: HasAgencies, stage: Stage | None = None) -> str:
    """The agency code that runs ``stage`` of ``case`` (None: the case's current owner)."""
    if stage in TRIAGE_STAGES:
        return case.triage_agency
    return case.agency or case.triage_agency


def agency_calendar(policy: Policy, agency: str | None) -> WorkingCalendar:
    """The working calendar of ``agency``'s zone; the default zone for None or an unknown code."""
    known = agency is not None and any(a.code == agency for a in policy.agencies)
    return policy.calendar_for(agency if known else None)


def stage_calendar(policy: Policy, case: HasAgencies, stage: Stage | None) -> WorkingCalendar:
    """The calendar ``stage`` of ``case`` counts in (its responsible agency's)."""
    return agency_calendar(policy, responsible_agency(case, stage))
