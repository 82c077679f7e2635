"""Property tests: random message sequences against the lifecycle invariants.

Random sequences never reach an invalid state; replaying the events rebuilds the case; any earlier
message (intake, command or timer) redelivered at any later point changes nothing; per agency the
escalation level never falls; the SLA stage clock's elapsed time never decreases and never counts
paused time.
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
    st.none() | st.integers(0, 1000),  # then redeliver this earlier message (None: none)
)
ALL_KINDS = [*sorted(SAMPLE_PAYLOADS), "timer"]
Step = tuple[int, int, int, bool, int, int | None]


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


def assert_redelivery_changes_nothing(
    wf: Any, case: Case, message: Any, now: datetime, acted: set[str]
) -> None:
    """``message`` again at ``now`` does nothing if it ever acted (``acted``: the ids of the
    messages that caused events). A timer that found nothing to do may act later, once."""
    again, repeated = wf.handle(case, message, now)
    if message.type == "TimerFired" and message.event_id not in acted:
        return
    assert repeated == [], (message.type, message.event_id, [e.type for e in repeated])
    assert again == case


def run(steps: list[Step]) -> tuple[Case, list[Event], list[Any]]:
    wf = workflow()
    now: datetime = T0
    first = intake()
    case, events = wf.handle(None, first, now)
    assert case is not None
    log: list[Event] = list(events)
    sent: list[Any] = [first]
    acted = {first.event_id}
    history: list[tuple[Case, datetime]] = [(case, now)]
    top = policy().ladder.top
    for i, (mode, which, variant, officer, minutes, redeliver) in enumerate(steps):
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
        if decided:
            acted.add(message.event_id)
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
                case.timers.reporter_remind_at,
            )
            if t is not None
        ]
        assert case.wake_at == (min(instants) if instants else None)
        if case.is_final:
            assert case.wake_at is None
        # applying the same message again changes nothing, nor does any earlier one, later
        assert_redelivery_changes_nothing(wf, case, message, now, acted)
        sent.append(message)
        if redeliver is not None:
            assert_redelivery_changes_nothing(wf, case, sent[redeliver % len(sent)], now, acted)
        history.append((case, now))
    later = now + timedelta(days=400)
    for message in sent:
        assert_redelivery_changes_nothing(wf, case, message, later, acted)
    assert len({e.event_id for e in log}) == len(log), "an event id appeared twice"
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


@settings(deadline=None, max_examples=40)
@given(st.lists(step, min_size=45, max_size=120))
def test_long_lives_never_apply_a_message_twice(steps: list[Step]) -> None:
    """Hypothesis keeps lists short; a redelivery long after the original needs long lives
    (the engine once remembered only the last 32 messages)."""
    case, log, _ = run(steps)
    assert workflow().replay(log) == case


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
