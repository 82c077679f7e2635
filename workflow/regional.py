"""Regional calendar rules of the policy: named days off and office hours that change by date.

A regent's decree closes offices on a regional day (an anniversary, a local election); Ramadan
shortens the office day for weeks. Each rule names who it applies to: agencies by code, whole
time zones, or (both empty) every agency. The policy turns the rules that apply to one agency
into that agency's `WorkingCalendar` (`calendar_rules_for`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workflow.calendar import OfficeHours

__all__ = [
    "CalendarRules",
    "OfficeHoursOverride",
    "RegionalDayOff",
    "calendar_rules_for",
    "check_regional_rules",
]

ZoneName = Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"]


class _Scoped(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    agencies: tuple[str, ...] = ()
    """Agency codes it applies to."""
    zones: tuple[ZoneName, ...] = ()
    """Time zones it applies to (every agency in them). Both empty: every agency."""

    def applies_to(self, agency: str | None, tz: str) -> bool:
        """Whether the rule holds for ``agency`` (None: the default calendar) in zone ``tz``."""
        if not self.agencies and not self.zones:
            return True
        return (agency is not None and agency in self.agencies) or tz in self.zones


class RegionalDayOff(_Scoped):
    """A named regional day off, e.g. ``{date: 2026-09-14, name: HUT Kabupaten}``."""

    date: date


class OfficeHoursOverride(_Scoped):
    """Office hours from ``from`` to ``to`` (inclusive), e.g. the shorter Ramadan day."""

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    hours: OfficeHours

    @model_validator(mode="after")
    def _check_range(self) -> OfficeHoursOverride:
        if self.end < self.start:
            raise ValueError(f"{self.name!r}: 'to' {self.end} is before 'from' {self.start}")
        return self


CalendarRules = tuple[tuple[tuple[date, str], ...], tuple[tuple[date, date, OfficeHours], ...]]
"""(named days off, (from, to, hours) overrides) of one agency: hashable, a cache key."""


def calendar_rules_for(
    agency: str | None,
    tz: str,
    days_off: Sequence[RegionalDayOff],
    overrides: Sequence[OfficeHoursOverride],
) -> CalendarRules:
    """The days off and office-hour overrides that hold for one agency, sorted by date."""
    days = sorted((d.date, d.name) for d in days_off if d.applies_to(agency, tz))
    ranges = sorted(
        ((o.start, o.end, o.hours) for o in overrides if o.applies_to(agency, tz)),
        key=lambda r: (r[0], r[1]),
    )
    return tuple(days), tuple(ranges)


def check_regional_rules(
    agencies: dict[str, str],
    days_off: Sequence[RegionalDayOff],
    overrides: Sequence[OfficeHoursOverride],
) -> None:
    """Refuse unknown agencies, a day off given twice for one agency, and overlapping overrides
    for one agency (which hours would hold is then ambiguous). ``agencies``: code -> zone."""
    for kind, rules in (("regional_days_off", days_off), ("office_hours_overrides", overrides)):
        for i, rule in enumerate(rules):
            unknown = [code for code in rule.agencies if code not in agencies]
            if unknown:
                raise ValueError(f"{kind}[{i}].agencies: unknown agency {unknown[0]!r}")
    for code, tz in agencies.items():
        seen: dict[date, str] = {}
        for day in days_off:
            if day.applies_to(code, tz):
                if day.date in seen:
                    raise ValueError(
                        f"regional_days_off: {day.date} is given twice for {code} "
                        f"({seen[day.date]!r} and {day.name!r})"
                    )
                seen[day.date] = day.name
        held = sorted(
            (o for o in overrides if o.applies_to(code, tz)), key=lambda o: (o.start, o.end)
        )
        for before, after in itertools.pairwise(held):
            if after.start <= before.end:
                raise ValueError(
                    f"office_hours_overrides: {before.name!r} and {after.name!r} overlap "
                    f"for {code} ({after.start} to {before.end})"
                )
