"""The Indonesian working-day calendar: office hours, weekends, holidays and joint leave.

A `WorkingCalendar` answers "how much office time lies between two instants" and its inverse
"when will this much office time have passed". It is pure: every instant is passed in, the wall
clock is never read. Holidays come from the `holidays` package (Indonesia, categories ``public``
and ``government``; the latter holds the *cuti bersama* joint-leave days), plus extra regional
days off from configuration.

Internally all arithmetic is done in whole microseconds (the resolution of `datetime`), so that
`add_working_seconds` and `working_seconds` are exact inverses and SLA marks computed from them
agree to the microsecond.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

__all__ = ["DayHours", "OfficeHours", "WorkingCalendar"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)
#: Safety bound for day-by-day walks: more than this many consecutive days without office time
#: means the configuration has no working days at all.
_MAX_IDLE_DAYS = 3660
#: Name given to extra regional days off that come without a name.
REGIONAL_DAY_OFF = "Hari libur daerah"
#: Bound of the per-calendar memo of `close_of_nth_working_day` (cleared when full).
_MEMO_LIMIT = 65536


def to_us(instant: datetime) -> int:
    """Microseconds since the Unix epoch of an aware instant (exact integer arithmetic)."""
    try:
        return (instant - _EPOCH) // _US
    except TypeError:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"naive datetime {instant.isoformat()} has no UTC offset") from None
        raise


def _parse_clock_time(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # PyYAML reads an unquoted 16:00 as the base-60 integer 960: refuse instead of guessing.
        raise ValueError(f"time {value!r} must be written as a quoted string such as '16:00'")
    return value


class DayHours(BaseModel):
    """Opening and closing local time of one office day (``open`` < ``close``, same day)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    open: time
    close: time

    _parse = field_validator("open", "close", mode="before")(_parse_clock_time)

    @model_validator(mode="after")
    def _check_order(self) -> DayHours:
        if self.open.tzinfo is not None or self.close.tzinfo is not None:
            raise ValueError("office hours are local times and carry no offset")
        if not self.open < self.close:
            raise ValueError(f"opening time {self.open} is not before closing time {self.close}")
        return self


_MON_THU = DayHours(open=time(8, 0), close=time(16, 0))
_FRI = DayHours(open=time(8, 0), close=time(16, 30))


