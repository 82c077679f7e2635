"""A recorded history with known what-if answers (tests/unit/test_whatif.py explains them)."""

from __future__ import annotations

from datetime import datetime

from tests.unit.test_core_support import WIT, Driver, agency_actor
from workflow.core import Workflow
from workflow.events import Event
from workflow.policy import load_policy

RECORDED = Workflow(load_policy(), reporter_key=b"k")
FIVE_DAYS_TO_VERIFY = {"sla": {"verification": {"amount": 5, "unit": "working"}}}
FIVE_DAYS = Workflow(load_policy(overrides=FIVE_DAYS_TO_VERIFY), reporter_key=b"k")


def _at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=WIT)


def _run(d: Driver, at: datetime, type_: str, **payload: object) -> None:
    """What the engine does: the due timers first, then the command."""
    while d.c.wake_at is not None and d.c.wake_at <= at:
        d.tick()
    d.send(type_, at=at, **payload)
    assert d.last[0].type != "CommandRejected", d.last


def _case(n: int, verified_on: int) -> list[Event]:
    d = Driver(wf=RECORDED, n=n, at=_at(2, 9))
    _run(d, _at(2, 10), "CompleteFormalVerification")
    _run(d, _at(verified_on, 10), "CompleteMaterialVerification", agency="PUPR")
    pupr = agency_actor("PUPR")
    _run(d, _at(verified_on, 11), "AcceptReferral", actor=pupr)
    _run(d, _at(verified_on, 12), "PostFollowUpPlan", actor=pupr)
    _run(d, _at(verified_on + 1, 10), "ResolveComplaint", actor=pupr)
    return d.events


def known_history() -> dict[str, list[Event]]:
    """Received Mon 2 March 2026; verified Tue 3 (1 wd), Fri 6 (4 wd), Wed 11 (7 wd)."""
    cases = [_case(1, 3), _case(2, 6), _case(3, 11)]
    return {events[0].case_id: events for events in cases}
