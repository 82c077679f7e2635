"""The SLA clock: a pausable stopwatch against a budget, counted in office time or wall time.

A `SlaClock` is an immutable value stored inside the case and carried in events. Every
function here is pure: the instant ``now`` and the `WorkingCalendar` of the responsible agency
are passed in. A clock records:

* ``budget_seconds`` — the time from start to deadline, fixed when the clock starts (office
  seconds for `DayType.WORKING`, wall seconds for `DayType.CALENDAR`);
* ``spent_seconds`` — time consumed during earlier running periods;
* ``running_since`` — the start of the current running period, or None while paused;
* ``warned`` / ``breached`` — which marks were already raised, so each is raised once.

Elapsed time is ``spent + time(running_since, now)``; it never decreases as ``now`` grows and
never counts paused time (nor, for working-day clocks, time outside office hours). Comparisons
that decide whether a mark is due are done in whole microseconds so that `due_marks` and
`next_mark_at` agree exactly.

Reopening (DOMAIN.md: a reopened case resumes the resolution clock, it is not reset, and it
does not escalate instantly) is `reopen_clock`: it resumes the clock with its spent time and,
if less than a grace period would remain, extends the budget so that the breach falls no
earlier than the grace period after the reopening (default: close of the next working day),
with the warnings counted again over that grace (``warn_from_seconds``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from workflow.calendar import WorkingCalendar, to_us

__all__ = [
    "ComplaintClass",
    "DayType",
    "SlaClock",
    "SlaTarget",
    "Stage",
    "deadline",
    "deadline_for",
    "due_marks",
    "elapsed_fraction",
    "elapsed_seconds",
    "instant_at_fraction",
    "lateness_seconds",
    "mark",
    "next_mark_at",
    "pause_clock",
    "remaining_seconds",
    "reopen_clock",
    "resume_clock",
    "start_clock",
]

_US_PER_S = 1_000_000
_set = object.__setattr__


class DayType(StrEnum):
    """How a target is counted: office time on working days, or plain calendar days."""

    WORKING = "working"
    CALENDAR = "calendar"


class ComplaintClass(StrEnum):
    """Complaint classes with their own resolution targets (local service standards)."""

    LIGHT = "light"
    NORMATIVE = "normative"
    NO_OVERSIGHT = "no_oversight"
    EXAMINATION = "examination"


class Stage(StrEnum):
    """The stages a case's SLA clock can measure."""

    VERIFICATION = "verification"
    """Receipt -> verified and referred to the agency."""
    FOLLOW_UP_PLAN = "follow_up_plan"
    """Referral -> the agency posts its follow-up plan."""
    RESOLUTION = "resolution"
    """Follow-up -> resolved."""
    REPORTER_INFORMATION = "reporter_information"
    """The reporter completes missing information, else the case is closed as withdrawn."""
    REPORTER_CONFIRMATION = "reporter_confirmation"
    """Resolved -> closed when the reporter stays silent."""
    ESCALATION = "escalation"
    """The deadline of the current escalation level."""


class SlaTarget(BaseModel):
    """A deadline length: ``amount`` working or calendar days."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: int = Field(gt=0)
    unit: DayType = DayType.WORKING

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value} day{'s' if self.amount != 1 else ''}"


class SlaClock(BaseModel):
    """A pausable SLA stopwatch; immutable, JSON round-trips exactly."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: Stage
    unit: DayType
    started_at: AwareDatetime
    budget_seconds: float = Field(gt=0)
    """Office seconds (WORKING) or wall seconds (CALENDAR) from start to deadline."""
    spent_seconds: float = Field(default=0.0, ge=0)
    """Time consumed while running, before ``running_since``."""
    running_since: AwareDatetime | None
    """Start of the current running period; None while paused."""
    warned: tuple[float, ...] = ()
    """Warning fractions already raised, ascending."""
    breached: bool = False
    warn_from_seconds: float = Field(default=0.0, ge=0)
    """Where the warning fractions count from: 0 = the start; a late reopened case counts them
    over the time it was given after the reopening (see `reopen_clock`)."""

    @property
    def paused(self) -> bool:
        """True while the clock is not running."""
        return self.running_since is None


# -- helpers -----------------------------------------------------------------------------------

_CLOCK_FIELDS = set(SlaClock.model_fields)  # shared; model_copy copies it before updating


def _new_clock(values: dict[str, object]) -> SlaClock:
    """A clock from values these functions computed (already valid: no validation pass, which
    costs microseconds per clock on the hot path). ``values`` holds every field."""
    clock = SlaClock.__new__(SlaClock)
    _set(clock, "__dict__", values)
    _set(clock, "__pydantic_fields_set__", _CLOCK_FIELDS)
    _set(clock, "__pydantic_extra__", None)
    _set(clock, "__pydantic_private__", None)
    return clock


