"""Hypothesis properties of the working calendar and the SLA clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from workflow.calendar import OfficeHours, WorkingCalendar
from workflow.sla import (
    DayType,
    SlaClock,
    SlaTarget,
    Stage,
    due_marks,
    elapsed_seconds,
    mark,
    next_mark_at,
    pause_clock,
    resume_clock,
    start_clock,
)

ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
CALENDARS = {tz: WorkingCalendar(tz, OfficeHours()) for tz in ZONES}
THRESHOLDS = (0.5, 0.75)
US = timedelta(microseconds=1)

calendars = st.sampled_from(ZONES).map(CALENDARS.__getitem__)
instants = st.datetimes(
    min_value=datetime(2025, 12, 20),
    max_value=datetime(2027, 12, 20),
    timezones=st.sampled_from(ZONES).map(ZoneInfo),
)
targets = st.builds(
    SlaTarget, amount=st.integers(min_value=1, max_value=60), unit=st.sampled_from(DayType)
)
# gaps between successive instants: seconds to a few weeks, microsecond precision
gaps = st.integers(min_value=0, max_value=21 * 24 * 3600 * 1_000_000).map(
    lambda us: timedelta(microseconds=us)
)


def running_time_us(cal: WorkingCalendar, unit: DayType, start: datetime, end: datetime) -> int:
    if unit is DayType.WORKING:
        return cal.working_us(start, end)
    return max(0, (end - start) // US)


@settings(max_examples=200, deadline=None)
@given(cal=calendars, target=targets, start=instants, steps=st.lists(gaps, max_size=12))
def test_elapsed_never_decreases_and_never_counts_paused_time(
    cal: WorkingCalendar, target: SlaTarget, start: datetime, steps: list[timedelta]
) -> None:
    clock = start_clock(Stage.RESOLUTION, target, start, cal)
    now = start
    running_since: datetime | None = start
    expected_us = 0
    previous = 0.0
    for i, gap in enumerate(steps):
        # look at a few instants inside the gap, then toggle pause/resume at its end
        for part in (gap / 3, gap / 2, gap):
            t = now + part
            value = elapsed_seconds(clock, t, cal)
            assert value >= previous
            previous = value
        now += gap
        if running_since is not None:
            expected_us += running_time_us(cal, clock.unit, running_since, now)
        clock = pause_clock(clock, now, cal) if i % 2 == 0 else resume_clock(clock, now, cal)
        running_since = None if i % 2 == 0 else now
        assert elapsed_seconds(clock, now, cal) == previous
    end = now + timedelta(days=3)
    if running_since is not None:
        expected_us += running_time_us(cal, clock.unit, running_since, end)
    assert round(elapsed_seconds(clock, end, cal) * 1_000_000) == expected_us


@settings(max_examples=300, deadline=None)
@given(
    cal=calendars,
    start=instants,
    us=st.integers(min_value=0, max_value=60 * 9 * 3600 * 1_000_000),
)
def test_add_working_seconds_inverts_working_seconds(
    cal: WorkingCalendar, start: datetime, us: int
) -> None:
    seconds = us / 1_000_000
    end = cal.add_working_seconds(start, seconds)
    assert end >= start
    assert cal.working_us(start, end) == us
    # and it is the earliest such instant
    if us > 0:
        assert cal.working_us(start, end - US) == us - 1


@settings(max_examples=300, deadline=None)
@given(cal=calendars, start=instants, gap=gaps)
def test_working_seconds_then_add_gives_back_an_equivalent_end(
    cal: WorkingCalendar, start: datetime, gap: timedelta
) -> None:
    end = start + gap
    seconds = cal.working_seconds(start, end)
    back = cal.add_working_seconds(start, seconds)
    assert back <= end
    assert cal.working_seconds(start, back) == seconds
    # no office time lies between the earliest instant and the given end
    assert cal.working_seconds(back, end) == 0


@st.composite
def clocks(draw: st.DrawFn) -> tuple[WorkingCalendar, SlaClock]:
    cal = draw(calendars)
    start = draw(instants)
    clock = start_clock(Stage.VERIFICATION, draw(targets), start, cal)
    if draw(st.booleans()):  # some spent time from an earlier running period
        pause_at = start + draw(gaps)
        clock = resume_clock(pause_clock(clock, pause_at, cal), pause_at + draw(gaps), cal)
    for fraction in draw(st.lists(st.sampled_from((0.5, 0.75, 1.0)), max_size=3)):
        clock = mark(clock, fraction)
    return cal, clock


@settings(max_examples=300, deadline=None)
@given(drawn=clocks())
def test_due_marks_and_next_mark_at_agree(drawn: tuple[WorkingCalendar, SlaClock]) -> None:
    cal, clock = drawn
    at = next_mark_at(clock, cal, THRESHOLDS)
    pending = [f for f in THRESHOLDS if f not in clock.warned] + ([] if clock.breached else [1.0])
    if not pending:
        assert at is None
        return
    assert at is not None
    assert clock.running_since is not None
    due_now = due_marks(clock, at, cal, THRESHOLDS)
    assert due_now
    assert due_now[0] == pending[0]
    assume(at > clock.running_since)  # else it was already due when the clock resumed
    assert due_marks(clock, at - US, cal, THRESHOLDS) == []


@settings(max_examples=200, deadline=None)
@given(drawn=clocks(), later=gaps)
def test_marking_every_due_mark_moves_next_mark_forward(
    drawn: tuple[WorkingCalendar, SlaClock], later: timedelta
) -> None:
    cal, clock = drawn
    assert clock.running_since is not None
    now = clock.running_since + later
    for fraction in due_marks(clock, now, cal, THRESHOLDS):
        clock = mark(clock, fraction)
    assert due_marks(clock, now, cal, THRESHOLDS) == []
    following = next_mark_at(clock, cal, THRESHOLDS)
    assert following is None or following > now
