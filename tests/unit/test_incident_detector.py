"""The detector's per-area step: link commands, priority rising, unlinks kept, replays alike."""

from __future__ import annotations

from collections import Counter as Tally
from datetime import UTC, datetime, timedelta

from consumers.incidents.detector import AreaValue, on_sighting, on_unlinked
from consumers.incidents.metrics import IncidentCounts
from tests.unit.test_core_support import REPORTER, Driver
from tests.unit.test_incident_case_links import link
from workflow.incidents.case_links import IncidentPriority
from workflow.incidents.linker import Sighting, sighting_of

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def seen(n: int, text: str = "listrik PLN padam di Haria sejak kemarin") -> Sighting:
    sighting = sighting_of(f"case-{n}", T0 + timedelta(minutes=n), text)
    assert sighting is not None
    return sighting


def feed(value: AreaValue, *ns: int) -> tuple[AreaValue, list[tuple[str, str, int]]]:
    sent = []
    for n in ns:
        value, commands = on_sighting(value, seen(n), T0)
        sent += [(c.case_id, c.payload.incident_id, c.payload.reporters) for c in commands]
    return value, sent


def test_links_go_to_new_cases_and_to_all_when_the_priority_rises() -> None:
    value, sent = feed(AreaValue(), 1, 2)
    assert sent == [("case-1", "INC-case-1", 2), ("case-2", "INC-case-1", 2)]
    value, sent = feed(value, 3)  # three reporters: the priority rises to high
    assert sent == [(f"case-{n}", "INC-case-1", 3) for n in (1, 2, 3)]
    _, sent = feed(value, 4)
    assert sent == [("case-4", "INC-case-1", 4)]


def test_a_replay_sends_the_same_command_ids() -> None:
    first = [c.event_id for c in on_sighting(feed(AreaValue(), 1)[0], seen(2), T0)[1]]
    again = [c.event_id for c in on_sighting(feed(AreaValue(), 1)[0], seen(2), T0)[1]]
    assert (
        first == again == ["incident-link:case-1:INC-case-1:2", "incident-link:case-2:INC-case-1:2"]
    )


def test_an_unlinked_case_leaves_the_members_and_is_not_linked_back() -> None:
    value, _ = feed(AreaValue(), 1, 2, 3)
    value = on_unlinked(value, "case-3", "INC-case-1")
    assert value.members["INC-case-1"] == ("case-1", "case-2")
    _, commands = on_sighting(value, seen(3), T0)
    assert commands == []


def test_open_incidents_are_counted_by_priority_and_leave_when_cases_close() -> None:
    d1, d2 = Driver(), Driver(channel_message_id="web-2")
    counts = IncidentCounts(lambda: [0, 1])
    for driver, partition in ((d1, 0), (d2, 1)):
        before = driver.c
        driver.apply(link(driver.c.case_id, "INC-a", 3))
        counts.update(partition, before, driver.c)
    incidents, cases = counts.totals()
    assert (incidents[IncidentPriority.HIGH], cases[IncidentPriority.HIGH]) == (1, 2)
    before = d1.c
    d1.send("WithdrawComplaint", actor=REPORTER, after=timedelta(hours=1))
    counts.update(0, before, d1.c)
    assert counts.totals()[1][IncidentPriority.HIGH] == 1
    counts.recount([(0, d1.c)])
    assert counts.totals() == (Tally(), Tally())
