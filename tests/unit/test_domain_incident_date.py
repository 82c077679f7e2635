"""The incident date (issue 18, part 4): captured at intake when the reporter gives it, checked
against the two-year rule at opening, and the check offered to the verifier: a rejection as
"older than two years" of a case the reporter dates within two years is refused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError
from test_core_support import T0, Driver, intake

from workflow.incident_age import older_than_two_years, two_years_before

HOUR = timedelta(hours=1)
OLD = {"reason": "older_than_two_years"}


def test_two_years_is_by_the_calendar() -> None:
    assert two_years_before(date(2026, 12, 1)) == date(2024, 12, 1)
    assert two_years_before(date(2028, 2, 29)) == date(2026, 2, 28)
    assert older_than_two_years(date(2024, 11, 30), date(2026, 12, 1))
    assert not older_than_two_years(date(2024, 12, 1), date(2026, 12, 1))


def test_the_incident_date_is_recorded_and_checked_at_opening() -> None:
    received = T0.date()
    recent = Driver(incident_date=received - timedelta(days=30))
    assert recent.c.incident_date == received - timedelta(days=30)
    assert recent.c.incident_older_than_two_years is False
    (opened,) = recent.events
    assert opened.payload.incident_older_than_two_years is False
    old = Driver(n=2, incident_date=two_years_before(received) - timedelta(days=1))
    assert old.c.incident_older_than_two_years is True
    unknown = Driver(n=3)
    assert unknown.c.incident_date is None
    assert unknown.c.incident_older_than_two_years is None


def test_rejecting_as_too_old_a_case_dated_within_two_years_is_refused() -> None:
    d = Driver(incident_date=T0.date() - timedelta(days=30))
    d.send("RejectComplaint", after=HOUR, **OLD)
    (refused,) = d.last
    assert refused.type == "CommandRejected"
    assert refused.payload.reason_code == "guard_failed"
    assert "older_than_two_years" in refused.payload.detail
    assert d.c.state == "received"


@pytest.mark.parametrize("incident_date", [date(2020, 1, 6), None])
def test_rejecting_as_too_old_is_allowed_when_old_or_undated(incident_date: date | None) -> None:
    extra = {} if incident_date is None else {"incident_date": incident_date}
    d = Driver(**extra)
    d.send("RejectComplaint", after=HOUR, **OLD)
    assert [e.type for e in d.last] == ["ComplaintRejected"]
    assert d.c.state == "rejected"


def test_an_incident_after_the_receipt_is_bad_input() -> None:
    with pytest.raises(ValidationError, match=r"incident_date .* is after"):
        intake(incident_date=T0.date() + timedelta(days=3))


def test_the_web_form_captures_the_incident_date_and_an_operator_the_priority() -> None:
    from datetime import UTC, datetime

    from consumers.adapters.base import AdapterError
    from consumers.adapters.web import OperatorComplaint, WebComplaint, from_operator, from_web

    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    web = WebComplaint(
        submission_id="f-9", text="Pungli di kantor desa", incident_date="2025-12-01"
    )
    assert from_web(web, "portal", now).payload.incident_date == date(2025, 12, 1)
    typed = OperatorComplaint(submission_id="t-9", text="Air mati", priority="urgent")
    assert from_operator(typed, "op-1", now).payload.priority == "urgent"
    future = WebComplaint(submission_id="f-10", text="Keluhan", incident_date="2026-03-09")
    with pytest.raises(AdapterError, match="incident_date"):
        from_web(future, "portal", now)
    with pytest.raises(ValidationError):
        WebComplaint(submission_id="f-11", text="Keluhan", priority="urgent")  # type: ignore[call-arg]