def _copy(clock: SlaClock, **updates: object) -> SlaClock:
    """``clock.model_copy(update=updates)`` without pydantic's copy machinery."""
    values = clock.__dict__.copy()
    values.update(updates)
    return _new_clock(values)


def _measure_us(unit: DayType, start: datetime, end: datetime, cal: WorkingCalendar) -> int:
    if unit is DayType.WORKING:
        return cal.working_us(start, end)
    return max(0, to_us(end) - to_us(start))


def _advance(unit: DayType, start: datetime, us: int, cal: WorkingCalendar) -> datetime:
    if unit is DayType.WORKING:
        return cal.add_working_us(start, us)
    return start.astimezone(cal.tz) + timedelta(microseconds=max(us, 0))


def _budget_us(clock: SlaClock) -> int:
    return round(clock.budget_seconds * _US_PER_S)


def _spent_us(clock: SlaClock) -> int:
    return round(clock.spent_seconds * _US_PER_S)


def _threshold_us(clock: SlaClock, fraction: float) -> int:
    budget = _budget_us(clock)
    if fraction >= 1.0:
        return budget
    base = round(clock.warn_from_seconds * _US_PER_S)
    return base + math.ceil(fraction * (budget - base))


def _elapsed_us(clock: SlaClock, now: datetime, cal: WorkingCalendar) -> int:
    spent = _spent_us(clock)
    if clock.running_since is None:
        return spent
    return spent + _measure_us(clock.unit, clock.running_since, now, cal)


_WARNINGS: dict[tuple[float, ...], tuple[float, ...]] = {}


def _warnings(thresholds: Sequence[float]) -> tuple[float, ...]:
    """The distinct warning fractions in (0, 1), ascending (memoised per thresholds tuple)."""
    key = thresholds if isinstance(thresholds, tuple) else tuple(thresholds)
    found = _WARNINGS.get(key)
    if found is None:
        found = _WARNINGS[key] = tuple(sorted({f for f in key if 0 < f < 1}))
    return found


def _pending(clock: SlaClock, thresholds: Sequence[float]) -> list[float]:
    warned = clock.warned
    marks = [f for f in _warnings(thresholds) if f not in warned]
    if not clock.breached:
        marks.append(1.0)
    return marks


# -- the API -----------------------------------------------------------------------------------


def deadline_for(target: SlaTarget, now: datetime, cal: WorkingCalendar) -> datetime:
    """The deadline of ``target`` counted from ``now``.

    WORKING: the close of the office day of the ``amount``-th working day after the local date
    of ``now`` (the day of receipt is not counted). CALENDAR: the end of the local day (next
    midnight in the calendar's zone) ``amount`` days after the local date of ``now``;
    weekends and holidays count.
    """
    if target.unit is DayType.WORKING:
        return cal.close_of_nth_working_day(now, target.amount)
    last_day = cal.local_date(now) + timedelta(days=target.amount + 1)
    return datetime(last_day.year, last_day.month, last_day.day, tzinfo=cal.tz)


def start_clock(stage: Stage, target: SlaTarget, now: datetime, cal: WorkingCalendar) -> SlaClock:
    """Start a running clock for ``stage`` at ``now``.

    The budget is the time from ``now`` to `deadline_for` (target, now): for WORKING targets,
    ``working_seconds(now, close_of_nth_working_day(now, amount))``; for CALENDAR targets the
    wall time to the end of the local day ``amount`` days later.
    """
    end = deadline_for(target, now, cal)
    budget = _measure_us(target.unit, now, end, cal)
    if budget <= 0:  # cannot happen (a deadline is a later closing time); validate to be sure
        return SlaClock(
            stage=stage,
            unit=target.unit,
            started_at=now,
            budget_seconds=budget / _US_PER_S,
            running_since=now,
        )
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"naive datetime {now.isoformat()} has no UTC offset")
    return _new_clock(
        {
            "stage": stage,
            "unit": target.unit,
            "started_at": now,
            "budget_seconds": budget / _US_PER_S,
            "spent_seconds": 0.0,
            "running_since": now,
            "warned": (),
            "breached": False,
            "warn_from_seconds": 0.0,
        }
    )


def pause_clock(clock: SlaClock, now: datetime, cal: WorkingCalendar) -> SlaClock:
    """Stop counting at ``now``, folding the running period into ``spent_seconds``.

    Pausing a paused clock returns it unchanged.
    """
    if clock.running_since is None:
        return clock
    spent = _elapsed_us(clock, now, cal)
    return _copy(clock, spent_seconds=spent / _US_PER_S, running_since=None)


def resume_clock(clock: SlaClock, now: datetime, cal: WorkingCalendar) -> SlaClock:
    """Start counting again at ``now``; the time already spent is kept, never reset.

    Resuming a running clock returns it unchanged.
    """
    if clock.running_since is not None:
        return clock
    return _copy(clock, running_since=now)


