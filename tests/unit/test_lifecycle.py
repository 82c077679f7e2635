"""The lifecycle table: compiled once, well formed, diagrams generated from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from states import diagram
from states.lifecycle import (
    FINAL_STATES,
    GUARDS,
    INITIAL_STATE,
    TRANSITIONS,
    CaseState,
    Lifecycle,
    TransitionSpec,
    lifecycle,
)
from states.structure import dead_ends, initial_states, leaving_final, problems, unreachable
from tests.tools import require_tool
from workflow.commands import COMMAND_TYPES
from workflow.guards import GUARD_FUNCTIONS
from workflow.incidents.case_links import INCIDENT_COMMANDS

DOCS = Path(__file__).resolve().parents[2] / "docs"
S = CaseState


def test_the_lifecycle_is_well_formed() -> None:
    lc = lifecycle()
    assert problems(lc) == []
    assert initial_states(lc) == [INITIAL_STATE]
    assert unreachable(lc) == []
    assert dead_ends(lc) == []
    assert leaving_final(lc) == []


def test_compiled_once_into_one_shared_machine_without_models() -> None:
    assert lifecycle() is lifecycle()
    machine = lifecycle().machine
    assert machine.models == []
    assert set(machine.states) == {s.value for s in CaseState}
    assert not any(name.startswith("to_") for name in machine.events)  # auto_transitions off


def test_hot_path_table_matches_the_declared_specs() -> None:
    expected = {
        (source, spec.trigger): (spec.dest or source, spec.guards)
        for spec in TRANSITIONS
        for source in spec.sources
    }
    table = lifecycle().table
    assert {k: (t.dest, t.guards) for k, t in table.items()} == expected


def test_the_machine_itself_agrees_with_the_table() -> None:
    """Drive the shared transitions.Machine with a throwaway holder for a few edges."""

    class Holder:
        state = S.IN_PROGRESS.value

        def __getattr__(self, name: str) -> object:
            return lambda *a, **k: True  # every guard passes

    lc = lifecycle()
    for (source, trigger), edge in list(lc.table.items())[:25]:
        holder = Holder()
        holder.state = source.value
        assert lc.machine.events[trigger].trigger(holder)
        assert holder.state == edge.dest.value


def test_every_command_trigger_and_guard_is_known() -> None:
    triggers = lifecycle().triggers
    for name, model in COMMAND_TYPES.items():
        if name != "TimerFired" and name not in INCIDENT_COMMANDS:  # these change no state
            assert model.trigger in triggers, name
    used = {g for spec in TRANSITIONS for g in spec.guards}
    assert used <= set(GUARDS) == set(GUARD_FUNCTIONS)


def test_nothing_leaves_a_final_state_and_withdraw_from_every_other() -> None:
    table = lifecycle().table
    for state in CaseState:
        if state in FINAL_STATES:
            assert lifecycle().allowed(state) == []
        else:
            assert table[state, "withdraw"].dest is S.WITHDRAWN


def test_reopen_goes_back_to_in_progress() -> None:
    edge = lifecycle().table[S.RESOLVED, "dispute_resolution"]
    assert edge.dest is S.IN_PROGRESS
    assert edge.guards == ("within_reopen_window",)


def test_structural_checks_catch_defects() -> None:
    broken = Lifecycle(
        (
            TransitionSpec("go", (S.RECEIVED,), S.VERIFYING),
            TransitionSpec("loop", (S.VERIFYING,), S.RECEIVED),
            TransitionSpec("finish", (S.AWAITING_INFORMATION,), S.CLOSED),
            TransitionSpec("zombie", (S.CLOSED,), S.RESOLVED),
        )
    )
    assert S.VERIFYING in dead_ends(broken)
    assert S.RECEIVED in dead_ends(broken)
    assert S.AWAITING_INFORMATION in unreachable(broken)
    assert leaving_final(broken) == [S.CLOSED]
    assert len(problems(broken)) == 3


def test_duplicate_edges_are_refused() -> None:
    with pytest.raises(ValueError, match="two transitions"):
        Lifecycle(
            (
                TransitionSpec("go", (S.RECEIVED,), S.VERIFYING),
                TransitionSpec("go", (S.RECEIVED,), S.REJECTED),
            )
        )


def test_committed_mermaid_diagram_is_current() -> None:
    assert (DOCS / "lifecycle.mmd").read_text(encoding="utf-8") == diagram.mermaid()


def test_mermaid_and_dot_show_every_state() -> None:
    text, dot = diagram.mermaid(), diagram.dot()
    assert text.startswith("stateDiagram-v2\n")
    for state in CaseState:
        assert state.value in text
        assert f"  {state.value} [" in dot
    assert "[*] --> received" in text
    assert "dispute_resolution [within_reopen_window]" in text


def test_graphviz_renders_svg(tmp_path: Path) -> None:
    require_tool("dot")  # fails (never skips) without it: `make tools` installs graphviz
    written = diagram.write(tmp_path)
    assert [p.name for p in written] == ["lifecycle.mmd", "lifecycle.svg"]
    assert b"<svg" in (tmp_path / "lifecycle.svg").read_bytes()
