"""The detector's per-area step: link commands, priority rising, unlinks kept, replays alike."""

from __future__ import annotations

from collections import Counter as Tally
from datetime import UTC, datetime, timedelta
from typing import Any

from faust.windows import TumblingWindow

from bench.incident_samples import labelled_set
from consumers.incidents.app import WINDOW_SECONDS
from consumers.incidents.detector import (
    AreaValue,
    on_area,
    on_sighting,
    on_unlinked,
    sightings_of,
    window_value,
)
from consumers.incidents.metrics import IncidentCounts
from tests.unit.test_core_support import REPORTER, Driver
from tests.unit.test_incident_case_links import link
from workflow.incidents.case_links import IncidentPriority
from workflow.incidents.linker import Sighting, link_all, sighting_of

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


# -- the sightings in faust's tumbling windows ------------------------------------------------


class Windows:
    """The detector's windowed table in memory: one value per (area, window) with faust's own
    window ranges; reads the message's window and the one ``WINDOW_SECONDS`` before it."""

    def __init__(self) -> None:
        self.window = TumblingWindow(WINDOW_SECONDS)
        self.data: dict[tuple[str, Any], str] = {}
        self.lasting: dict[str, AreaValue] = {}

    def step(self, area: str, at: datetime, message: Any) -> list[Any]:
        ts = at.timestamp()
        current = sightings_of(self.data.get((area, self.window.current(ts)), ""))
        previous = sightings_of(self.data.get((area, self.window.delta(ts, WINDOW_SECONDS)), ""))
        lasting = self.lasting.get(area, AreaValue())
        result = on_area(lasting, previous, current, message, T0)
        if result.window is not None:
            self.data[(area, self.window.current(ts))] = window_value(result.window)
        self.lasting[area] = result.lasting
        assert result.lasting.window.sightings == ()  # sightings live only in the windows
        return result.commands


def incidents_of(commands: list[Any]) -> dict[str, str]:
    return {c.case_id: c.payload.incident_id for c in commands}


def test_windowed_sightings_link_exactly_as_the_whole_history_does() -> None:
    data = labelled_set(3)
    sightings = [sighting_of(c.case_id, c.received_at, c.text, c.location) for c in data]
    placed = sorted((s for s in sightings if s is not None), key=lambda s: s.received_at)
    span = placed[-1].received_at - placed[0].received_at
    assert span > timedelta(seconds=WINDOW_SECONDS)  # the set crosses window boundaries
    windows, sent = Windows(), []
    for s in placed:
        sent += windows.step(s.kecamatan, s.received_at, s)
    assert incidents_of(sent) == link_all(placed)
    assert len(windows.data) > len(windows.lasting)  # more than one window per area


def test_a_window_boundary_does_not_split_an_incident_and_48_hours_still_do() -> None:
    boundary = datetime.fromtimestamp(
        TumblingWindow(WINDOW_SECONDS).current(T0.timestamp())[0] + WINDOW_SECONDS, UTC
    )
    windows = Windows()
    text = "listrik PLN padam di Haria sejak kemarin"

    def sighting(n: int, at: datetime) -> Sighting:
        found = sighting_of(f"case-{n}", at, text)
        assert found is not None
        return found

    before = sighting(1, boundary - timedelta(minutes=5))
    after = sighting(2, boundary + timedelta(minutes=5))
    assert windows.step(before.kecamatan, before.received_at, before) == []
    linked = windows.step(after.kecamatan, after.received_at, after)
    assert incidents_of(linked) == {"case-1": "INC-case-1", "case-2": "INC-case-1"}
    late = sighting(3, after.received_at + timedelta(seconds=WINDOW_SECONDS + 60))
    assert windows.step(late.kecamatan, late.received_at, late) == []


def test_an_unlink_is_kept_in_the_lasting_value_and_its_window() -> None:
    windows = Windows()
    s1, s2 = seen(1), seen(2)
    windows.step(s1.kecamatan, s1.received_at, s1)
    windows.step(s2.kecamatan, s2.received_at, s2)
    windows.step(s2.kecamatan, s2.received_at + timedelta(hours=1), ("case-2", "INC-case-1"))
    assert windows.lasting[s2.kecamatan].members["INC-case-1"] == ("case-1",)
    again = windows.step(s2.kecamatan, s2.received_at + timedelta(hours=2), s2)  # a replay
    assert again == []
