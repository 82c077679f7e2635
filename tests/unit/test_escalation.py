"""The escalation ladder."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from workflow.escalation import EscalationLadder, EscalationLevel
from workflow.sla import DayType, SlaTarget


def test_default_ladder_has_three_levels() -> None:
    ladder = EscalationLadder()
    assert ladder.top == 3
    assert [lv.title for lv in ladder.levels] == [
        "Kepala OPD",
        "Sekretaris Daerah / Inspektorat",
        "Ombudsman RI Perwakilan Provinsi Maluku",
    ]
    assert all(lv.deadline == SlaTarget(amount=3, unit=DayType.WORKING) for lv in ladder.levels)
    assert ladder.reminder_interval == SlaTarget(amount=2, unit=DayType.WORKING)


def test_next_level_stops_at_the_top() -> None:
    ladder = EscalationLadder()
    assert ladder.next_level(0) == 1
    assert ladder.next_level(1) == 2
    assert ladder.next_level(2) == 3
    assert ladder.next_level(3) is None
    with pytest.raises(ValueError, match="negative"):
        ladder.next_level(-1)


def test_level_lookup_and_deadlines() -> None:
    ladder = EscalationLadder(
        levels=(
            EscalationLevel(
                level=1,
                title="Kepala OPD",
                role="head",
                deadline=SlaTarget(amount=1, unit="working"),
            ),
            EscalationLevel(level=2, title="Inspektorat", role="inspectorate"),
        ),
        reminder_interval=SlaTarget(amount=5, unit=DayType.CALENDAR),
    )
    assert ladder.level(2).role == "inspectorate"
    assert ladder.deadline_after(1) == SlaTarget(amount=1, unit=DayType.WORKING)
    assert ladder.deadline_after(2) == SlaTarget(amount=5, unit=DayType.CALENDAR)
    with pytest.raises(KeyError, match=r"levels 1\.\.2"):
        ladder.level(3)
    with pytest.raises(KeyError):
        ladder.level(0)


@pytest.mark.parametrize("numbers", [(), (1, 3), (2, 1), (1, 1)])
def test_levels_must_be_numbered_in_order(numbers: tuple[int, ...]) -> None:
    levels = tuple(EscalationLevel(level=n, title=f"L{n}", role=f"r{n}") for n in numbers)
    with pytest.raises(ValidationError):
        EscalationLadder(levels=levels)
