"""Working calendar: holidays, joint leave, office hours, zones, office-time arithmetic."""

from __future__ import annotations

import time as wallclock
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from workflow.calendar import DayHours, OfficeHours, WorkingCalendar

WIT = ZoneInfo("Asia/Jayapura")
WIB = ZoneInfo("Asia/Jakarta")
H = 3600.0


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar("Asia/Jayapura", OfficeHours())


@pytest.mark.parametrize(
    ("day", "working", "name_part"),
    [
        (date(2026, 1, 1), False, "Tahun Baru Masehi"),
        (date(2026, 2, 16), False, "Cuti Bersama Tahun Baru Imlek"),
        (date(2026, 3, 18), False, "Cuti Bersama Hari Suci Nyepi"),
        (date(2026, 3, 19), False, "Nyepi"),
        (date(2026, 3, 20), False, "Cuti Bersama Hari Raya Idul Fitri"),
        (date(2026, 3, 21), False, "Idul Fitri"),
        (date(2026, 3, 23), False, "Cuti Bersama Hari Raya Idul Fitri"),
        (date(2026, 3, 24), False, "Cuti Bersama Hari Raya Idul Fitri"),
        (date(2026, 3, 25), True, None),
        (date(2026, 8, 17), False, "Kemerdekaan"),
        (date(2026, 12, 24), False, "Cuti Bersama Hari Raya Natal"),
        (date(2026, 12, 25), False, "Natal"),
        (date(2026, 12, 31), True, None),
        (date(2027, 1, 1), False, "Tahun Baru Masehi"),
        (date(2027, 1, 5), False, "Isra Mikraj"),
        (date(2027, 3, 15), False, "Cuti Bersama Hari Raya Idul Fitri"),
        (date(2027, 3, 16), True, None),
        (date(2027, 12, 24), False, "Cuti Bersama Hari Raya Natal"),
        (date(2026, 3, 28), False, None),  # a plain Saturday
        (date(2026, 3, 29), False, None),  # a plain Sunday
    ],
)
def test_working_days_and_holiday_names(
    cal: WorkingCalendar, day: date, working: bool, name_part: str | None
) -> None:
    assert cal.is_working_day(day) is working
    name = cal.holiday_name(day)
    if name_part is None:
        assert name is None
    else:
        assert name is not None
        assert name_part in name


def test_extra_regional_days_off() -> None:
    extra = WorkingCalendar("Asia/Jayapura", OfficeHours(), [date(2026, 9, 14)])
    assert not extra.is_working_day(date(2026, 9, 14))
    assert extra.holiday_name(date(2026, 9, 14)) == "Hari libur daerah"
    by_name = WorkingCalendar(
        "Asia/Jayapura",
        OfficeHours(),
        {date(2026, 9, 14): "HUT Kabupaten Maluku Tengah"},
    )
    assert by_name.holiday_name(date(2026, 9, 14)) == "HUT Kabupaten Maluku Tengah"


def test_office_hours_default_and_friday(cal: WorkingCalendar) -> None:
    mon = cal.office_interval(date(2026, 2, 9))
    fri = cal.office_interval(date(2026, 2, 13))
    assert mon == (datetime(2026, 2, 9, 8, tzinfo=WIT), datetime(2026, 2, 9, 16, tzinfo=WIT))
    assert fri == (
        datetime(2026, 2, 13, 8, tzinfo=WIT),
        datetime(2026, 2, 13, 16, 30, tzinfo=WIT),
    )
    assert cal.office_interval(date(2026, 2, 14)) is None


def test_office_hours_validation() -> None:
    with pytest.raises(ValidationError, match="not before closing"):
        DayHours(open=time(16), close=time(8))
    with pytest.raises(ValidationError, match="quoted string"):
        DayHours.model_validate({"open": "08:00", "close": 960})
    with pytest.raises(ValidationError, match="at least one weekday"):
        OfficeHours(monday=None, tuesday=None, wednesday=None, thursday=None, friday=None)


