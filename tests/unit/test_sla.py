"""SLA clock: a table of hand-checked deadlines across 2026 and 2027, pause/resume, marks.

Holidays relied on (holidays package, ID, public + government = cuti bersama):
2026: 1 Jan; 16 Jan; 16-17 Feb (Imlek + cuti); 18 Mar cuti Nyepi, 19 Mar Nyepi, 20 Mar cuti
Idul Fitri, 21-22 Mar Idul Fitri (weekend), 23-24 Mar cuti Idul Fitri; 14 May Kenaikan, 15 May
cuti; 27 May Idul Adha, 28 May cuti; 1 Jun; 17 Aug; 24 Dec cuti Natal, 25 Dec Natal.
2027: 1 Jan; 5 Jan Isra Mikraj; 8 Mar Nyepi; 9 Mar cuti, 10-11 Mar Idul Fitri, 12 and 15 Mar
cuti; 24 Dec cuti Natal, 25 Dec Natal (Saturday).
Office hours: Mon-Thu 08:00-16:00, Fri 08:00-16:30 local time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from workflow.calendar import OfficeHours, WorkingCalendar
from workflow.policy import Agency, Policy
from workflow.sla import (
    DayType,
    SlaClock,
    SlaTarget,
    Stage,
    deadline,
    deadline_for,
    due_marks,
    elapsed_fraction,
    elapsed_seconds,
    instant_at_fraction,
    lateness_seconds,
    mark,
    next_mark_at,
    pause_clock,
    remaining_seconds,
    reopen_clock,
    resume_clock,
    start_clock,
)

WIT = ZoneInfo("Asia/Jayapura")
WIB = ZoneInfo("Asia/Jakarta")
H = 3600.0
THRESHOLDS = (0.5, 0.75)


def wd(n: int) -> SlaTarget:
    return SlaTarget(amount=n, unit=DayType.WORKING)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar("Asia/Jayapura", OfficeHours())


# received (WIT), working days, expected deadline (WIT), expected budget in office hours
DEADLINES = [
    pytest.param(
        datetime(2026, 3, 19, 10),
        3,
        datetime(2026, 3, 27, 16, 30),
        24.5,
        id="lebaran-2026-received-on-nyepi",
    ),
    pytest.param(
        datetime(2026, 3, 17, 9),
        3,
        datetime(2026, 3, 27, 16, 30),
        31.5,
        id="lebaran-2026-joint-leave-18-24-march",
    ),
    pytest.param(
        datetime(2026, 3, 13, 14),
        5,
        datetime(2026, 3, 27, 16, 30),
        2.5 + 16 + 24.5,
        id="lebaran-2026-follow-up-plan-5wd",
    ),
    pytest.param(
        datetime(2026, 12, 23, 15),
        3,
        datetime(2026, 12, 30, 16),
        1 + 24,
        id="christmas-2026-24-25-december",
    ),
    pytest.param(
        datetime(2026, 12, 30, 10),
        3,
        datetime(2027, 1, 6, 16),
        6 + 8 + 8 + 8,
        id="new-year-2027-and-isra-mikraj",
    ),
    pytest.param(
        datetime(2026, 8, 14, 11),
        2,
        datetime(2026, 8, 19, 16),
        5.5 + 16,
        id="weekend-plus-independence-day",
    ),
    pytest.param(
        datetime(2026, 2, 9, 18, 30),
        3,
        datetime(2026, 2, 12, 16),
        24,
        id="received-after-office-close",
    ),
    pytest.param(
        datetime(2026, 2, 13, 16, 20),
        3,
        datetime(2026, 2, 20, 16, 30),
        1 / 6 + 24.5,
        id="friday-afternoon-before-imlek",
    ),
    pytest.param(
        datetime(2027, 3, 5, 10),
        5,
        datetime(2027, 3, 22, 16),
        6.5 + 8 * 4 + 8.5,
        id="lebaran-2027-nyepi-and-joint-leave",
    ),
    pytest.param(
        datetime(2027, 12, 23, 9),
        3,
        datetime(2027, 12, 29, 16),
        7 + 24,
        id="christmas-2027-friday-joint-leave",
    ),
    pytest.param(
        datetime(2026, 5, 13, 12),
        10,
        datetime(2026, 6, 3, 16),
        4 + 8 * 4 + 8.5 + 8 * 2 + 8.5 + 16,
        id="reporter-confirmation-10wd-across-ascension-eid-al-adha-pancasila",
    ),
]


@pytest.mark.parametrize(("received", "days", "expected", "budget_hours"), DEADLINES)
def test_deadline_table(
    cal: WorkingCalendar,
    received: datetime,
    days: int,
    expected: datetime,
    budget_hours: float,
) -> None:
    now = received.replace(tzinfo=WIT)
    clock = start_clock(Stage.VERIFICATION, wd(days), now, cal)
    assert deadline(clock, cal) == expected.replace(tzinfo=WIT)
    assert deadline_for(wd(days), now, cal) == expected.replace(tzinfo=WIT)
    assert clock.budget_seconds == pytest.approx(budget_hours * H, abs=1e-6)
    assert remaining_seconds(clock, now, cal) == pytest.approx(budget_hours * H, abs=1e-6)
    assert elapsed_fraction(clock, expected.replace(tzinfo=WIT), cal) == 1.0


def test_wit_agency_against_wib_agency_same_instant() -> None:
    policy = Policy(
        agencies=(
            Agency(code="SETDA-TRIASE", name="Triase", tz="Asia/Jayapura"),
            Agency(code="DINKES", name="Dinas Kesehatan", tz="Asia/Jayapura"),
            Agency(code="BPJS-KES", name="BPJS Kesehatan Kantor Pusat", tz="Asia/Jakarta"),
        ),
        triage_agency="SETDA-TRIASE",
    )
    wit, wib = policy.calendar_for("DINKES"), policy.calendar_for("BPJS-KES")
    assert policy.calendar_for(None) is wit
    # Wed 4 Mar 2026 00:30 WIT is still Tue 3 Mar 22:30 WIB: different days of receipt.
    now = datetime(2026, 3, 4, 0, 30, tzinfo=WIT)
    c_wit = start_clock(Stage.VERIFICATION, wd(3), now, wit)
    c_wib = start_clock(Stage.VERIFICATION, wd(3), now, wib)
    assert deadline(c_wit, wit) == datetime(2026, 3, 9, 16, tzinfo=WIT)
    assert deadline(c_wib, wib) == datetime(2026, 3, 6, 16, 30, tzinfo=WIB)
    # Thu 12 Feb 2026 15:30 WIT = 13:30 WIB: same local day, different remaining office time.
    now = datetime(2026, 2, 12, 15, 30, tzinfo=WIT)
    c_wit = start_clock(Stage.VERIFICATION, wd(3), now, wit)
    c_wib = start_clock(Stage.VERIFICATION, wd(3), now, wib)
    assert deadline(c_wit, wit) == datetime(2026, 2, 19, 16, tzinfo=WIT)
    assert deadline(c_wib, wib) == datetime(2026, 2, 19, 16, tzinfo=WIB)
    assert remaining_seconds(c_wit, now, wit) == 0.5 * H + 8.5 * H + 16 * H
    assert remaining_seconds(c_wib, now, wib) == 2.5 * H + 8.5 * H + 16 * H


def test_elapsed_fraction_and_remaining_across_lebaran(cal: WorkingCalendar) -> None:
    start = datetime(2026, 3, 17, 9, tzinfo=WIT)
    clock = start_clock(Stage.VERIFICATION, wd(3), start, cal)
    assert clock.budget_seconds == 31.5 * H
    during_leave = datetime(2026, 3, 24, 12, tzinfo=WIT)
    assert elapsed_seconds(clock, during_leave, cal) == 7 * H
    assert elapsed_fraction(clock, during_leave, cal) == pytest.approx(7 / 31.5)
    assert remaining_seconds(clock, during_leave, cal) == 24.5 * H
    assert instant_at_fraction(clock, 0.5, cal) == datetime(2026, 3, 26, 8, 45, tzinfo=WIT)
    assert instant_at_fraction(clock, 0.75, cal) == datetime(2026, 3, 27, 8, 37, 30, tzinfo=WIT)
    late = datetime(2026, 3, 30, 9, tzinfo=WIT)  # Monday after the deadline
    assert remaining_seconds(clock, late, cal) == -1 * H
    assert lateness_seconds(clock, late, cal) == 1 * H
    assert lateness_seconds(clock, during_leave, cal) == 0.0


def test_pause_resume_keeps_spent_time(cal: WorkingCalendar) -> None:
    start = datetime(2026, 2, 9, 9, tzinfo=WIT)
    clock = start_clock(Stage.VERIFICATION, wd(3), start, cal)
    assert clock.budget_seconds == 31 * H
    paused = pause_clock(clock, datetime(2026, 2, 10, 10, tzinfo=WIT), cal)
    assert paused.spent_seconds == 9 * H
    assert paused.running_since is None
    assert deadline(paused, cal) is None
    assert next_mark_at(paused, cal, THRESHOLDS) is None
    # paused time is not counted
    assert elapsed_seconds(paused, datetime(2026, 2, 11, 13, tzinfo=WIT), cal) == 9 * H
    assert pause_clock(paused, datetime(2026, 2, 11, 13, tzinfo=WIT), cal) == paused
    resumed = resume_clock(paused, datetime(2026, 2, 11, 14, tzinfo=WIT), cal)
    assert resumed.spent_seconds == 9 * H
    assert resume_clock(resumed, datetime(2026, 2, 11, 15, tzinfo=WIT), cal) == resumed
    assert elapsed_seconds(resumed, datetime(2026, 2, 11, 15, tzinfo=WIT), cal) == 10 * H
    # 22 h left from Wed 14:00: Wed 2 h, Thu 8 h, Fri 8.5 h, Mon-Tue Imlek off, Wed 3.5 h
    assert deadline(resumed, cal) == datetime(2026, 2, 18, 11, 30, tzinfo=WIT)


def test_calendar_day_target_ignores_weekends_and_holidays(cal: WorkingCalendar) -> None:
    thirty = SlaTarget(amount=30, unit=DayType.CALENDAR)
    now = datetime(2026, 3, 18, 10, tzinfo=WIT)  # cuti bersama Nyepi; Lebaran ahead
    clock = start_clock(Stage.REPORTER_INFORMATION, thirty, now, cal)
    assert clock.unit is DayType.CALENDAR
    assert deadline(clock, cal) == datetime(2026, 4, 18, 0, 0, tzinfo=WIT)  # end of 17 April
    assert clock.budget_seconds == (30 * 24 + 14) * H
    # weekend and holiday time counts
    assert elapsed_seconds(clock, datetime(2026, 3, 22, 10, tzinfo=WIT), cal) == 4 * 24 * H
    # pause for 10 days, resume: the deadline moves by exactly 10 days
    paused = pause_clock(clock, datetime(2026, 3, 23, 10, tzinfo=WIT), cal)
    resumed = resume_clock(paused, datetime(2026, 4, 2, 10, tzinfo=WIT), cal)
    assert deadline(resumed, cal) == datetime(2026, 4, 28, 0, 0, tzinfo=WIT)


def test_marks_warnings_then_breach(cal: WorkingCalendar) -> None:
    start = datetime(2026, 3, 17, 9, tzinfo=WIT)
    clock = start_clock(Stage.VERIFICATION, wd(3), start, cal)
    first = next_mark_at(clock, cal, THRESHOLDS)
    assert first == datetime(2026, 3, 26, 8, 45, tzinfo=WIT)
    assert due_marks(clock, first - timedelta(microseconds=1), cal, THRESHOLDS) == []
    assert due_marks(clock, first, cal, THRESHOLDS) == [0.5]
    # a timer that wakes late sees every mark due at once, ascending
    very_late = datetime(2026, 4, 1, 9, tzinfo=WIT)
    assert due_marks(clock, very_late, cal, THRESHOLDS) == [0.5, 0.75, 1.0]
    clock = mark(clock, 0.5)
    assert clock.warned == (0.5,)
    assert mark(clock, 0.5) == clock
    assert next_mark_at(clock, cal, THRESHOLDS) == datetime(2026, 3, 27, 8, 37, 30, tzinfo=WIT)
    clock = mark(clock, 0.75)
    assert next_mark_at(clock, cal, THRESHOLDS) == datetime(2026, 3, 27, 16, 30, tzinfo=WIT)
    clock = mark(clock, 1.0)
    assert clock.breached
    assert due_marks(clock, very_late, cal, THRESHOLDS) == []
    assert next_mark_at(clock, cal, THRESHOLDS) is None


def test_clock_json_round_trip(cal: WorkingCalendar) -> None:
    clock = start_clock(Stage.RESOLUTION, wd(5), datetime(2026, 2, 9, 9, 7, 13, tzinfo=WIT), cal)
    clock = mark(pause_clock(clock, datetime(2026, 2, 10, 11, 1, 1, 7, tzinfo=WIT), cal), 0.5)
    again = SlaClock.model_validate_json(clock.model_dump_json())
    assert again == clock
    assert again.model_dump_json() == clock.model_dump_json()
    with pytest.raises(ValidationError):
        SlaClock.model_validate({**clock.model_dump(), "started_at": "2026-02-09T09:00:00"})


def test_reopen_resumes_without_instant_breach(cal: WorkingCalendar) -> None:
    start = datetime(2026, 2, 9, 9, tzinfo=WIT)
    clock = start_clock(Stage.RESOLUTION, wd(2), start, cal)  # budget 7 + 8 + 8 = 23 h
    # resolved late, on Thu 12 Feb 12:00, after the breach was recorded: spent 23 + 4 h
    clock = mark(mark(mark(clock, 0.5), 0.75), 1.0)
    resolved = pause_clock(clock, datetime(2026, 2, 12, 12, tzinfo=WIT), cal)
    assert resolved.spent_seconds == 27 * H
    # disputed on Friday 13 Feb 10:00; grace of one working day -> close of Wed 18 Feb
    now = datetime(2026, 2, 13, 10, tzinfo=WIT)
    reopened = reopen_clock(resolved, now, cal, wd(1), THRESHOLDS)
    assert reopened.spent_seconds == 27 * H  # not reset
    assert due_marks(reopened, now, cal, THRESHOLDS) == []
    assert deadline(reopened, cal) == datetime(2026, 2, 18, 16, tzinfo=WIT)
    # Warned again at the same thresholds of the 14.5 h grace (Fri 6.5 h + Wed 8 h; Mon and
    # Tue are Imlek leave): half at Wed 08:45, three quarters at Wed 12:22:30, then the breach.
    assert reopened.warned == ()
    assert next_mark_at(reopened, cal, THRESHOLDS) == datetime(2026, 2, 18, 8, 45, tzinfo=WIT)
    half = mark(reopened, 0.5)
    assert next_mark_at(half, cal, THRESHOLDS) == datetime(2026, 2, 18, 12, 22, 30, tzinfo=WIT)
    assert next_mark_at(mark(half, 0.75), cal, THRESHOLDS) == deadline(reopened, cal)


def test_reopen_with_enough_time_left_just_resumes(cal: WorkingCalendar) -> None:
    start = datetime(2026, 2, 9, 9, tzinfo=WIT)
    clock = start_clock(Stage.RESOLUTION, wd(5), start, cal)
    resolved = pause_clock(clock, datetime(2026, 2, 9, 10, tzinfo=WIT), cal)
    now = datetime(2026, 2, 10, 9, tzinfo=WIT)
    assert reopen_clock(resolved, now, cal, wd(1), THRESHOLDS) == resume_clock(resolved, now, cal)


def test_target_validation() -> None:
    with pytest.raises(ValidationError):
        SlaTarget(amount=0, unit=DayType.WORKING)
    assert str(SlaTarget(amount=30, unit=DayType.CALENDAR)) == "30 calendar days"
