"""The SLA timer's deadline index: due cases come out once, in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers.engine.timer import DeadlineIndex

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_due_cases_come_out_earliest_first_and_only_once() -> None:
    index = DeadlineIndex()
    index.schedule("b", at(20))
    index.schedule("a", at(10))
    index.schedule("c", at(30))
    assert index.pop_due(at(5)) == []
    assert [case for case, _ in index.pop_due(at(25))] == ["a", "b"]
    assert index.pop_due(at(25)) == []
    assert [case for case, _ in index.pop_due(at(40))] == ["c"]
    assert len(index) == 0


def test_rescheduling_replaces_the_old_deadline() -> None:
    index = DeadlineIndex()
    index.schedule("a", at(10))
    index.schedule("a", at(50))
    assert index.pop_due(at(20)) == []
    assert [case for case, _ in index.pop_due(at(50))] == ["a"]


def test_unscheduling_with_none_drops_the_case() -> None:
    index = DeadlineIndex()
    index.schedule("a", at(10))
    index.schedule("a", None)
    assert index.pop_due(at(100)) == []
    assert index.next_due() is None


def test_a_fired_deadline_is_not_handed_out_again_until_it_changes() -> None:
    index = DeadlineIndex()
    index.schedule("a", at(10))
    assert len(index.pop_due(at(10))) == 1
    # The case agent found nothing to do and re-schedules the same instant: no loop.
    index.schedule("a", at(10))
    assert index.pop_due(at(11)) == []
    # A new deadline is scheduled normally.
    index.schedule("a", at(20))
    assert [case for case, _ in index.pop_due(at(20))] == ["a"]


def test_rebuild_replaces_everything() -> None:
    index = DeadlineIndex()
    index.schedule("old", at(1))
    index.rebuild([("a", at(5)), ("b", None), ("c", at(3))])
    assert len(index) == 2
    assert index.next_due() == at(3).timestamp()
    assert [case for case, _ in index.pop_due(at(10))] == ["c", "a"]


def test_limit_bounds_one_pop() -> None:
    index = DeadlineIndex()
    for n in range(10):
        index.schedule(f"case-{n}", at(n))
    assert len(index.pop_due(at(100), limit=4)) == 4
    assert len(index.pop_due(at(100))) == 6
