"""The deployment the decider works for: the policy, the compiled lifecycle and the values
derived from them (calendars, ladders, SLA targets, complaint classes), memoised.

Everything here is a pure function of the frozen policy; the policy builds some of these
values (targets, the reopen grace) anew on every call, so they are cached per deployment.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from states.lifecycle import Lifecycle
from workflow.calendar import WorkingCalendar
from workflow.case import Case
from workflow.escalation import EscalationLadder
from workflow.fastpaths import new_model
from workflow.policy import Policy
from workflow.responsibility import agency_calendar, responsible_agency
from workflow.sla import ComplaintClass, SlaClock, SlaTarget, Stage, next_mark_at, start_clock
from workflow.values import Timers

__all__ = ["Deployment"]


class Deployment:
    """The policy and lifecycle of one deployment with their derived values, cached."""

    def __init__(self, policy: Policy, lifecycle: Lifecycle, reporter_key: bytes | None) -> None:
        self.policy = policy
        self.table = lifecycle.table
        self.reporter_key = reporter_key
        """The secret for reporter pseudonyms (HMAC-SHA256); None omits hidden identities."""
        self.thresholds: tuple[float, ...] = tuple(policy.sla.warning_thresholds)
        self.router = policy.router()
        self.known = frozenset(a.code for a in policy.agencies)
        self.reopen_grace = policy.sla.reopen_grace
        self._calendars: dict[str | None, WorkingCalendar] = {}
        self._ladders: dict[str | None, EscalationLadder] = {}
        self._targets: dict[tuple[Stage, Any], SlaTarget] = {}
        self._classes: dict[tuple[Any, str | None, str | None], ComplaintClass] = {}

    def calendar(self, agency: str | None) -> WorkingCalendar:
        """The calendar of an agency (None or unknown -> the default zone), cached."""
        cal = self._calendars.get(agency)
        if cal is None:
            cal = self._calendars[agency] = agency_calendar(self.policy, agency)
        return cal

    def ladder(self, agency: str | None) -> EscalationLadder:
        """The escalation ladder of an agency (None or unknown -> the default ladder), cached."""
        ladder = self._ladders.get(agency)
        if ladder is None:
            ladder = self.policy.ladder_for(agency if agency in self.known else None)
            self._ladders[agency] = ladder
        return ladder

    def stage_calendar(self, case: Case, stage: Stage | None) -> WorkingCalendar:
        """The calendar ``stage`` of ``case`` counts in (see `workflow.responsibility`)."""
        return self.calendar(responsible_agency(case, stage))

    def stage_ladder(self, case: Case, stage: Stage | None) -> EscalationLadder:
        """The ladder ``stage`` of ``case`` escalates on (its responsible agency's)."""
        return self.ladder(responsible_agency(case, stage))

    def target(self, stage: Stage, complaint_class: Any = None) -> SlaTarget:
        """The policy's SLA target of ``stage`` (for a class, for the resolution), cached."""
        target = self._targets.get((stage, complaint_class))
        if target is None:
            target = self.policy.sla.target(stage, complaint_class)
            self._targets[stage, complaint_class] = target
        return target

    def complaint_class(
        self, requested: Any, category: str | None, priority: str | None = None
    ) -> ComplaintClass:
        """The class a verifier's request, the priority and the category give, cached."""
        key = (requested, category, priority)
        cls = self._classes.get(key)
        if cls is None:
            sla = self.policy.sla
            cls = self._classes[key] = sla.complaint_class(requested, category, priority)
        return cls

    def running(self, clock: SlaClock, cal: WorkingCalendar) -> Timers:
        """Timers with ``clock`` as the stage clock and nothing else pending."""
        return new_model(
            Timers,
            clock=clock,
            clock_next_at=next_mark_at(clock, cal, self.thresholds),
            reporter_clock=None,
            reporter_due_at=None,
            escalation_due_at=None,
        )

    def start(
        self, stage: Stage, agency: str | None, now: datetime, complaint_class: Any = None
    ) -> Timers:
        """Timers with a fresh ``stage`` clock started at ``now`` in ``agency``'s calendar."""
        cal = self.calendar(agency)
        return self.running(start_clock(stage, self.target(stage, complaint_class), now, cal), cal)
