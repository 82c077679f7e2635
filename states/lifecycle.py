"""The complaint lifecycle as data, compiled once into a shared `transitions.Machine`.

States follow DOMAIN.md (SP4N-LAPOR! and Ombudsman practice): a complaint is *received*, goes
through formal and material *verifying* (possibly *awaiting_information* from the reporter), is
*verified* and *referred* (disposisi) to an agency, which works on it (*in_progress*) until it is
*resolved*; the reporter confirms (*closed*) or disputes it (back to *in_progress*). *rejected*
and *withdrawn* are the other final states. The agency too may ask the reporter (in *referred* or
*in_progress*): the state stays, and whether the case waits on the reporter is its reporter
clock (as for a resolution's confirmation), not another state, so the agency's commands stay
allowed while it waits.

Why the escalation level is an orthogonal attribute and not nested states: escalation can happen
in every working state (verification escalates at the triage desk, referral and resolution at the
agency), and the level never decides which commands are allowed. Nesting would multiply the
seven non-final states by the ladder's height (which differs per agency, from configuration),
making the table and its diagram depend on the policy. So the case carries ``escalation_level``
(0 = not escalated) beside ``state``, counted on the ladder of the agency that is late
(`workflow.escalation_state`); the escalation triggers are SLA events, not transitions.

The table below is the single source of truth for "which command is allowed in which state":
`lifecycle()` compiles it into one `transitions.Machine(model=None, ...)` (a transition table,
never a machine per case) and derives from that machine the plain dict
``{(state, trigger): Transition}`` used on the hot path (a dict lookup instead of a ~5 µs
``transitions`` trigger). Guards are named here and implemented in `workflow.guards` (they need
the case, the command and the policy); every name below must have an implementation there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from transitions import Machine

__all__ = [
    "FINAL_STATES",
    "GUARDS",
    "INITIAL_STATE",
    "ORTHOGONAL_TRIGGERS",
    "TRANSITIONS",
    "CaseState",
    "Lifecycle",
    "Transition",
    "TransitionSpec",
    "lifecycle",
]


class CaseState(StrEnum):
    """Where a case is in its lifecycle."""

    RECEIVED = "received"
    VERIFYING = "verifying"
    AWAITING_INFORMATION = "awaiting_information"
    VERIFIED = "verified"
    REFERRED = "referred"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


S = CaseState
INITIAL_STATE = S.RECEIVED
FINAL_STATES: frozenset[CaseState] = frozenset({S.CLOSED, S.REJECTED, S.WITHDRAWN})
NON_FINAL: tuple[CaseState, ...] = tuple(s for s in S if s not in FINAL_STATES)


@dataclass(frozen=True, slots=True)
class TransitionSpec:
    """One row of the table as declared: ``trigger`` from any of ``sources`` to ``dest``
    (None = stay in the source state: an internal transition), allowed only if every guard
    holds."""

    trigger: str
    sources: tuple[CaseState, ...]
    dest: CaseState | None
    guards: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Transition:
    """One compiled (source, trigger) edge."""

    trigger: str
    source: CaseState
    dest: CaseState
    guards: tuple[str, ...]

    @property
    def internal(self) -> bool:
        """True when the state does not change."""
        return self.source is self.dest


GUARDS: dict[str, str] = {
    "has_agency": "a referral needs a responsible agency",
    "known_agency": "the named agency must exist in the policy",
    "different_agency": "a reassignment must name a different agency",
    "responsible_agency": "an agency actor may act only on cases referred to its agency",
    "has_resolution_text": "a resolution needs a non-blank resolution text",
    "plan_not_posted": "the follow-up plan was already posted",
    "within_reopen_window": "a resolution can be disputed only within the reopen window",
    "below_top_level": "the case is already at the top escalation level",
    "not_taken_over": "the case is already taken over by an officer",
    "taken_over": "the case is not taken over by an officer",
    "verification_actor": "only a verifier or an officer asks the reporter during verification",
    "agency_actor": "only the agency or an officer asks the reporter during the agency's work",
    "not_waiting_on_reporter": "the case already waits on the reporter's answer",
    "waiting_on_reporter": "the case does not wait on the reporter's answer",
}
"""Guard name -> what it requires (the text of a ``guard_failed`` rejection)."""

ORTHOGONAL_TRIGGERS = frozenset({"escalate_manually", "take_over", "refer_back"})
"""Officer actions allowed in (almost) every working state that never change the state; the
diagram lists them in a note instead of drawing a loop on every state."""

TRANSITIONS: tuple[TransitionSpec, ...] = (
    TransitionSpec("complete_formal_verification", (S.RECEIVED,), S.VERIFYING),
    TransitionSpec(
        "request_information",
        (S.RECEIVED, S.VERIFYING),
        S.AWAITING_INFORMATION,
        ("verification_actor",),
    ),
    TransitionSpec("provide_information", (S.AWAITING_INFORMATION,), S.VERIFYING),
    TransitionSpec("information_timeout", (S.AWAITING_INFORMATION,), S.WITHDRAWN),
    # The agency asks the reporter during follow-up or resolution: the state stays, the stage
    # clock pauses until the answer or the reporter's deadline (then the agency goes on).
    TransitionSpec(
        "request_information",
        (S.REFERRED, S.IN_PROGRESS),
        None,
        ("agency_actor", "responsible_agency", "not_waiting_on_reporter"),
    ),
    TransitionSpec(
        "provide_information", (S.REFERRED, S.IN_PROGRESS), None, ("waiting_on_reporter",)
    ),
    TransitionSpec("information_lapsed", (S.REFERRED, S.IN_PROGRESS), None),
    TransitionSpec("complete_material_verification", (S.VERIFYING,), S.VERIFIED, ("known_agency",)),
    TransitionSpec("refer", (S.VERIFIED,), S.REFERRED, ("has_agency",)),
    TransitionSpec(
        "reject", (S.RECEIVED, S.VERIFYING, S.AWAITING_INFORMATION, S.VERIFIED), S.REJECTED
    ),
    TransitionSpec("accept_referral", (S.REFERRED,), S.IN_PROGRESS, ("responsible_agency",)),
    TransitionSpec("return_referral", (S.REFERRED,), None, ("responsible_agency",)),
    TransitionSpec(
        "post_follow_up_plan",
        (S.REFERRED, S.IN_PROGRESS),
        S.IN_PROGRESS,
        ("responsible_agency", "plan_not_posted"),
    ),
    TransitionSpec(
        "resolve", (S.IN_PROGRESS,), S.RESOLVED, ("responsible_agency", "has_resolution_text")
    ),
    TransitionSpec("confirm_resolution", (S.RESOLVED,), S.CLOSED),
    TransitionSpec("silence_timeout", (S.RESOLVED,), S.CLOSED),
    TransitionSpec("dispute_resolution", (S.RESOLVED,), S.IN_PROGRESS, ("within_reopen_window",)),
    TransitionSpec(
        "reassign_agency",
        (S.VERIFIED, S.REFERRED, S.IN_PROGRESS),
        S.REFERRED,
        ("known_agency", "different_agency"),
    ),
    TransitionSpec("withdraw", NON_FINAL, S.WITHDRAWN),
    TransitionSpec(
        "escalate_manually",
        (S.RECEIVED, S.VERIFYING, S.VERIFIED, S.REFERRED, S.IN_PROGRESS),
        None,
        ("below_top_level",),
    ),
    TransitionSpec("take_over", NON_FINAL, None, ("not_taken_over",)),
    TransitionSpec("refer_back", NON_FINAL, None, ("taken_over",)),
)
"""The lifecycle. Triggers are the snake_case names the commands declare (``Command.trigger``);
``refer``, ``information_timeout``, ``information_lapsed`` and ``silence_timeout`` are fired by the
core itself."""


class Lifecycle:
    """The compiled lifecycle: the shared machine plus the hot-path dict derived from it."""

    def __init__(self, specs: tuple[TransitionSpec, ...] = TRANSITIONS) -> None:
        self.specs = specs
        self.states: tuple[CaseState, ...] = tuple(CaseState)
        self.initial: CaseState = INITIAL_STATE
        self.finals: frozenset[CaseState] = FINAL_STATES
        self.machine: Any = Machine(
            model=None,
            states=[s.value for s in self.states],
            transitions=[
                {
                    "trigger": spec.trigger,
                    "source": [s.value for s in spec.sources],
                    "dest": None if spec.dest is None else spec.dest.value,
                    "conditions": list(spec.guards),
                }
                for spec in specs
            ],
            initial=self.initial.value,
            auto_transitions=False,
        )
        self.table: dict[tuple[CaseState, str], Transition] = self._derive()
        self.triggers: frozenset[str] = frozenset(t for _, t in self.table)

    def _derive(self) -> dict[tuple[CaseState, str], Transition]:
        table: dict[tuple[CaseState, str], Transition] = {}
        for trigger, event in self.machine.events.items():
            for source, edges in event.transitions.items():
                for edge in edges:
                    src = CaseState(source)
                    if (src, trigger) in table:
                        raise ValueError(f"two transitions for {trigger!r} from {src.value!r}")
                    dest = src if edge.dest is None else CaseState(edge.dest)
                    guards = tuple(str(c.func) for c in edge.conditions)
                    table[src, trigger] = Transition(trigger, src, dest, guards)
        return table

    def allowed(self, state: CaseState) -> list[str]:
        """Triggers allowed in ``state`` (guards not evaluated), sorted."""
        return sorted(t for (s, t) in self.table if s is state)

    def edges(self) -> list[Transition]:
        """Every compiled edge, in table order."""
        return list(self.table.values())


@cache
def lifecycle() -> Lifecycle:
    """The shared compiled lifecycle (built on first use, once per process)."""
    return Lifecycle()