def test_configurable_office_hours_saturday() -> None:
    six_days = OfficeHours(saturday=DayHours(open=time(8), close=time(12)))
    c = WorkingCalendar("Asia/Jayapura", six_days)
    assert c.is_working_day(date(2026, 2, 14))
    start = datetime(2026, 2, 13, 16, tzinfo=WIT)
    assert c.working_seconds(start, datetime(2026, 2, 16, 9, tzinfo=WIT)) == 0.5 * H + 4 * H


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        # same day inside office hours
        (datetime(2026, 2, 9, 9, tzinfo=WIT), datetime(2026, 2, 9, 11, 30, tzinfo=WIT), 2.5),
        # before opening to after closing
        (datetime(2026, 2, 9, 6, tzinfo=WIT), datetime(2026, 2, 9, 20, tzinfo=WIT), 8.0),
        # Friday afternoon to Monday morning: 30 min Friday + 1 h Monday
        (datetime(2026, 2, 6, 16, tzinfo=WIT), datetime(2026, 2, 9, 9, tzinfo=WIT), 1.5),
        # across Lebaran 2026: Tue 17 Mar 15:00 -> Wed 25 Mar 10:00 = 1 h + 2 h
        (datetime(2026, 3, 17, 15, tzinfo=WIT), datetime(2026, 3, 25, 10, tzinfo=WIT), 3.0),
        # end before start
        (datetime(2026, 2, 9, 11, tzinfo=WIT), datetime(2026, 2, 9, 9, tzinfo=WIT), 0.0),
        # instants given in another zone are converted: 07:00 WIB = 09:00 WIT
        (datetime(2026, 2, 9, 7, tzinfo=WIB), datetime(2026, 2, 9, 10, tzinfo=WIT), 1.0),
    ],
)
def test_working_seconds(
    cal: WorkingCalendar, start: datetime, end: datetime, hours: float
) -> None:
    assert cal.working_seconds(start, end) == hours * H


def test_add_working_seconds(cal: WorkingCalendar) -> None:
    start = datetime(2026, 3, 17, 15, tzinfo=WIT)
    # 1 h left on Tuesday 17 Mar, then nothing until Wednesday 25 Mar
    assert cal.add_working_seconds(start, 1 * H) == datetime(2026, 3, 17, 16, tzinfo=WIT)
    assert cal.add_working_seconds(start, 3 * H) == datetime(2026, 3, 25, 10, tzinfo=WIT)
    assert cal.add_working_seconds(start, 0) == start
    # from outside office hours the clock starts at the next opening
    sat = datetime(2026, 2, 7, 12, tzinfo=WIT)
    assert cal.add_working_seconds(sat, 60) == datetime(2026, 2, 9, 8, 1, tzinfo=WIT)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # n=0: close of the same working day / of the next working day
        (datetime(2026, 2, 9, 9, tzinfo=WIT), 0, datetime(2026, 2, 9, 16, tzinfo=WIT)),
        (datetime(2026, 3, 20, 9, tzinfo=WIT), 0, datetime(2026, 3, 25, 16, tzinfo=WIT)),
        # day of receipt not counted, even after closing
        (datetime(2026, 2, 9, 18, 30, tzinfo=WIT), 1, datetime(2026, 2, 10, 16, tzinfo=WIT)),
        (datetime(2026, 2, 13, 9, tzinfo=WIT), 1, datetime(2026, 2, 18, 16, tzinfo=WIT)),
    ],
)
def test_close_of_nth_working_day(
    cal: WorkingCalendar, start: datetime, n: int, expected: datetime
) -> None:
    assert cal.close_of_nth_working_day(start, n) == expected


def test_sixty_working_days_is_fast(cal: WorkingCalendar) -> None:
    start = datetime(2026, 1, 5, 9, tzinfo=WIT)
    end = cal.close_of_nth_working_day(start, 60)
    seconds = cal.working_seconds(start, end)  # warm the caches
    runs = 200
    t0 = wallclock.perf_counter()
    for _ in range(runs):
        cal.working_seconds(start, end)
        cal.add_working_seconds(start, seconds)
    per_pair = (wallclock.perf_counter() - t0) / runs
    assert per_pair < 1e-3
    assert cal.add_working_seconds(start, seconds) == end
    assert end - start > timedelta(days=84)
