"""Waiting on the reporter: the stage clock paused while the reporter's own clock runs.

A case waits on the reporter when its reporter clock runs: for an answer to a question
(``reporter_information``: in verification, or asked by the agency during follow-up or
resolution) or for the confirmation of a resolution. While it waits the stage clock is paused
(its spent time kept) and no escalation is pending; when the answer comes, or an agency's
question lapses at the reporter's deadline, the stage clock resumes in its owner's calendar, so
its deadline moves by exactly the working time the case waited.
"""

from __future__ import annotations

from datetime import datetime

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
    pause_clock,
    resume_clock,
    start_clock,
)
from workflow.values import NO_TIMERS, Timers

__all__ = ["resumed_timers", "wait_on_reporter", "waits_for_information"]


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
    )
    return timers


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