class OfficeHours(BaseModel):
    """Office hours per weekday in local time; a day with ``None`` is not an office day.

    The default is the Indonesian civil-service week: Monday to Thursday 08:00-16:00, Friday
    08:00-16:30, Saturday and Sunday closed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    monday: DayHours | None = _MON_THU
    tuesday: DayHours | None = _MON_THU
    wednesday: DayHours | None = _MON_THU
    thursday: DayHours | None = _MON_THU
    friday: DayHours | None = _FRI
    saturday: DayHours | None = None
    sunday: DayHours | None = None

    @model_validator(mode="after")
    def _at_least_one_day(self) -> OfficeHours:
        if all(self.for_weekday(i) is None for i in range(7)):
            raise ValueError("office hours must open on at least one weekday")
        return self

    def for_weekday(self, weekday: int) -> DayHours | None:
        """The hours of a weekday (0 = Monday, as `date.weekday`), or None when closed."""
        return (
            self.monday,
            self.tuesday,
            self.wednesday,
            self.thursday,
            self.friday,
            self.saturday,
            self.sunday,
        )[weekday]


class WorkingCalendar:
    """Working days and office time of one time zone, built once from the policy.

    A working day is a weekday with office hours that is neither an Indonesian public holiday,
    nor a joint-leave day (cuti bersama), nor one of ``extra_days_off``. Holidays are looked up
    once per year and cached, as are the office intervals of each date.

    ``extra_days_off`` may be an iterable of dates or a mapping from date to a name;
    ``hours_overrides`` replace ``office_hours`` on the dates of their ranges.

    Office-time arithmetic is O(1) / O(log days): the calendar keeps, for a contiguous range of
    local dates (grown a year at a time as instants outside it are asked about), each day's
    opening and closing instant and the office time before it (a prefix sum). Office time up to
    an instant is then one lookup, `working_us` a difference of two, and `add_working_us` a
    binary search on the prefix sums. The day-by-day walks they replace are kept as
    `_walk_working_us` / `_walk_add_working_us`, the reference the tests compare against.
    """

    def __init__(
        self,
        tz: str,
        office_hours: OfficeHours,
        extra_days_off: Iterable[date] = (),
        country_subdiv: str | None = None,
        hours_overrides: Sequence[tuple[date, date, OfficeHours]] = (),
    ) -> None:
        self.tz: ZoneInfo = ZoneInfo(tz)
        self.office_hours = office_hours
        self.hours_overrides = tuple(hours_overrides)
        """(from, to, hours): inclusive date ranges with other office hours (e.g. Ramadan)."""
        self.country_subdiv = country_subdiv
        if isinstance(extra_days_off, Mapping):
            self._extra: dict[date, str] = {d: str(n) for d, n in extra_days_off.items()}
        else:
            self._extra = dict.fromkeys(extra_days_off, REGIONAL_DAY_OFF)
        self._holidays_by_year: dict[int, dict[date, str]] = {}
        self._intervals: dict[date, tuple[int, int] | None] = {}
        # The prefix-sum index over local dates [_lo, _lo + len(_opens)) (ordinals).
        self._lo = 0
        self._opens: list[int] = []
        """Opening instant (µs since the epoch) of each day; 0 on days without office time."""
        self._closes: list[int] = []
        """Closing instant of each day; 0 on days without office time."""
        self._before: list[int] = []
        """Office time (µs) from the first indexed day up to the start of each day."""
        self._through: list[int] = []
        """Office time (µs) from the first indexed day up to the end of each day."""
        self._nth_close: dict[tuple[int, int], datetime] = {}

    def __repr__(self) -> str:
        return f"WorkingCalendar(tz={self.tz.key!r}, extra_days_off={len(self._extra)})"

    # -- days ------------------------------------------------------------------------------

    def _holidays(self, year: int) -> dict[date, str]:
        table = self._holidays_by_year.get(year)
        if table is None:
            found = holidays.country_holidays(
                "ID",
                subdiv=self.country_subdiv,
                years=year,
                categories=("public", "government"),
                language="id",
            )
            table = {d: str(name) for d, name in found.items()}
            self._holidays_by_year[year] = table
        return table

    def holiday_name(self, d: date) -> str | None:
        """The Indonesian name of the holiday, joint-leave day or regional day off on ``d``."""
        name = self._holidays(d.year).get(d)
        if name is not None:
            return name
        return self._extra.get(d)

    def is_working_day(self, d: date) -> bool:
        """True when ``d`` has office hours and is no holiday, joint leave or regional day off."""
        return self._interval(d) is not None

    def office_interval(self, d: date) -> tuple[datetime, datetime] | None:
        """Opening and closing instant of ``d`` in this calendar's zone, None if not working."""
        iv = self._interval(d)
        if iv is None:
            return None
        return self.from_us(iv[0]), self.from_us(iv[1])

    def _interval(self, d: date) -> tuple[int, int] | None:
        try:
            return self._intervals[d]
        except KeyError:
            pass
        hours = self.office_hours_on(d).for_weekday(d.weekday())
        iv: tuple[int, int] | None
        if hours is None or self.holiday_name(d) is not None:
            iv = None
        else:
            iv = (
                to_us(datetime.combine(d, hours.open, tzinfo=self.tz)),
                to_us(datetime.combine(d, hours.close, tzinfo=self.tz)),
            )
        self._intervals[d] = iv
        return iv

    def office_hours_on(self, d: date) -> OfficeHours:
        """The office hours that hold on ``d``: an override's whose range holds it, else the
        week's (the policy refuses overlapping overrides)."""
        for start, end, hours in self.hours_overrides:
            if start <= d <= end:
                return hours
        return self.office_hours

    def local_date(self, instant: datetime) -> date:
        """The calendar date of ``instant`` in this calendar's zone."""
        return instant.astimezone(self.tz).date()

    def from_us(self, us: int) -> datetime:
        """The instant ``us`` microseconds after the epoch, expressed in this calendar's zone."""
        return (_EPOCH + timedelta(microseconds=us)).astimezone(self.tz)

    # -- office time -----------------------------------------------------------------------

    def _ordinal(self, instant: datetime) -> int:
        """The local date of ``instant`` as an ordinal, inside the index (grown as needed)."""
        o = instant.astimezone(self.tz).toordinal()
        i = o - self._lo
        if i < 0 or i >= len(self._opens):
            self._cover(o)
        return o

    def _cover(self, ordinal: int) -> None:
        """Grow the index to cover ``ordinal`` plus the rest of its year and the next year
        (forwards: appended; backwards: rebuilt from the new first day)."""
        year = date.fromordinal(ordinal).year
        first = date(max(year, date.min.year + 1) - 1, 1, 1).toordinal()
        last = date(min(year + 1, date.max.year - 1), 12, 31).toordinal()
        if not self._opens or first < self._lo:
            hi = max(last, self._lo + len(self._opens) - 1) if self._opens else last
            self._lo, self._opens, self._closes, self._before, self._through = first, [], [], [], []
            self._extend(hi)
        else:
            self._extend(last)

    def _extend(self, last: int) -> None:
        """Append the days after the indexed range up to ``last`` (an ordinal)."""
        total = self._through[-1] if self._through else 0
        for o in range(self._lo + len(self._opens), last + 1):
            iv = self._interval(date.fromordinal(o))
            self._before.append(total)
            if iv is None:
                self._opens.append(0)
                self._closes.append(0)
            else:
                self._opens.append(iv[0])
                self._closes.append(iv[1])
                total += iv[1] - iv[0]
            self._through.append(total)

    def _office_until(self, i: int, us: int) -> int:
        """Office time from the first indexed day up to ``us``, which falls on indexed day ``i``."""
        o = self._opens[i]
        if us <= o:
            return self._before[i]
        c = self._closes[i]
        return self._before[i] + (us - o if us < c else c - o)

    def working_us(self, start: datetime, end: datetime) -> int:
        """Office time between two aware instants in whole microseconds (0 if end <= start)."""
        s, e = to_us(start), to_us(end)
        if e <= s:
            return 0
        # Both first: growing the index backwards for one would shift the other's prefix sum.
        j = self._ordinal(end)
        i = self._ordinal(start) - self._lo
        return self._office_until(j - self._lo, e) - self._office_until(i, s)

    def _walk_working_us(self, start: datetime, end: datetime) -> int:
        """`working_us` by walking day by day (the reference implementation)."""
        s, e = to_us(start), to_us(end)
        if e <= s:
            return 0
        d = self.local_date(start)
        last = self.local_date(end)
        total = 0
        while d <= last:
            iv = self._interval(d)
            if iv is not None:
                lo = s if s > iv[0] else iv[0]
                hi = e if e < iv[1] else iv[1]
                if hi > lo:
                    total += hi - lo
            d += _ONE_DAY
        return total

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Office time in seconds between two aware instants; 0 if ``end <= start``."""
        return self.working_us(start, end) / 1_000_000

    def add_working_us(self, start: datetime, us: int) -> datetime:
        """The earliest instant at which ``us`` microseconds of office time have passed after start.

        For ``us <= 0`` this is ``start`` itself. The result is in this calendar's zone; when
        the budget runs out exactly at a closing time the result is that closing time.
        """
        if us <= 0:
            return start.astimezone(self.tz)
        s = to_us(start)
        first = self._ordinal(start) - self._lo
        target = self._office_until(first, s) + us
        through = self._through
        idle = 0
        while through[-1] < target:
            grown = len(through)
            self._extend(self._lo + grown + 365)
            through = self._through
            idle = idle + 1 if through[-1] == through[grown - 1] else 0
            if idle > _MAX_IDLE_DAYS // 365:  # pragma: no cover - guarded by OfficeHours
                raise ValueError("calendar has no working day in ten years")
        # The first day whose office time reaches the target (always an office day: a day
        # without office time has the same sum as the day before it).
        i = bisect_left(through, target, first)
        return self.from_us(self._opens[i] + target - self._before[i])

    def _walk_add_working_us(self, start: datetime, us: int) -> datetime:
        """`add_working_us` by walking day by day (the reference implementation)."""
        if us <= 0:
            return start.astimezone(self.tz)
        s = to_us(start)
        remaining = us
        d = self.local_date(start)
        idle = 0
        while True:
            iv = self._interval(d)
            if iv is not None:
                idle = 0
                lo = s if s > iv[0] else iv[0]
                if iv[1] > lo:
                    available = iv[1] - lo
                    if remaining <= available:
                        return self.from_us(lo + remaining)
                    remaining -= available
            else:
                idle += 1
                if idle > _MAX_IDLE_DAYS:  # pragma: no cover - guarded by OfficeHours validation
                    raise ValueError("calendar has no working day in ten years")
            d += _ONE_DAY

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        """The instant when ``seconds`` of office time have passed after ``start``.

        Inverse of `working_seconds`: ``working_seconds(start, add_working_seconds(start, s))``
        equals ``s`` (to the microsecond). The other way round it returns the *earliest* such
        instant, so an ``end`` outside office hours maps back to the preceding closing time
        (or to ``start`` when no office time lies between them).
        """
        return self.add_working_us(start, round(seconds * 1_000_000))

    def nth_working_day(self, start: datetime, n: int) -> date:
        """The n-th working day after start's local date (n=0: that date if working, else next)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        d = self.local_date(start)
        if n == 0:
            while not self.is_working_day(d):
                d += _ONE_DAY
            return d
        count = 0
        while count < n:
            d += _ONE_DAY
            if self.is_working_day(d):
                count += 1
        return d

    def close_of_nth_working_day(self, start: datetime, n: int) -> datetime:
        """End of the office day of the n-th working day after start's local date.

        The day of receipt is not counted: a complaint received on Monday (at any hour, even
        after closing) with ``n=3`` is due at Thursday's closing time, holidays permitting.
        ``n=0`` gives the closing time of the same day if it is a working day, else of the
        next working day. (Memoised per local date and ``n``.)
        """
        key = (start.astimezone(self.tz).toordinal(), n)
        found = self._nth_close.get(key)
        if found is None:
            iv = self._interval(self.nth_working_day(start, n))
            assert iv is not None
            if len(self._nth_close) >= _MEMO_LIMIT:
                self._nth_close.clear()
            found = self._nth_close[key] = self.from_us(iv[1])
        return found
