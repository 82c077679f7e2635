"""Property tests: random message sequences against the lifecycle invariants.

Random sequences never reach an invalid state; replaying the events rebuilds the case; applying a
message twice changes nothing; per agency the escalation level never falls; the SLA stage clock's
elapsed time never decreases and never counts paused time.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from test_core_support import (
    DEFAULT_ACTOR,
    OFFICER,
    SAMPLE_PAYLOADS,
    T0,
    command,
    intake,
    policy,
    workflow,
)

from states.lifecycle import FINAL_STATES, CaseState, lifecycle
from workflow.case import Case
from workflow.codec import encode, parse_event
from workflow.commands import COMMAND_TYPES
from workflow.escalation_state import escalation_agency, level_reached
from workflow.events import Event
from workflow.evolving import EVENT_STATE
from workflow.sla import SlaClock, elapsed_seconds

VARIANTS: dict[str, list[dict[str, Any]]] = {
    "CompleteMaterialVerification": [{}, {"agency": "PUPR"}, {"agency": "NOPE"}],
    "ReassignAgency": [{"agency": "PUPR"}, {"agency": "DINKES"}, {"agency": "NOPE"}],
    "ResolveComplaint": [{"resolution_text": "Selesai"}, {"resolution_text": " "}],
    "PostFollowUpPlan": [{}, {"complaint_class": "light"}],
}
step = st.tuples(
    st.integers(0, 9),  # 0-6: a command the state allows (or the timer), 7-9: any message
    st.integers(0, 1000),  # which one
    st.integers(0, 2),  # payload variant
    st.booleans(),  # an officer instead of the usual actor
    st.integers(0, 3 * 24 * 60),  # minutes since the previous message
)
ALL_KINDS = [*sorted(SAMPLE_PAYLOADS), "timer"]
Step = tuple[int, int, int, bool, int]


def pick(state: CaseState, mode: int, which: int) -> str:
    if mode >= 7:
        return ALL_KINDS[which % len(ALL_KINDS)]
    allowed = [k for k in SAMPLE_PAYLOADS if (state, COMMAND_TYPES[k].trigger) in lifecycle().table]
    if mode <= 5:  # mostly move forward: no withdrawal or rejection
        allowed = [k for k in allowed if k not in ("WithdrawComplaint", "RejectComplaint")]
    kinds = [*allowed, "timer"]
    return kinds[which % len(kinds)]


def clock_key(clock: SlaClock | None) -> tuple[Any, ...] | None:
    return None if clock is None else (clock.stage, clock.started_at)


def run(steps: list[Step]) -> tuple[Case, list[Event], list[Any]]:
    wf = workflow()
    now: datetime = T0
    case, events = wf.handle(None, intake(), now)
    assert case is not None
    log: list[Event] = list(events)
    history: list[tuple[Case, datetime]] = [(case, now)]
    top = policy().ladder.top
    for i, (mode, which, variant, officer, minutes) in enumerate(steps):
        now += timedelta(minutes=minutes)
        kind = pick(case.state, mode, which)
        if kind == "timer":
            message: Any = wf.timer_message(case, now)
        else:
            extra = VARIANTS.get(kind, [{}])
            payload = extra[variant % len(extra)]
            actor = OFFICER if officer else DEFAULT_ACTOR[kind]
            message = command(kind, case.case_id, at=now, event_id=f"p-{i}", actor=actor, **payload)
        before = case
        decided = wf.decide(case, message, now)
        # fold one event at a time and check each state change against the table
        for event in decided:
            new = wf.evolve(case, event)
            if new.state is not case.state:
                assert case.state not in FINAL_STATES, "left a final state"
                dest = EVENT_STATE[event.type]
                assert any(
                    t.dest is dest for (s, _), t in lifecycle().table.items() if s is case.state
                ), (case.state, event.type)
            case = new
        log.extend(decided)
        # invariants of the snapshot
        assert case.state in CaseState
        assert case.escalation_level <= top
        # Per agency the level only rises (a hand-over may lower the case's current level).
        for agency in {escalation_agency(before), *(r.agency for r in before.escalation_history)}:
            assert level_reached(before, agency) <= level_reached(case, agency), agency
        assert escalation_agency(case) not in {r.agency for r in case.escalation_history}
        assert case.version == before.version + len(decided)
        instants = [
            t
            for t in (
                case.timers.clock_next_at,
                case.timers.reporter_due_at,
                case.timers.escalation_due_at,
            )
            if t is not None
        ]
        assert case.wake_at == (min(instants) if instants else None)
        if case.is_final:
            assert case.wake_at is None
        # applying the same message again changes nothing
        again, repeated = wf.handle(case, message, now)
        assert repeated == []
        assert again == case
        history.append((case, now))
    return case, log, history


@settings(deadline=None, max_examples=150)
@given(st.lists(step, min_size=3, max_size=40))
def test_random_sequences_keep_invariants_and_replay_exactly(
    steps: list[Step],
) -> None:
    case, log, _ = run(steps)
    assert workflow().replay(log) == case
    assert workflow().replay([parse_event(encode(e)) for e in log]) == case
    assert Case.model_validate_json(case.model_dump_json()) == case


@settings(deadline=None, max_examples=100)
@given(st.lists(step, min_size=3, max_size=40))
def test_sla_elapsed_never_decreases_and_never_counts_paused_time(
    steps: list[Step],
) -> None:
    _, _, history = run(steps)
    wf = workflow()
    for (prev, t0), (cur, t1) in itertools.pairwise(history):
        a, b = prev.timers.clock, cur.timers.clock
        if a is None or b is None or clock_key(a) != clock_key(b):
            continue
        cal = wf.calendar(cur.triage_agency if a.stage == "verification" else cur.agency)
        before, after = elapsed_seconds(a, t0, cal), elapsed_seconds(b, t1, cal)
        assert after >= before - 1e-6
        if a.running_since is None:  # paused during (t0, t1]: nothing counted
            assert after == before
