"""The chaos run's oracle on the shape the short run reported as "neither" (issue 12): a worker
sends a ``TimerFired`` whose deadline the processing worker has not reached yet (it does
nothing), the case moves on, and the same timer (same id) is applied later. The oracle must
apply the timer where the engine did, not at its first copy with the later copy's instant; and a
deadline the engine never acted on must show, not be hidden by that rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chaos import seam
from chaos.oracle import CaseInput, EngineOutput, Oracle
from chaos.traffic import VERIFIER, Traffic

START = datetime.fromisoformat("2026-12-07T09:00:00+09:00")


class Worker:
    """What the engine does with one message at the processing worker's instant."""

    def __init__(self) -> None:
        self.workflow = seam.Workflow(seam.load_policy())
        self.output = EngineOutput()
        self.inputs = CaseInput()
        self.case: Any = None

    def process(self, message: Any, now: datetime, redelivered: bool = False) -> int:
        """``redelivered``: the same record again (after a kill), not a new one on the topic."""
        raw = seam.encode(message)
        is_intake = message.type == "ComplaintSubmitted"
        if not redelivered:
            (self.inputs.intake if is_intake else self.inputs.commands).append(raw)
        new_case, events = self.workflow.handle(self.case, message, now)
        for event in events:
            self.output.add_event(seam.encode(event))
        self.case = new_case
        self.output.snapshots[new_case.case_id] = new_case.model_dump_json().encode()
        return len(events)


def _opened() -> tuple[Worker, Any]:
    worker = Worker()
    intake = next(iter(Traffic(7, 1, 1, lambda: START)))
    assert worker.process(seam.parse_intake(intake.value), START) > 0
    return worker, worker.case


def _formal(case_id: str, now: datetime) -> Any:
    return seam.CompleteFormalVerification(
        event_id="a7a3c2a4-1b7e-4b0e-9b55-2f0d8f7e0c11",
        occurred_at=now,
        case_id=case_id,
        payload=seam.NotePayload(actor=VERIFIER),
    )


def test_a_timer_copy_before_its_deadline_does_nothing_in_the_oracle_either() -> None:
    """Fails on the oracle of the first chaos run (it applied the early copy at its own
    ``occurred_at`` and expected an SLA warning the engine rightly never wrote)."""
    worker, case = _opened()
    due = case.wake_at
    assert due is not None
    timer = worker.workflow.timer_message(case, due + timedelta(hours=1))
    assert worker.process(timer, due - timedelta(hours=1)) == 0
    # The verifier asks the reporter a question: the deadline the timer was for is gone.
    ask = seam.RequestInformation(
        event_id="5d0c1e9e-3f8a-4a52-8d0e-6a1b2c3d4e5f",
        occurred_at=due - timedelta(minutes=30),
        case_id=case.case_id,
        payload=seam.RequestInformationPayload(actor=VERIFIER, question="Puskesmas yang mana?"),
    )
    assert worker.process(ask, due - timedelta(minutes=30)) > 0
    assert worker.process(timer, due + timedelta(hours=2)) == 0  # no longer its deadline
    end = due + timedelta(hours=2)

    verdict = Oracle().judge({case.case_id: worker.inputs}, worker.output, end)

    assert [m.problems for m in verdict.mismatched] == []
    assert verdict.timers_not_acted_on == []


def test_a_timer_applies_at_the_copy_the_engine_applied_not_at_an_early_one() -> None:
    worker, case = _opened()
    due = case.wake_at
    assert due is not None
    # Sent by a worker whose clock was past the deadline, processed by one still before it.
    timer = worker.workflow.timer_message(case, due + timedelta(hours=1))
    assert worker.process(timer, due - timedelta(hours=1)) == 0
    before = due - timedelta(minutes=30)
    assert worker.process(_formal(case.case_id, before), before) > 0
    assert worker.process(timer, due + timedelta(hours=2)) > 0  # the same id, now due

    verdict = Oracle().judge({case.case_id: worker.inputs}, worker.output, due + timedelta(hours=2))

    assert [m.problems for m in verdict.mismatched] == []
    assert verdict.duplicate_events == verdict.missing_events == 0


def test_a_deadline_the_engine_never_acted_on_is_reported() -> None:
    worker, case = _opened()
    due = case.wake_at
    assert due is not None
    timer = worker.workflow.timer_message(case, due + timedelta(hours=1))
    assert worker.process(timer, due - timedelta(hours=1)) == 0  # and never again

    verdict = Oracle().judge({case.case_id: worker.inputs}, worker.output, due + timedelta(days=1))

    assert verdict.mismatched == []  # the engine's case is what the core makes of its input
    assert verdict.timers_not_acted_on == [case.case_id]


def test_a_timer_the_engine_applied_only_when_its_record_was_redelivered() -> None:
    """Seen in the short run: the one copy of a timer on the topic did nothing when first
    processed; after a kill the record came again, after a later command, and then acted."""
    worker, case = _opened()
    due = case.wake_at
    assert due is not None
    timer = worker.workflow.timer_message(case, due + timedelta(hours=1))
    assert worker.process(timer, due - timedelta(hours=1)) == 0
    before = due - timedelta(minutes=30)
    assert worker.process(_formal(case.case_id, before), before) > 0
    assert worker.process(timer, due + timedelta(hours=2), redelivered=True) > 0

    verdict = Oracle().judge({case.case_id: worker.inputs}, worker.output, due + timedelta(hours=2))

    assert [m.problems for m in verdict.mismatched] == []
