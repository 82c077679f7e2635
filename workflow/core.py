"""decide / evolve: the pure, deterministic heart of the engine (docs/core-interface.md).

`Workflow` is the entry point; the work is done in rooms of their own: `workflow.deciding`
(per command), `workflow.opening` (intake), `workflow.sla_timer` (the timer's SLA decisions),
`workflow.guards`, `workflow.evolving` (per event), `workflow.responsibility` (who runs a
stage), `workflow.deployment` (the policy's memoised values) and `workflow.fastpaths` (the
constructors that touch pydantic internals).

``decide(case, message, now) -> events`` validates a message against the lifecycle table and the
guards and returns past-tense events; ``evolve(case, event) -> case`` applies one event and never
fails for an event ``decide`` produced. ``decide`` computes every time-dependent value (clocks,
deadlines, the next instants the timer must look at) with the policy's calendars and puts it
*into* the event (`workflow.values.Timers`), so ``evolve`` needs no calendar and replaying a
case's events rebuilds it exactly even after the holiday calendar changed.

Semantics (DOMAIN.md; gaps filled as documented here):

* Intake opens the case (``CaseOpened``, state received) with routing's suggestion, ranked
  alternatives for re-routing, and the verification clock started at ``received_at`` in the
  triage desk's calendar. A duplicate intake for an existing case yields ``[]``.
* ``CompleteMaterialVerification`` yields ``CaseVerified`` then ``CaseReferred`` (to the named
  agency, else routing's suggestion); the verification clock stops and the follow-up plan clock
  starts in the agency's calendar. ``RequestInformation`` pauses the stage clock and starts the
  30-calendar-day reporter clock; ``ProvideInformation`` resumes the stage clock with its spent
  time; the timer withdraws the case when the reporter stays silent.
* ``ReturnReferral`` re-refers to the next ranked candidate that has not returned the case, else
  the triage desk. ``PostFollowUpPlan`` (also from referred: it implies acceptance) stops the
  follow-up plan clock and starts the resolution clock (target by complaint class).
  ``ResolveComplaint`` pauses the stage clock, starts the reporter confirmation clock and fixes
  the reopen window; ``DisputeResolution`` within it resumes the paused clock (`reopen_clock`:
  not reset, no instant escalation); silence past the confirmation deadline closes the case.
* SLA: on ``TimerFired`` each newly reached warning threshold of the running stage clock yields
  ``SlaWarningRaised``; reaching 100% yields ``SlaBreached`` then ``CaseEscalated`` to the next
  level of the ladder of the agency running the stage (the triage desk's ladder for
  verification). Each level's deadline counts from the instant it was alerted; when it passes
  the next level is alerted; at the top an ``EscalationReminderIssued`` follows every reminder
  interval. Completing the stage (or pausing it for the reporter) stops the escalation timer; the
  level itself never goes down on one agency's ladder. A case passed to another agency starts at
  that agency's own level (0 if it was never late on it), the earlier level kept in the case's
  history (`workflow.escalation_state`). ``EscalateManually`` raises the level by one on the
  ladder of the agency running the current stage.
* Rejections: no case -> ``CommandRejected(unknown_case)`` (not folded into any case); a case
  that applied `workflow.case.APPLIED_CAP` commands -> ``command_limit`` (not folded); a role not
  allowed to send the command -> ``forbidden``; a trigger not in the table for the state ->
  ``not_allowed_in_state``; a guard failing -> ``guard_failed``. A rejection of a command for an
  existing case is an event of that case, so its message id counts as applied. A message applies
  at most once in a case's life (`workflow.case`: 8-byte keys, and the timer's mark).
* Event ids: uuid5 of (causing message id, index); ``causation_id`` = message id,
  ``correlation_id`` = the id of the case's first message; ``occurred_at`` = ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from states.lifecycle import Lifecycle, lifecycle
from workflow.calendar import WorkingCalendar
from workflow.case import Case
from workflow.commands import TimerFired, TimerPayload, timer_event_id
from workflow.deciding import Message, decide
from workflow.deployment import Deployment
from workflow.escalation import EscalationLadder
from workflow.events import Event
from workflow.evolving import evolve
from workflow.fastpaths import new_model
from workflow.guards import GUARD_FUNCTIONS
from workflow.policy import Policy

__all__ = ["Workflow"]

_MICROSECOND = timedelta(microseconds=1)


def _folded(case: Case | None, event: Event) -> bool:
    """False for the rejections that belong to no case: an unknown case, a full case."""
    if event.type != "CommandRejected":
        return True
    return case is not None and event.payload.reason_code != "command_limit"


class Workflow:
    """The workflow of one deployment: the policy, its calendars and the compiled lifecycle.

    Build once and share; every method is pure (the shell passes ``now``).
    ``reporter_key`` is the secret for reporter pseudonyms (HMAC-SHA256); without it the
    identity of anonymous and confidential reporters is omitted entirely.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        reporter_key: bytes | None = None,
        lifecycle_: Lifecycle | None = None,
    ) -> None:
        self.policy = policy
        self.lifecycle = lifecycle_ or lifecycle()
        self._deployment = Deployment(policy, self.lifecycle, reporter_key)
        needed = {g for t in self.lifecycle.table.values() for g in t.guards}
        missing = needed - set(GUARD_FUNCTIONS)
        if missing:
            raise ValueError(f"guards without an implementation: {sorted(missing)}")

    def decide(self, case: Case | None, message: Message, now: datetime) -> list[Event]:
        """The events ``message`` causes on ``case`` at ``now``; never raises for bad input."""
        return decide(self._deployment, case, message, now)

    def evolve(self, case: Case | None, event: Event) -> Case:
        """``case`` after ``event``. Raises ValueError for an event that cannot apply to None
        (only ``CaseOpened`` starts a case; an ``unknown_case`` rejection has no case)."""
        return evolve(case, event)

    def handle(
        self, case: Case | None, message: Message, now: datetime
    ) -> tuple[Case | None, list[Event]]:
        """decide, then fold the events with evolve (an unknown-case rejection folds nothing)."""
        events = decide(self._deployment, case, message, now)
        for event in events:
            if not _folded(case, event):
                continue
            case = evolve(case, event)
        return case, events

    def replay(self, events: Iterable[Event]) -> Case | None:
        """Rebuild a case from its events (``unknown_case`` rejections are skipped)."""
        case: Case | None = None
        for event in events:
            if not _folded(case, event):
                continue
            case = evolve(case, event)
        return case

    def timer_message(self, case: Case, now: datetime) -> TimerFired:
        """The system command for the SLA timer to look at ``case`` (due at ``case.wake_at``;
        just after ``case.timer_mark`` if the wake-up is older, so it is never taken for a
        timer that already acted)."""
        due_at = case.wake_at or now
        if case.timer_mark is not None and due_at <= case.timer_mark:
            due_at = case.timer_mark + _MICROSECOND
        return new_model(
            TimerFired,
            event_id=timer_event_id(case.case_id, due_at),
            schema_version=1,
            occurred_at=now,
            case_id=case.case_id,
            causation_id=None,
            correlation_id=case.correlation_id,
            payload=new_model(TimerPayload, due_at=due_at),
        )

    def calendar(self, agency: str | None) -> WorkingCalendar:
        """The calendar of an agency (None -> the default zone), cached."""
        return self._deployment.calendar(agency)

    def ladder(self, agency: str | None) -> EscalationLadder:
        """The escalation ladder of an agency (None -> the default ladder), cached."""
        return self._deployment.ladder(agency)
