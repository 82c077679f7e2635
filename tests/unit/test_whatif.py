"""SLA what-if on a recorded history with known answers (issue 18, part 2).

Three cases at PUPR, verified after 1, 4 and 7 working days. Under the recorded policy (3
working days to verify) the second and third are late: compliance 1/3, red. Under 5 working
days only the third is: 2/3, yellow; the second case's outcome changes. Replaying under the
recorded policy itself changes nothing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from consumers import whatif
from tests.unit.whatif_history import FIVE_DAYS, RECORDED, known_history
from workflow.events import Event


@pytest.fixture(scope="module")
def history() -> dict[str, list[Event]]:
    return known_history()


def test_the_recorded_outcomes_are_the_known_ones(history: dict[str, list[Event]]) -> None:
    result = whatif.compare(history, RECORDED, RECORDED)
    pupr = result.now["PUPR"]
    assert (pupr.within, pupr.late, pupr.zone) == (1, 2, "red")
    assert result.changed == []
    assert result.alternative == result.now


def test_five_working_days_to_verify_change_one_case(history: dict[str, list[Event]]) -> None:
    result = whatif.compare(history, RECORDED, FIVE_DAYS)
    now, alt = result.now["PUPR"], result.alternative["PUPR"]
    assert (now.within, now.late, now.zone) == (1, 2, "red")
    assert (alt.within, alt.late, alt.zone) == (2, 1, "yellow")
    assert alt.score == pytest.approx(200 / 3)
    second = list(history)[1]
    assert [(b.case_id, b.outcome, a.outcome) for b, a in result.changed] == [
        (second, "late", "within_sla")
    ]
    assert result.cases == 3


def test_a_date_range_keeps_the_cases_received_in_it(history: dict[str, list[Event]]) -> None:
    result = whatif.compare(history, RECORDED, FIVE_DAYS, opened_from=date(2026, 3, 3))
    assert result.cases == 0


def test_the_history_file_round_trips(history: dict[str, list[Event]], tmp_path: Path) -> None:
    from workflow.codec import encode

    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(encode(e) for h in history.values() for e in h) + b"\n")
    loaded, bad = whatif.load_history(path.read_bytes().splitlines())
    assert bad == 0
    assert loaded == history


def test_zones_follow_the_2021_scale() -> None:
    assert [whatif.zone_of(s) for s in (100, 81, 80.99, 51, 50.99, 0)] == [
        "green",
        "green",
        "yellow",
        "yellow",
        "red",
        "red",
    ]