def reopen_clock(
    clock: SlaClock,
    now: datetime,
    cal: WorkingCalendar,
    grace: SlaTarget,
    thresholds: Sequence[float] = (),
) -> SlaClock:
    """Resume ``clock`` for a reopened case without an instant escalation.

    The spent time is kept. If the time remaining would be less than ``grace`` (measured as
    `deadline_for` (grace, now), e.g. 1 working day = the close of the next working day), the
    budget is extended so that the breach falls exactly at that grace deadline; the breach flag
    is then cleared (a new breach can follow after the grace), and the warnings start over at
    the same thresholds of the time given after the reopening (``warn_from_seconds``): a late
    case is warned at half and three quarters of its grace before it moves up a level, and
    nothing fires at once. Otherwise the clock is simply resumed. (``thresholds`` is kept for
    callers; the warnings come from the policy's thresholds wherever the clock is read.)
    """
    resumed = resume_clock(clock, now, cal)
    grace_us = _measure_us(resumed.unit, now, deadline_for(grace, now, cal), cal)
    elapsed = _elapsed_us(resumed, now, cal)
    if not resumed.breached and _budget_us(resumed) - elapsed >= grace_us:
        return resumed
    return _copy(
        resumed,
        budget_seconds=(elapsed + grace_us) / _US_PER_S,
        breached=False,
        warned=(),
        warn_from_seconds=elapsed / _US_PER_S,
    )


def elapsed_seconds(clock: SlaClock, now: datetime, cal: WorkingCalendar) -> float:
    """Time counted by the clock up to ``now``.

    Excludes paused time and, for WORKING clocks, time outside office hours; never decreases
    as ``now`` increases.
    """
    return _elapsed_us(clock, now, cal) / _US_PER_S


def elapsed_fraction(clock: SlaClock, now: datetime, cal: WorkingCalendar) -> float:
    """Elapsed time as a fraction of the budget (1.0 = deadline reached; may exceed 1)."""
    return _elapsed_us(clock, now, cal) / _budget_us(clock)


def remaining_seconds(clock: SlaClock, now: datetime, cal: WorkingCalendar) -> float:
    """Budget left at ``now`` in the clock's unit; negative when late."""
    return (_budget_us(clock) - _elapsed_us(clock, now, cal)) / _US_PER_S


def lateness_seconds(clock: SlaClock, now: datetime, cal: WorkingCalendar) -> float:
    """How late the clock is at ``now``, in the clock's unit (0 if not late)."""
    return max(0.0, -remaining_seconds(clock, now, cal))


def instant_at_fraction(clock: SlaClock, fraction: float, cal: WorkingCalendar) -> datetime | None:
    """The instant at which elapsed/budget reaches ``fraction``; None while paused.

    If the fraction was already reached before the current running period began, the result
    is ``running_since``. For WORKING clocks the instant always lies within office hours (a
    deadline is a closing time).
    """
    if clock.running_since is None:
        return None
    left = _threshold_us(clock, fraction) - _spent_us(clock)
    if left <= 0:
        return clock.running_since.astimezone(cal.tz)
    return _advance(clock.unit, clock.running_since, left, cal)


def deadline(clock: SlaClock, cal: WorkingCalendar) -> datetime | None:
    """When the budget runs out if the clock keeps running; None while paused."""
    return instant_at_fraction(clock, 1.0, cal)


def due_marks(
    clock: SlaClock, now: datetime, cal: WorkingCalendar, thresholds: Sequence[float]
) -> list[float]:
    """Warning thresholds (and 1.0 for the breach) reached by ``now`` and not yet recorded.

    Thresholds outside (0, 1) are ignored (1.0 is the breach, always considered). Ascending.
    """
    elapsed = _elapsed_us(clock, now, cal)
    return [f for f in _pending(clock, thresholds) if elapsed >= _threshold_us(clock, f)]


def next_mark_at(
    clock: SlaClock, cal: WorkingCalendar, thresholds: Sequence[float]
) -> datetime | None:
    """The earliest instant at which the next unrecorded warning or the breach becomes due.

    None while paused or when every mark has been recorded. At the returned instant
    `due_marks` includes that mark; just before it, it does not (unless it was already due
    when the current running period began, in which case ``running_since`` is returned).
    """
    if clock.running_since is None:
        return None
    pending = _pending(clock, thresholds)
    if not pending:
        return None
    return instant_at_fraction(clock, pending[0], cal)


def mark(clock: SlaClock, fraction: float) -> SlaClock:
    """Record a raised warning (``fraction`` < 1) or the breach (``fraction`` >= 1)."""
    if fraction >= 1.0:
        return clock if clock.breached else _copy(clock, breached=True)
    if fraction in clock.warned:
        return clock
    return _copy(clock, warned=tuple(sorted((*clock.warned, fraction))))
