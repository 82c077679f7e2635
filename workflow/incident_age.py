"""The "older than two years" rule (UU 37/2008 Pasal 24(1)(b)): a complaint about maladministration
that happened more than two years before it was made is not taken up.

The incident date is what the reporter says; the rule compares it with the local date the case
was received on. "Two years" is by the calendar: the same day two years earlier (28 February
for a 29 February).
"""

from __future__ import annotations

from datetime import date

__all__ = ["older_than_two_years", "two_years_before"]


def two_years_before(d: date) -> date:
    """The same calendar day two years earlier (29 February -> 28 February)."""
    try:
        return d.replace(year=d.year - 2)
    except ValueError:
        return d.replace(year=d.year - 2, day=28)


def older_than_two_years(incident: date, received: date) -> bool:
    """True when the incident lies more than two years before the day of receipt."""
    return incident < two_years_before(received)
