"""Whose ladder a case climbs, and how far it climbed each one.

Escalation belongs to the agency that is late (DOMAIN.md, escalation ladder): a breach climbs
the ladder of the agency running the late stage (`workflow.responsibility.responsible_agency`),
and a manual escalation climbs the ladder of the agency running the current stage (the case's
owner when no clock runs). A case keeps one current pair (``escalation_agency``,
``escalation_level``) and, in ``escalation_history``, the highest level it reached on each
agency it left. So:

* an agency that was never late on the case starts at its own level 1 (its Kepala OPD), however
  high another agency's ladder went;
* an agency that gets the case back climbs on from the level it reached before (its head has
  already been alerted about this case; alerting that level again would be a duplicate);
* the current pair is handed over when the case passes to another agency (referral,
  reassignment), so the snapshot's ``escalation_level`` is always the current owner's.

A snapshot older than these fields (``escalation_agency`` None) counts its level as its current
owner's: nothing already alerted is alerted again.
"""

from __future__ import annotations

from typing import Any

from workflow.case import Case
from workflow.escalation import LevelReached
from workflow.responsibility import responsible_agency
from workflow.sla import Stage

__all__ = [
    "escalated",
    "escalation_agency",
    "handed_over",
    "ladder_position",
    "level_reached",
]


def escalation_agency(case: Case) -> str:
    """The agency whose ladder ``case.escalation_level`` counts on."""
    return case.escalation_agency or responsible_agency(case)


def level_reached(case: Case, agency: str) -> int:
    """The highest level ``case`` reached on ``agency``'s ladder (0: never escalated there)."""
    if agency == escalation_agency(case):
        return case.escalation_level
    return next((r.level for r in case.escalation_history if r.agency == agency), 0)


def ladder_position(case: Case, stage: Stage | None) -> tuple[str, int]:
    """The agency whose ladder a lateness in ``stage`` climbs, and the level it is at."""
    agency = responsible_agency(case, stage)
    return agency, level_reached(case, agency)


def escalated(case: Case, agency: str | None, level: int) -> dict[str, Any]:
    """The escalation fields after ``case`` reached ``level`` on ``agency``'s ladder (None:
    an event older than the field, which climbed the current ladder)."""
    agency = agency or escalation_agency(case)
    updates = _switched_to(case, agency)
    updates["escalation_level"] = max(updates["escalation_level"], level)
    return updates


def handed_over(case: Case, agency: str) -> dict[str, Any]:
    """The escalation fields after ``case`` passed to ``agency`` (its own level, 0 if none)."""
    return _switched_to(case, agency)


def _switched_to(case: Case, agency: str) -> dict[str, Any]:
    current = escalation_agency(case)
    if agency == current:
        return {"escalation_agency": agency, "escalation_level": case.escalation_level}
    history = [r for r in case.escalation_history if r.agency not in (agency, current)]
    if case.escalation_level > 0:
        history.append(LevelReached(agency=current, level=case.escalation_level))
    return {
        "escalation_agency": agency,
        "escalation_level": level_reached(case, agency),
        "escalation_history": tuple(history),
    }
