"""The SLA timer's decisions: what a ``TimerFired`` causes on a case at ``now``.

In order: the reporter's deadline passing ends the case (in verification or on a resolution)
or, for the agency's question, resumes the agency's stage clock at that deadline; the reporter
is reminded once when their reminder instant passed (`workflow.waiting`); then each
newly reached warning threshold of the running stage clock raises a warning and reaching 100%
breaches it (and alerts the next escalation level, or reminds the top); then every passed
escalation deadline alerts the next level, or reminds the top level once and schedules the next
reminder after ``now``.
The ladder climbed is that of the agency running the late stage, from the level the case
reached on it (`workflow.escalation_state`); every escalation event names that agency.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workflow.calendar import WorkingCalendar
from workflow.case import Case
from workflow.commands import TimerFired
from workflow.deployment import Deployment
from workflow.escalation import EscalationLadder
from workflow.escalation_state import ladder_position
from workflow.events import (
    CaseEscalated,
    CaseEscalatedPayload,
    ClosedForReporterSilence,
    EscalationReminderIssued,
    EscalationReminderPayload,
    InformationRequestLapsed,
    ReporterReminderIssued,
    ReporterReminderPayload,
    SlaBreached,
    SlaBreachedPayload,
    SlaWarningPayload,
    SlaWarningRaised,
    TimerClosurePayload,
    WithdrawnForMissingInformation,
)
from workflow.fastpaths import new_event, new_model, replace_model
from workflow.sla import Stage, deadline, deadline_for, due_marks, mark, next_mark_at
from workflow.values import NO_TIMERS, Timers
from workflow.waiting import resumed_timers, waits_for_information

__all__ = ["automatic_escalation", "on_timer"]

_MAX_REMINDER_STEPS = 1000
"""Catch-up bound for reminders at the top level (a case asleep for years stays cheap)."""


class _Emitter:
    """Collects the events one timer message causes, numbering them (ids derive from it)."""

    def __init__(self, case: Case, message: TimerFired, now: datetime) -> None:
        self.case, self.message, self.now = case, message, now
        self.events: list[Any] = []
        self.agency = ""
        """The agency whose ladder this timer's escalations climb."""

    def __call__(self, cls: type[Any], payload: Any) -> None:
        case, index = self.case, len(self.events)
        event = new_event(
            cls, case.case_id, self.message, index, self.now, case.correlation_id, payload
        )
        self.events.append(event)


def on_timer(dep: Deployment, case: Case, m: TimerFired, now: datetime) -> list[Any]:
    """The events the SLA timer looking at ``case`` at ``now`` causes (maybe none)."""
    if case.is_final:
        return []
    emit = _Emitter(case, m, now)
    closure = _reporter_deadline_passed(dep, case, now)
    if closure is not None:
        emit(*closure)
        return emit.events
    lapsed = _agency_question_lapsed(dep, case, now)
    if lapsed is not None:
        # The stage clock runs again from the reporter's deadline: go on with that case.
        emit(InformationRequestLapsed, lapsed)
        case = replace_model(case, {"timers": lapsed.timers})
    reminder = _reporter_reminder(case, now)
    if reminder is not None:
        emit(ReporterReminderIssued, reminder)
        case = replace_model(case, {"timers": reminder.timers})
    clock = case.timers.clock
    agency, level = ladder_position(case, clock.stage if clock is not None else None)
    emit.agency = agency
    timers, level = _stage_clock_marks(dep, case, level, now, emit)
    _escalation_deadlines(dep, case, timers, level, now, emit)
    return emit.events


def automatic_escalation(
    level: int, stage: Stage | None, timers: Timers, agency: str
) -> CaseEscalatedPayload:
    """The payload of an escalation the timer makes on ``agency``'s ladder (no actor, no
    reason)."""
    return new_model(
        CaseEscalatedPayload,
        level=level,
        automatic=True,
        stage=stage,
        actor=None,
        reason=None,
        timers=timers,
        agency=agency,
    )


def _reporter_deadline_passed(
    dep: Deployment, case: Case, now: datetime
) -> tuple[type[Any], TimerClosurePayload] | None:
    """The closing event when the reporter's deadline passed and the state allows closing."""
    waiting, due_by = case.timers.reporter_clock, case.timers.reporter_due_at
    if waiting is None or due_by is None or now < due_by:
        return None
    trigger, cls = (
        ("information_timeout", WithdrawnForMissingInformation)
        if waiting.stage is Stage.REPORTER_INFORMATION
        else ("silence_timeout", ClosedForReporterSilence)
    )
    if (case.state, trigger) not in dep.table:
        return None
    return cls, new_model(TimerClosurePayload, deadline=due_by, timers=NO_TIMERS)


