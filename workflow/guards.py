"""The lifecycle's guards (named and described in `states.lifecycle`), implemented.

A guard sees the deployment, the case, the command and ``now``, and answers yes or no; a
failing guard rejects the command (``guard_failed``) naming the guard.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from workflow.case import Case
from workflow.deployment import Deployment
from workflow.enums import ActorRole
from workflow.escalation_state import ladder_position
from workflow.waiting import waits_for_information

__all__ = ["GUARD_FUNCTIONS", "Guard"]

Guard = Callable[[Deployment, Case, Any, datetime], bool]


def _has_agency(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    return case.agency is not None and case.agency in dep.known


def _known_agency(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    agency = getattr(m.payload, "agency", None)
    return agency is None or agency in dep.known


def _different_agency(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    return bool(m.payload.agency != case.agency)


def _responsible_agency(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    actor_agency = m.payload.actor.agency
    return actor_agency is None or actor_agency == case.agency


def _has_resolution_text(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    return bool(m.payload.resolution_text.strip())


def _plan_not_posted(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    return not case.plan_posted


def _within_reopen_window(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    return case.reopen_until is not None and now <= case.reopen_until


def _below_top_level(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    # The ladder of the agency running the current stage (the one a manual escalation climbs).
    stage = case.timers.clock.stage if case.timers.clock is not None else None
    _, level = ladder_position(case, stage)
    return level < dep.stage_ladder(case, stage).top


def _not_taken_over(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    return case.handler is None


def _taken_over(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    return case.handler is not None


def _verification_actor(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    return bool(m.payload.actor.role is not ActorRole.AGENCY)


def _agency_actor(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    return bool(m.payload.actor.role in (ActorRole.AGENCY, ActorRole.OFFICER))


def _waiting_on_reporter(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    return waits_for_information(case)


def _not_waiting_on_reporter(dep: Deployment, case: Case, m: Any, now: datetime) -> bool:
    return case.timers.reporter_clock is None


GUARD_FUNCTIONS: dict[str, Guard] = {
    "has_agency": _has_agency,
    "known_agency": _known_agency,
    "different_agency": _different_agency,
    "responsible_agency": _responsible_agency,
    "has_resolution_text": _has_resolution_text,
    "plan_not_posted": _plan_not_posted,
    "within_reopen_window": _within_reopen_window,
    "below_top_level": _below_top_level,
    "not_taken_over": _not_taken_over,
    "taken_over": _taken_over,
    "verification_actor": _verification_actor,
    "agency_actor": _agency_actor,
    "waiting_on_reporter": _waiting_on_reporter,
    "not_waiting_on_reporter": _not_waiting_on_reporter,
}
"""Each guard name of `states.lifecycle.GUARDS` with its implementation."""
