"""The agency asks the reporter during follow-up or resolution (issue 15 part 6): the state stays,
the stage clock pauses until the answer or the reporter's deadline, then resumes in the agency's
working calendar, its deadline moved by exactly the working time the case waited."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from test_core_support import OFFICER, VERIFIER, Driver, agency_actor, workflow

from states.lifecycle import CaseState
from workflow.sla import SlaClock, Stage, remaining_seconds
from workflow.values import Timers

HOUR = timedelta(hours=1)
AGENCY = "DINKES"  # where the sample complaint is routed


def _clock(timers: Timers) -> SlaClock:
    assert timers.clock is not None
    return timers.clock


def _remaining(d: Driver, clock: SlaClock, at: datetime) -> float:
    cal = workflow().calendar(d.c.agency)
    return remaining_seconds(clock, at, cal)


def _agency_case(state: CaseState) -> Driver:
    d = Driver().to("CompleteFormalVerification", "CompleteMaterialVerification")
    if state is CaseState.IN_PROGRESS:
        d.to("AcceptReferral", "PostFollowUpPlan")
    assert d.c.state is state
    assert d.c.agency == AGENCY
    return d


def _ask(d: Driver, after: timedelta = HOUR) -> None:
    d.send("RequestInformation", after=after, actor=agency_actor(AGENCY), question="Nomor rumah?")
    assert d.types() == ["InformationRequested"], d.last


@pytest.mark.parametrize(
    ("state", "stage"),
    [(CaseState.REFERRED, Stage.FOLLOW_UP_PLAN), (CaseState.IN_PROGRESS, Stage.RESOLUTION)],
)
def test_agency_question_pauses_its_clock_until_the_answer(state: CaseState, stage: Stage) -> None:
    d = _agency_case(state)
    _ask(d)
    asked_at, before = d.now, _clock(d.c.timers)
    assert d.c.state is state  # no second copy of verification's waiting state
    assert before.stage is stage
    assert before.running_since is None
    waiting = d.c.timers.reporter_clock
    assert waiting is not None
    assert waiting.stage is Stage.REPORTER_INFORMATION
    assert d.c.timers.escalation_due_at is None
    assert d.c.wake_at == d.c.timers.reporter_remind_at  # no warning or breach while paused
    left = _remaining(d, before, asked_at)
    assert left == _remaining(d, before, asked_at + timedelta(days=4))  # paused: time stands

    d.send("ProvideInformation", after=timedelta(days=3), text="Nomor 12, pagar hijau")
    assert d.types() == ["InformationProvided"]
    assert d.c.state is state
    resumed = _clock(d.c.timers)
    assert resumed.running_since == d.now
    assert resumed.spent_seconds == before.spent_seconds
    assert d.c.timers.reporter_clock is None
    # The deadline moved by the paused working time: what was left when asked is left now.
    assert _remaining(d, resumed, d.now) == pytest.approx(left)
    assert d.c.wake_at == d.c.timers.clock_next_at is not None


def test_unanswered_agency_question_lapses_and_the_clock_resumes_at_the_deadline() -> None:
    d = _agency_case(CaseState.IN_PROGRESS)
    _ask(d)
    left = _remaining(d, _clock(d.c.timers), d.now)
    due = d.c.timers.reporter_due_at
    assert due is not None
    assert due - d.now >= timedelta(days=30)
    assert [e.type for e in d.tick()] == ["ReporterReminderIssued"]
    assert d.tick(due - timedelta(seconds=1)) == []
    d.tick(due + HOUR)  # the timer may fire late: the clock still resumes at the deadline
    assert d.types()[0] == "InformationRequestLapsed"
    assert d.c.state is CaseState.IN_PROGRESS  # the agency goes on; no withdrawal
    resumed = _clock(d.c.timers)
    assert resumed.running_since == due
    assert d.c.timers.reporter_clock is None
    assert _remaining(d, resumed, due) == pytest.approx(left)
    assert d.tick(due + HOUR) == []  # redelivered timer: nothing twice


def test_a_late_answer_after_the_lapse_is_refused_not_applied_twice() -> None:
    d = _agency_case(CaseState.REFERRED)
    _ask(d)
    d.tick(d.c.timers.reporter_due_at)
    version = d.c.version
    (rejected,) = d.send("ProvideInformation", after=HOUR)
    assert rejected.type == "CommandRejected"
    assert rejected.payload.detail.startswith("waiting_on_reporter")
    assert d.c.version == version + 1
    assert d.c.state is CaseState.REFERRED


@pytest.mark.parametrize(
    ("path", "actor", "guard"),
    [
        (("CompleteFormalVerification", "CompleteMaterialVerification"), VERIFIER, "agency_actor"),
        (
            ("CompleteFormalVerification", "CompleteMaterialVerification"),
            agency_actor("PUPR"),
            "responsible_agency",
        ),
        (("CompleteFormalVerification",), agency_actor(AGENCY), "verification_actor"),
    ],
)
def test_who_may_ask_in_which_stage(
    path: tuple[str, ...], actor: dict[str, str], guard: str
) -> None:
    d = Driver().to(*path)
    (rejected,) = d.send("RequestInformation", after=HOUR, actor=actor)
    assert rejected.payload.reason_code == "guard_failed"
    assert rejected.payload.detail.startswith(guard)


def test_one_question_at_a_time_and_no_answer_without_a_question() -> None:
    d = _agency_case(CaseState.REFERRED)
    (unasked,) = d.send("ProvideInformation", after=HOUR)
    assert unasked.payload.detail.startswith("waiting_on_reporter")
    _ask(d)
    (second,) = d.send("RequestInformation", after=HOUR, actor=OFFICER)
    assert second.payload.detail.startswith("not_waiting_on_reporter")


def test_the_agency_may_go_on_while_it_waits() -> None:
    d = _agency_case(CaseState.REFERRED)
    _ask(d)
    d.send("AcceptReferral", after=HOUR)
    assert d.c.state is CaseState.IN_PROGRESS
    assert d.c.timers.reporter_clock is not None
    d.send("PostFollowUpPlan", after=HOUR)  # a plan starts the resolution clock: the wait ends
    assert _clock(d.c.timers).stage is Stage.RESOLUTION
    assert d.c.timers.reporter_clock is None


def test_verification_question_still_awaits_information_and_withdraws() -> None:
    d = Driver().to("CompleteFormalVerification")
    d.send("RequestInformation", after=HOUR)
    assert d.c.state is CaseState.AWAITING_INFORMATION
    d.tick(d.c.timers.reporter_due_at)
    assert d.types() == ["WithdrawnForMissingInformation"]
