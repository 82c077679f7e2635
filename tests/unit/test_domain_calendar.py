"""Regional days off per agency or zone, with names, and office hours by date range (issue 18,
part 4): validated at load, and the calendars the SLA clocks count in follow them."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from workflow.policy import Policy, PolicyError, load_policy

WIT = ZoneInfo("Asia/Jayapura")
HUT = date(2026, 9, 14)  # a Monday, no national holiday
RAMADAN_HOURS = {
    day: {"open": "08:00", "close": "15:00"}
    for day in ("monday", "tuesday", "wednesday", "thursday")
} | {"friday": {"open": "08:00", "close": "15:30"}, "saturday": None, "sunday": None}


def _policy(**overrides: Any) -> Policy:
    return load_policy(overrides=overrides)


def test_a_named_day_off_for_one_agency_closes_only_that_agency() -> None:
    pol = _policy(regional_days_off=[{"date": HUT, "name": "HUT Dinkes", "agencies": ["DINKES"]}])
    assert HUT.weekday() == 0
    dinkes, pupr = pol.calendar_for("DINKES"), pol.calendar_for("PUPR")
    assert not dinkes.is_working_day(HUT)
    assert dinkes.holiday_name(HUT) == "HUT Dinkes"
    assert pupr.is_working_day(HUT)
    friday = datetime(2026, 9, 11, 10, tzinfo=WIT)
    assert dinkes.close_of_nth_working_day(friday, 1).date() == date(2026, 9, 15)
    assert pupr.close_of_nth_working_day(friday, 1).date() == HUT


def test_a_day_off_for_a_zone_and_one_for_everyone() -> None:
    agencies = [*load_policy().model_dump()["agencies"]]
    agencies.append({"code": "BALAI-WITA", "name": "Balai di Makassar", "tz": "Asia/Makassar"})
    pol = _policy(
        agencies=agencies,
        regional_days_off=[
            {"date": HUT, "name": "Libur WITA", "zones": ["Asia/Makassar"]},
            {"date": date(2026, 9, 15), "name": "Pilkada"},
        ],
    )
    assert not pol.calendar_for("BALAI-WITA").is_working_day(HUT)
    assert pol.calendar_for("DINKES").is_working_day(HUT)
    for code in ("BALAI-WITA", "DINKES", None):
        assert pol.calendar_for(code).holiday_name(date(2026, 9, 15)) == "Pilkada"


def test_office_hours_change_by_date_range() -> None:
    pol = _policy(
        office_hours_overrides=[
            {
                "name": "Ramadan 1448 H",
                "from": "2027-02-08",
                "to": "2027-03-09",
                "hours": RAMADAN_HOURS,
                "agencies": ["DINKES"],
            }
        ]
    )
    dinkes, pupr = pol.calendar_for("DINKES"), pol.calendar_for("PUPR")
    inside, after = date(2027, 2, 10), date(2027, 3, 16)  # after Lebaran leave
    assert dinkes.office_interval(inside)[1].time() == time(15, 0)  # type: ignore[index]
    assert dinkes.office_interval(after)[1].time() == time(16, 0)  # type: ignore[index]
    assert pupr.office_interval(inside)[1].time() == time(16, 0)  # type: ignore[index]
    day = datetime.combine(inside, time(0), tzinfo=WIT)
    next_day = datetime.combine(date(2027, 2, 11), time(0), tzinfo=WIT)
    assert dinkes.working_seconds(day, next_day) == 7 * 3600


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"regional_days_off": [{"date": HUT, "name": "x", "agencies": ["NOPE"]}]},
            r"regional_days_off\[0\].agencies: unknown agency 'NOPE'",
        ),
        (
            {
                "regional_days_off": [
                    {"date": HUT, "name": "a"},
                    {"date": HUT, "name": "b", "agencies": ["DINKES"]},
                ]
            },
            r"2026-09-14 is given twice for .*'a' and 'b'",
        ),
        (
            {"regional_days_off": [{"date": HUT, "name": ""}]},
            r"regional_days_off\.0\.name|regional_days_off\[0\]\.name",
        ),
        (
            {
                "office_hours_overrides": [
                    {"name": "r", "from": "2027-03-09", "to": "2027-02-08", "hours": RAMADAN_HOURS}
                ]
            },
            r"'to' 2027-02-08 is before 'from' 2027-03-09",
        ),
        (
            {
                "office_hours_overrides": [
                    {
                        "name": "r1",
                        "from": "2027-02-08",
                        "to": "2027-03-09",
                        "hours": RAMADAN_HOURS,
                    },
                    {
                        "name": "r2",
                        "from": "2027-03-01",
                        "to": "2027-03-20",
                        "hours": RAMADAN_HOURS,
                        "zones": ["Asia/Jayapura"],
                    },
                ]
            },
            r"'r1' and 'r2' overlap",
        ),
        (
            {
                "office_hours_overrides": [
                    {
                        "name": "r",
                        "from": "2027-02-08",
                        "to": "2027-03-09",
                        "hours": {"monday": {"open": "16:00", "close": "08:00"}},
                    }
                ]
            },
            r"office_hours_overrides\[0\]\.hours\.monday",
        ),
    ],
)
def test_bad_regional_rules_are_refused_at_load(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        _policy(**entry)


def test_overrides_for_different_agencies_may_overlap() -> None:
    pol = _policy(
        office_hours_overrides=[
            {
                "name": "r1",
                "from": "2027-02-08",
                "to": "2027-03-09",
                "hours": RAMADAN_HOURS,
                "agencies": ["DINKES"],
            },
            {
                "name": "r2",
                "from": "2027-03-01",
                "to": "2027-03-20",
                "hours": RAMADAN_HOURS,
                "agencies": ["PUPR"],
            },
        ]
    )
    assert pol.calendar_for("PUPR").office_interval(date(2027, 3, 19)) is not None
