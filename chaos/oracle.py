"""The oracle: the pure core applied to each case's messages in the order they were written.

Per case the input is its intake record (``complaints.intake``) followed by its records on
``cases.commands`` in partition order, which includes the SLA timer's ``TimerFired`` commands
the workers wrote there. A command written before its intake is held and applied right after it,
as the architecture promises. A message applies at most once in a case's whole life, so the oracle
skips every message id it has already applied, however long ago (the core's own memory of applied
ids is bounded; the oracle's is not).

The instant a message is applied at is the engine's: the ``occurred_at`` of the events it caused
(every event carries the ``now`` it was decided at, and its ``causation_id``). A message that
caused no event on the engine's side is applied at its own ``occurred_at``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chaos import seam


@dataclass
class CaseInput:
    intake: list[bytes] = field(default_factory=list)
    commands: list[bytes] = field(default_factory=list)
    overtaking: set[str] = field(default_factory=set)  # command ids written before the intake


@dataclass
class EngineOutput:
    """What the engine wrote, per case: events (read committed) and the last snapshot."""

    events: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    snapshots: dict[str, bytes] = field(default_factory=dict)
    applied_at: dict[str, datetime] = field(default_factory=dict)  # causation id -> now

    def add_event(self, raw: bytes) -> Any:
        event = seam.parse_event(raw)
        self.events[event.case_id].append(event)
        if event.causation_id is not None:
            self.applied_at.setdefault(event.causation_id, event.occurred_at)
        return event


@dataclass
class CaseVerdict:
    case_id: str
    problems: list[str]
    overtaking: bool


@dataclass
class Verdict:
    cases: int = 0
    mismatched: list[CaseVerdict] = field(default_factory=list)
    duplicate_events: int = 0
    missing_events: int = 0
    extra_events: int = 0
    breaches_expected: int = 0
    breaches_emitted: int = 0
    unreadable_input: int = 0
    expected_types: Counter[str] = field(default_factory=Counter)


class Oracle:
    def __init__(self) -> None:
        self.workflow = seam.Workflow(seam.load_policy())

    def replay_case(self, inputs: CaseInput, output: EngineOutput) -> tuple[Any, list[Any], int]:
        """The case the core makes of ``inputs``, its events, and the unreadable input count."""
        case: Any = None
        events: list[Any] = []
        applied: set[str] = set()
        unreadable = 0
        for raw, parse in self._ordered(inputs):
            try:
                message = parse(raw)
            except seam.InvalidMessage:
                unreadable += 1
                continue
            if message.event_id in applied:
                continue
            now = output.applied_at.get(message.event_id, message.occurred_at)
            case, produced = self.workflow.handle(case, message, now)
            if produced and case is not None:  # an unknown-case rejection is no case event
                applied.add(message.event_id)
                events.extend(produced)
        return case, events, unreadable

    def _ordered(self, inputs: CaseInput) -> list[tuple[bytes, Any]]:
        ordered: list[tuple[bytes, Any]] = [(raw, seam.parse_intake) for raw in inputs.intake]
        ordered += [(raw, _parse_command_or_intake) for raw in inputs.commands]
        return ordered

    def judge(self, inputs: dict[str, CaseInput], output: EngineOutput) -> Verdict:
        verdict = Verdict()
        for case_id, case_inputs in inputs.items():
            verdict.cases += 1
            expected_case, expected, unreadable = self.replay_case(case_inputs, output)
            verdict.unreadable_input += unreadable
            problems = self._compare(case_id, expected_case, expected, output, verdict)
            if problems:
                overtaking = bool(case_inputs.overtaking)
                verdict.mismatched.append(CaseVerdict(case_id, problems, overtaking))
        return verdict

    def _compare(
        self,
        case_id: str,
        expected_case: Any,
        expected: list[Any],
        output: EngineOutput,
        verdict: Verdict,
    ) -> list[str]:
        problems: list[str] = []
        written = output.events.get(case_id, [])
        counts = Counter(e.event_id for e in written)
        duplicates = sum(n - 1 for n in counts.values())
        expected_by_id = {e.event_id: e for e in expected}
        missing = [e for e in expected if e.event_id not in counts]
        extra = [e for e in written if e.event_id not in expected_by_id]
        differing = [
            e.event_id
            for e in written
            if e.event_id in expected_by_id and e != expected_by_id[e.event_id]
        ]
        verdict.duplicate_events += duplicates
        verdict.missing_events += len(missing)
        verdict.extra_events += len(extra)
        verdict.expected_types.update(e.type for e in expected)
        verdict.breaches_expected += sum(1 for e in expected if e.type == "SlaBreached")
        verdict.breaches_emitted += len({e.event_id for e in written if e.type == "SlaBreached"})
        if duplicates:
            problems.append(f"{duplicates} duplicate event ids on cases.events")
        if missing:
            problems.append(f"missing events {', '.join(sorted({e.type for e in missing}))}")
        if extra:
            problems.append(f"unexpected events {', '.join(sorted({e.type for e in extra}))}")
        if differing:
            problems.append(f"{len(differing)} events differ in content")
        snapshot = output.snapshots.get(case_id)
        actual = seam.Case.model_validate_json(snapshot) if snapshot is not None else None
        if actual != expected_case:
            problems.append(_snapshot_difference(expected_case, actual))
        return problems


def _parse_command_or_intake(raw: bytes) -> Any:
    try:
        return seam.parse_command(raw)
    except seam.InvalidMessage:
        return seam.parse_intake(raw)


def _snapshot_difference(expected: Any, actual: Any) -> str:
    if actual is None or expected is None:
        return f"snapshot: expected {_brief(expected)}, cases.state has {_brief(actual)}"
    mine, theirs = expected.model_dump(), actual.model_dump()
    fields = sorted(k for k in mine if mine[k] != theirs.get(k))
    shown = ", ".join(f"{k}: {_short(mine[k])} != {_short(theirs.get(k))}" for k in fields[:3])
    return f"snapshot differs ({shown})"


def _brief(case: Any) -> str:
    return "none" if case is None else f"{case.state.value} v{case.version}"


def _short(value: Any) -> str:
    text = str(value.value if hasattr(value, "value") else value)
    return text if len(text) <= 40 else text[:37] + "..."