def _agency_question_lapsed(
    dep: Deployment, case: Case, now: datetime
) -> TimerClosurePayload | None:
    """When the agency's question to the reporter passed its deadline unanswered: the payload
    resuming the stage clock at that deadline."""
    due_by = case.timers.reporter_due_at
    if not waits_for_information(case) or due_by is None or now < due_by:
        return None
    if (case.state, "information_lapsed") not in dep.table:
        return None
    payload: TimerClosurePayload = new_model(
        TimerClosurePayload, deadline=due_by, timers=resumed_timers(dep, case, due_by)
    )
    return payload


def _reporter_reminder(case: Case, now: datetime) -> ReporterReminderPayload | None:
    """The one reminder before the reporter's deadline, once its instant passed."""
    timers = case.timers
    remind_at, waiting = timers.reporter_remind_at, timers.reporter_clock
    if remind_at is None or now < remind_at or waiting is None or timers.reporter_due_at is None:
        return None
    payload: ReporterReminderPayload = new_model(
        ReporterReminderPayload,
        stage=waiting.stage,
        deadline=timers.reporter_due_at,
        timers=replace_model(timers, {"reporter_remind_at": None}),
    )
    return payload


def _stage_clock_marks(
    dep: Deployment, case: Case, level: int, now: datetime, emit: _Emitter
) -> tuple[Timers, int]:
    """Warnings and the breach the running stage clock reached; the timers and level after
    (``level``: the one reached on the late agency's ladder)."""
    timers = case.timers
    clock = timers.clock
    if clock is None or timers.clock_next_at is None or now < timers.clock_next_at:
        return timers, level
    cal = dep.stage_calendar(case, clock.stage)
    for fraction in due_marks(clock, now, cal, dep.thresholds):
        breached_at = deadline(clock, cal) if fraction >= 1.0 else None
        clock = mark(clock, fraction)
        next_at = next_mark_at(clock, cal, dep.thresholds)
        timers = replace_model(timers, {"clock": clock, "clock_next_at": next_at})
        if breached_at is None:
            payload = new_model(
                SlaWarningPayload, stage=clock.stage, threshold=fraction, timers=timers
            )
            emit(SlaWarningRaised, payload)
            continue
        emit(
            SlaBreached,
            new_model(SlaBreachedPayload, stage=clock.stage, deadline=breached_at, timers=timers),
        )
        ladder = dep.stage_ladder(case, clock.stage)
        nxt = ladder.next_level(level)
        if nxt is None:
            # Already at the top: remind now and keep reminding.
            due = deadline_for(ladder.reminder_interval, breached_at, cal)
            timers = _remind(level, due, timers, emit)
        else:
            level = nxt
            timers = _alert_level(ladder, cal, level, clock.stage, breached_at, timers, emit)
    return timers, level


def _escalation_deadlines(
    dep: Deployment, case: Case, timers: Timers, level: int, now: datetime, emit: _Emitter
) -> None:
    """Each passed escalation deadline alerts the next level; at the top, one reminder."""
    stage = timers.clock.stage if timers.clock is not None else None
    ladder, cal = dep.stage_ladder(case, stage), dep.stage_calendar(case, stage)
    while timers.escalation_due_at is not None and now >= timers.escalation_due_at:
        due = timers.escalation_due_at
        nxt = ladder.next_level(level)
        if nxt is None:
            _remind_top_level(ladder, cal, level, due, timers, now, emit)
            return
        level = nxt
        timers = _alert_level(ladder, cal, level, stage, due, timers, emit)


def _alert_level(
    ladder: EscalationLadder,
    cal: WorkingCalendar,
    level: int,
    stage: Stage | None,
    since: datetime,
    timers: Timers,
    emit: _Emitter,
) -> Timers:
    """Escalate to ``level``, its deadline counted from ``since`` (the instant it is alerted)."""
    due = deadline_for(ladder.deadline_after(level), since, cal)
    timers = replace_model(timers, {"escalation_due_at": due})
    emit(CaseEscalated, automatic_escalation(level, stage, timers, emit.agency))
    return timers


def _remind_top_level(
    ladder: EscalationLadder,
    cal: WorkingCalendar,
    level: int,
    due: datetime,
    timers: Timers,
    now: datetime,
    emit: _Emitter,
) -> None:
    """One reminder for the top level; the next one is the first reminder instant after now."""
    following = deadline_for(ladder.reminder_interval, due, cal)
    steps = 0
    while following <= now and steps < _MAX_REMINDER_STEPS:
        following = deadline_for(ladder.reminder_interval, following, cal)
        steps += 1
    _remind(level, following, timers, emit)


def _remind(level: int, next_due: datetime, timers: Timers, emit: _Emitter) -> Timers:
    """Remind the top ``level`` now; the next reminder is due at ``next_due``."""
    timers = replace_model(timers, {"escalation_due_at": next_due})
    payload = new_model(EscalationReminderPayload, level=level, timers=timers, agency=emit.agency)
    emit(EscalationReminderIssued, payload)
    return timers
