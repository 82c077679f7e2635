"""The calendar's prefix-sum index agrees exactly with the day-by-day walks it replaced."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.calendar import OfficeHours, WorkingCalendar

ZONES = ["Asia/Jayapura", "Asia/Jakarta", "Asia/Makassar", "Europe/Amsterdam"]
EXTRA = {date(2026, 5, 4): "Hari jadi", date(2027, 9, 1): "Libur daerah"}
CALENDARS = {tz: WorkingCalendar(tz, OfficeHours(), EXTRA) for tz in ZONES}

instants = st.datetimes(
    min_value=datetime(2024, 11, 1), max_value=datetime(2029, 2, 1), timezones=st.just(UTC)
)
durations = st.integers(min_value=-(10**9), max_value=400 * 8 * 3600 * 10**6)


@settings(max_examples=400, deadline=None)
@given(tz=st.sampled_from(ZONES), a=instants, b=instants)
def test_working_us_equals_walk(tz: str, a: datetime, b: datetime) -> None:
    cal = CALENDARS[tz]
    assert cal.working_us(a, b) == cal._walk_working_us(a, b)


@settings(max_examples=400, deadline=None)
@given(tz=st.sampled_from(ZONES), a=instants, us=durations)
def test_add_working_us_equals_walk(tz: str, a: datetime, us: int) -> None:
    cal = CALENDARS[tz]
    got = cal.add_working_us(a, us)
    assert got == cal._walk_add_working_us(a, us)
    assert got.tzinfo is cal.tz
    if us > 0:
        assert cal.working_us(a, got) == us


@settings(max_examples=200, deadline=None)
@given(tz=st.sampled_from(ZONES), a=instants, n=st.integers(min_value=0, max_value=40))
def test_close_of_nth_working_day_is_memoised_consistently(tz: str, a: datetime, n: int) -> None:
    cal = CALENDARS[tz]
    d = cal.nth_working_day(a, n)
    iv = cal.office_interval(d)
    assert iv is not None
    assert cal.close_of_nth_working_day(a, n) == iv[1]
    assert cal.close_of_nth_working_day(a, n) == iv[1]  # from the memo


def test_index_grows_backwards_and_forwards_without_changing_answers() -> None:
    cal = WorkingCalendar("Asia/Jayapura", OfficeHours())
    mid = datetime(2026, 3, 2, 9, tzinfo=UTC)
    first = cal.working_us(mid, mid + timedelta(days=20))
    early = datetime(2019, 6, 3, 1, tzinfo=UTC)  # before the index: rebuilt from 2018
    assert cal.working_us(early, mid) == cal._walk_working_us(early, mid)
    assert cal.working_us(mid, mid + timedelta(days=20)) == first
    late = cal.add_working_us(mid, 2_000 * 8 * 3600 * 10**6)  # years ahead: grown forwards
    assert late == cal._walk_add_working_us(mid, 2_000 * 8 * 3600 * 10**6)
    assert late.year >= 2034
