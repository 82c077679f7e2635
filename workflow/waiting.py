"""Waiting on the reporter: the stage clock paused while the reporter's own clock runs.

A case waits on the reporter when its reporter clock runs: for an answer to a question
(``reporter_information``: in verification, or asked by the agency during follow-up or
resolution) or for the confirmation of a resolution. While it waits the stage clock is paused
(its spent time kept) and no escalation is pending; when the answer comes, or an agency's
question lapses at the reporter's deadline, the stage clock resumes in its owner's calendar, so
its deadline moves by exactly the working time the case waited.

The reporter is reminded once before their deadline (``reporter_remind_at``, a fraction of their
time: `SlaPolicy.reporter_reminder_at`). The core emits the reminder through the SLA timer rather
than letting reporter messaging schedule it: the deadline is the core's (computed in the owner's
calendar), the timer path is already durable (the wake-up index) and idempotent by due time
(``timer_mark``), an answer or a closure cancels it in the same event that ends the wait, and
the reminder is on the audit trail; messaging only words it, once per (case, moment, channel).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflow.calendar import WorkingCalendar
from workflow.case import Case
from workflow.deployment import Deployment
from workflow.escalation_state import ladder_position
from workflow.fastpaths import new_model, replace_model
from workflow.sla import (
    SlaClock,
    SlaTarget,
    Stage,
    deadline,
    deadline_for,
    instant_at_fraction,
    pause_clock,
    resume_clock,
    start_clock,
)
from workflow.values import NO_TIMERS, Timers

__all__ = ["resumed_timers", "wait_on_reporter", "waits_for_information"]

_OFFICE_SEARCH_DAYS = 32
"""How far ahead to look for office hours (a long holiday stretch, e.g. around Lebaran)."""


def waits_for_information(case: Case) -> bool:
    """True while the case waits on the reporter's answer to a question."""
    waiting = case.timers.reporter_clock
    return waiting is not None and waiting.stage is Stage.REPORTER_INFORMATION


def wait_on_reporter(
    dep: Deployment, case: Case, stage: Stage, target: SlaTarget, agency: str, now: datetime
) -> Timers:
    """Timers while the case waits on the reporter: the stage clock paused (its time kept),
    the reporter's own clock running in ``agency``'s calendar, no escalation pending."""
    clock = case.timers.clock
    if clock is not None:
        clock = pause_clock(clock, now, dep.stage_calendar(case, clock.stage))
    cal = dep.calendar(agency)
    waiting = start_clock(stage, target, now, cal)
    timers: Timers = new_model(
        Timers,
        clock=clock,
        clock_next_at=None,
        reporter_clock=waiting,
        reporter_due_at=deadline(waiting, cal),
        escalation_due_at=None,
        reporter_remind_at=_reminder_instant(dep, waiting, cal),
    )
    return timers


def _reminder_instant(dep: Deployment, waiting: SlaClock, cal: WorkingCalendar) -> datetime | None:
    """When the reporter is reminded: the policy's fraction of their time, moved into office
    hours (a calendar-day clock would remind at night), unless that passes the deadline."""
    at = instant_at_fraction(waiting, dep.policy.sla.reporter_reminder_at, cal)
    due = deadline(waiting, cal)
    if at is None or due is None:
        return None
    day = cal.local_date(at)
    for offset in range(_OFFICE_SEARCH_DAYS):
        interval = cal.office_interval(day + timedelta(days=offset))
        if interval is not None and at < interval[1]:
            moved = max(at, interval[0])
            return moved if moved < due else at
    return at


def resumed_timers(dep: Deployment, case: Case, at: datetime) -> Timers:
    """The timers once the wait ends at ``at``: the paused stage clock running again from
    ``at`` (a breached, escalated case gets its level's deadline again from ``at``, no instant
    escalation); nothing when no stage clock was paused."""
    clock = case.timers.clock
    if clock is None:
        return NO_TIMERS
    cal = dep.stage_calendar(case, clock.stage)
    timers = dep.running(resume_clock(clock, at, cal), cal)
    due = _escalation_restart(dep, case, clock, at)
    if due is not None:
        timers = replace_model(timers, {"escalation_due_at": due})
    return timers


def _escalation_restart(
    dep: Deployment, case: Case, clock: SlaClock, at: datetime
) -> datetime | None:
    if not clock.breached:
        return None
    _, level = ladder_position(case, clock.stage)
    if level == 0:
        return None
    after = dep.stage_ladder(case, clock.stage).deadline_after(level)
    return deadline_for(after, at, dep.stage_calendar(case, clock.stage))
