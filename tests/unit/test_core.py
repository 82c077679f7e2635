"""Rules of decide/evolve, one test (or table) per rule, with a controllable clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from test_core_support import (
    EMAIL,
    NAME,
    OFFICER,
    PHONE,
    PHONE_RAW,
    SAMPLE_PAYLOADS,
    T0,
    Driver,
    agency_actor,
    command,
    intake,
    policy,
    workflow,
)

from states.lifecycle import FINAL_STATES, CaseState, lifecycle
from workflow.case import Case
from workflow.codec import encode, parse_event
from workflow.commands import COMMAND_TYPES
from workflow.core import Workflow
from workflow.fastpaths import event_id_for
from workflow.sla import Stage

HOUR = timedelta(hours=1)

PATHS: dict[CaseState, tuple[str, ...]] = {
    CaseState.RECEIVED: (),
    CaseState.VERIFYING: ("CompleteFormalVerification",),
    CaseState.AWAITING_INFORMATION: ("RequestInformation",),
    CaseState.REFERRED: ("CompleteFormalVerification", "CompleteMaterialVerification"),
    CaseState.IN_PROGRESS: (
        "CompleteFormalVerification",
        "CompleteMaterialVerification",
        "AcceptReferral",
    ),
    CaseState.RESOLVED: (
        "CompleteFormalVerification",
        "CompleteMaterialVerification",
        "AcceptReferral",
        "ResolveComplaint",
    ),
    CaseState.CLOSED: (
        "CompleteFormalVerification",
        "CompleteMaterialVerification",
        "AcceptReferral",
        "ResolveComplaint",
        "ConfirmResolution",
    ),
    CaseState.REJECTED: ("RejectComplaint",),
    CaseState.WITHDRAWN: ("WithdrawComplaint",),
}


def in_state(state: CaseState) -> Driver:
    if state is CaseState.VERIFIED:  # transient inside one decision: build it by hand
        d = Driver().to("CompleteFormalVerification")
        d.case = d.c.model_copy(update={"state": CaseState.VERIFIED, "agency": "DINKES"})
        return d
    d = Driver().to(*PATHS[state])
    assert d.c.state is state
    return d


# -- intake ------------------------------------------------------------------------------------


def test_intake_opens_a_case_with_routing_and_the_verification_clock() -> None:
    d = Driver()
    (opened,) = d.events
    assert opened.type == "CaseOpened"
    assert d.c.state is CaseState.RECEIVED
    assert d.c.version == 1
    assert d.c.case_id == intake().derived_case_id == opened.case_id
    assert opened.payload.suggested_agency == "DINKES"  # keyword "puskesmas"
    clock = d.c.timers.clock
    assert clock is not None
    assert clock.stage is Stage.VERIFICATION
    assert clock.started_at == T0
    assert clock.running_since == T0
    assert d.c.wake_at == d.c.timers.clock_next_at is not None
    assert opened.causation_id == opened.correlation_id == "intake-1"


def test_duplicate_intake_yields_nothing() -> None:
    d = Driver()
    assert workflow().decide(d.c, intake(), T0 + HOUR) == []


def test_command_for_unknown_case_is_rejected_and_creates_no_case() -> None:
    cmd = command("AcceptReferral", "ADU-NONE-NONE-NONE")
    case, events = workflow().handle(None, cmd, T0)
    assert case is None
    (rejected,) = events
    assert rejected.type == "CommandRejected"
    assert rejected.payload.reason_code == "unknown_case"
    assert rejected.case_id == "ADU-NONE-NONE-NONE"


# -- every command in every state ---------------------------------------------------------------


@pytest.mark.parametrize("state", list(CaseState))
@pytest.mark.parametrize("type_", sorted(SAMPLE_PAYLOADS))
def test_every_command_in_every_state(state: CaseState, type_: str) -> None:
    d = in_state(state)
    events = d.send(type_, after=HOUR, actor=OFFICER)
    allowed = (state, COMMAND_TYPES[type_].trigger) in lifecycle().table
    rejections = [e for e in events if e.type == "CommandRejected"]
    if allowed:
        assert not any(r.payload.reason_code == "not_allowed_in_state" for r in rejections)
    else:
        (rejected,) = events
        assert rejected.payload.reason_code == "not_allowed_in_state"
        assert f"in state '{state.value}'" in rejected.payload.detail
        assert d.c.state is state
    if state in FINAL_STATES:
        assert d.c.state is state


def test_rejected_command_counts_as_applied() -> None:
    d = Driver()
    cmd = command("AcceptReferral", d.c.case_id, event_id="once")
    assert d.apply(cmd)[0].type == "CommandRejected"
    version = d.c.version
    assert d.apply(cmd) == []
    assert d.c.version == version


def test_role_not_allowed_is_forbidden() -> None:
    d = Driver()
    (rejected,) = d.send("CompleteFormalVerification", actor={"id": "r", "role": "reporter"})
    assert rejected.payload.reason_code == "forbidden"
    assert "payload.actor.role" in rejected.payload.detail


# -- guards ------------------------------------------------------------------------------------


def guard_rejection(events: list[Any]) -> str:
    (rejected,) = events
    assert rejected.type == "CommandRejected"
    assert rejected.payload.reason_code == "guard_failed"
    return str(rejected.payload.detail)


def test_guard_known_agency() -> None:
    d = in_state(CaseState.VERIFYING)
    detail = guard_rejection(d.send("CompleteMaterialVerification", agency="NOPE"))
    assert detail.startswith("known_agency:")


def test_guard_has_agency_blocks_referral_without_agency() -> None:
    wf = workflow()
    d = in_state(CaseState.VERIFYING)
    no_route = d.c.model_copy(update={"suggested_agency": "GONE"})
    events = wf.decide(no_route, command("CompleteMaterialVerification", d.c.case_id), T0)
    assert guard_rejection(events).startswith("has_agency:")


def test_guard_different_agency_and_reassignment() -> None:
    d = in_state(CaseState.REFERRED)
    assert guard_rejection(d.send("ReassignAgency", agency=d.c.agency)).startswith(
        "different_agency:"
    )
    (event,) = d.send("ReassignAgency", agency="PUPR", after=HOUR)
    assert event.type == "AgencyReassigned"
    assert d.c.agency == "PUPR"
    assert d.c.timers.clock is not None
    assert d.c.timers.clock.stage is Stage.FOLLOW_UP_PLAN
    assert d.c.timers.clock.started_at == d.now


def test_guard_responsible_agency() -> None:
    d = in_state(CaseState.REFERRED)
    events = d.send("AcceptReferral", actor=agency_actor("PUPR"))
    assert guard_rejection(events).startswith("responsible_agency:")
    assert d.send("AcceptReferral", actor=agency_actor(d.c.agency))[0].type == "ReferralAccepted"


def test_guard_has_resolution_text() -> None:
    d = in_state(CaseState.IN_PROGRESS)
    assert guard_rejection(d.send("ResolveComplaint", resolution_text="   ")).startswith(
        "has_resolution_text:"
    )
    assert d.c.state is CaseState.IN_PROGRESS


def test_guard_plan_not_posted() -> None:
    d = in_state(CaseState.IN_PROGRESS)
    assert d.send("PostFollowUpPlan")[0].type == "FollowUpPlanPosted"
    assert guard_rejection(d.send("PostFollowUpPlan", after=HOUR)).startswith("plan_not_posted:")


def test_guard_taken_over_and_not_taken_over() -> None:
    d = Driver()
    assert guard_rejection(d.send("ReferBack")).startswith("taken_over:")
    assert d.send("TakeOver")[0].type == "CaseTakenOver"
    assert d.c.handler == "off-1"
    assert guard_rejection(d.send("TakeOver")).startswith("not_taken_over:")
    assert d.send("ReferBack")[0].type == "CaseReferredBack"
    assert d.c.handler is None


def test_manual_escalation_up_to_the_top_then_guard() -> None:
    d = in_state(CaseState.IN_PROGRESS)
    for level in (1, 2, 3):
        (event,) = d.send("EscalateManually", after=HOUR)
        assert event.type == "CaseEscalated"
        assert event.payload.level == level
        assert not event.payload.automatic
        assert d.c.escalation_level == level
        assert d.c.timers.escalation_due_at is not None
    assert guard_rejection(d.send("EscalateManually", after=HOUR)).startswith("below_top_level:")


# -- verification, information, referral ------------------------------------------------------


def test_material_verification_verifies_and_refers_in_one_decision() -> None:
    d = in_state(CaseState.VERIFYING)
    events = d.send("CompleteMaterialVerification", after=HOUR)
    assert [e.type for e in events] == ["CaseVerified", "CaseReferred"]
    assert events[0].payload.complaint_class == "normative"  # from category penundaan_berlarut
    assert d.c.state is CaseState.REFERRED
    assert d.c.agency == "DINKES"
    clock = d.c.timers.clock
    assert clock is not None
    assert clock.stage is Stage.FOLLOW_UP_PLAN
    assert clock.started_at == d.now
    assert d.c.timers.escalation_due_at is None
    assert [e.event_id for e in events] == [
        event_id_for(events[0].causation_id or "", i) for i in (0, 1)
    ]


def test_material_verification_naming_agency_and_class() -> None:
    d = in_state(CaseState.VERIFYING)
    d.send("CompleteMaterialVerification", agency="PUPR", complaint_class="light")
    assert d.c.agency == "PUPR"
    assert d.c.complaint_class == "light"


def test_missing_information_pauses_and_resumes_the_clock() -> None:
    d = in_state(CaseState.VERIFYING)
    before = d.c.timers.clock
    assert before is not None
    d.send("RequestInformation", at=T0 + timedelta(hours=3))
    paused = d.c.timers.clock
    assert paused is not None
    assert paused.running_since is None
    spent = paused.spent_seconds
    assert spent == pytest.approx(3 * 3600)
    assert d.c.timers.reporter_clock is not None
    assert d.c.timers.reporter_clock.stage is Stage.REPORTER_INFORMATION
    assert d.c.wake_at == d.c.timers.reporter_remind_at  # the reminder, before the deadline
    d.send("ProvideInformation", at=T0 + timedelta(days=9))
    resumed = d.c.timers.clock
    assert resumed is not None
    assert resumed.spent_seconds == spent
    assert resumed.running_since == d.now
    assert d.c.state is CaseState.VERIFYING
    assert d.c.timers.reporter_clock is None


def test_reporter_silence_on_missing_information_withdraws_after_30_calendar_days() -> None:
    d = in_state(CaseState.VERIFYING)
    d.send("RequestInformation", after=HOUR)
    due = d.c.timers.reporter_due_at
    assert due is not None
    assert due - d.now >= timedelta(days=30)
    d.tick()
    assert d.types() == ["ReporterReminderIssued"]
    assert d.c.wake_at == due
    assert d.tick(due - timedelta(seconds=1)) == []
    assert d.types() == []
    d.tick(due)
    assert d.types() == ["WithdrawnForMissingInformation"]
    assert d.c.state is CaseState.WITHDRAWN
    assert d.c.wake_at is None


def test_returned_referral_is_rerouted_excluding_returners_then_triage() -> None:
    d = in_state(CaseState.REFERRED)
    first = d.c.agency
    candidates = d.c.candidates
    assert candidates, "the default policy routes the sample to more than one agency"
    d.send("ReturnReferral", after=HOUR)
    assert d.types() == ["ReferralReturned", "CaseReferred"]
    assert d.c.agency == candidates[0] != first
    assert d.c.returned_by == (first,)
    while d.c.agency != policy().triage_agency:
        d.send("ReturnReferral", after=HOUR)
    assert d.last[-1].payload.rule == "triage"
    assert set(d.c.returned_by) >= {first, candidates[0]}
    assert d.c.state is CaseState.REFERRED


# -- follow-up, resolution, reopening ----------------------------------------------------------


def test_follow_up_plan_starts_the_resolution_clock_by_class() -> None:
    d = in_state(CaseState.IN_PROGRESS)
    d.send("PostFollowUpPlan", complaint_class="light", after=HOUR)
    clock = d.c.timers.clock
    assert clock is not None
    assert clock.stage is Stage.RESOLUTION
    assert d.c.complaint_class == "light"
    assert d.c.plan_posted
    assert d.c.timers.escalation_due_at is None


def test_post_plan_from_referred_implies_acceptance() -> None:
    d = in_state(CaseState.REFERRED)
    d.send("PostFollowUpPlan")
    assert d.c.state is CaseState.IN_PROGRESS


def test_resolution_confirmed_closes() -> None:
    d = in_state(CaseState.RESOLVED)
    assert d.c.timers.reporter_clock is not None
    assert d.c.timers.reporter_clock.stage is Stage.REPORTER_CONFIRMATION
    d.send("ConfirmResolution", after=HOUR)
    assert d.c.state is CaseState.CLOSED
    assert d.c.is_final
    assert d.c.wake_at is None


def test_reporter_silence_after_resolution_closes() -> None:
    d = in_state(CaseState.RESOLVED)
    assert d.c.wake_at == d.c.timers.reporter_remind_at
    d.tick()
    assert d.types() == ["ReporterReminderIssued"]
    assert d.c.wake_at == d.c.timers.reporter_due_at
    d.tick()
    assert d.types() == ["ClosedForReporterSilence"]
    assert d.c.state is CaseState.CLOSED


def test_dispute_within_window_reopens_with_the_clock_resumed_not_reset() -> None:
    d = in_state(CaseState.IN_PROGRESS)
    d.send("PostFollowUpPlan", complaint_class="no_oversight", after=HOUR)
    d.send("ResolveComplaint", after=timedelta(days=1))
    paused = d.c.timers.clock
    assert paused is not None
    assert paused.running_since is None
    assert paused.spent_seconds > 0
    d.send("DisputeResolution", after=timedelta(days=2))
    assert d.types() == ["ResolutionDisputed"]
    assert d.c.state is CaseState.IN_PROGRESS
    assert d.c.reopen_count == 1
    resumed = d.c.timers.clock
    assert resumed is not None
    assert resumed.stage is Stage.RESOLUTION
    assert resumed.spent_seconds == paused.spent_seconds
    assert resumed.started_at == paused.started_at
    assert resumed.running_since == d.now
    assert d.c.timers.reporter_clock is None


def test_dispute_outside_window_is_rejected() -> None:
    d = in_state(CaseState.RESOLVED)
    assert d.c.reopen_until is not None
    events = d.send("DisputeResolution", at=d.c.reopen_until + timedelta(seconds=1))
    assert guard_rejection(events).startswith("within_reopen_window:")
    assert d.c.state is CaseState.RESOLVED


def test_withdraw_from_every_non_final_state() -> None:
    for state in CaseState:
        if state in FINAL_STATES:
            continue
        d = in_state(state)
        d.send("WithdrawComplaint", after=HOUR)
        assert d.types() == ["ComplaintWithdrawn"], state
        assert d.c.state is CaseState.WITHDRAWN
        assert d.c.wake_at is None


# -- SLA: warnings, breach, escalation, reminders ----------------------------------------------


def test_silent_agency_warnings_breach_and_escalation_ladder() -> None:
    d = in_state(CaseState.IN_PROGRESS)
    ladder = policy().ladder_for(d.c.agency)
    d.tick()
    assert [(e.type, e.payload.threshold) for e in d.last] == [("SlaWarningRaised", 0.5)]
    d.tick()
    assert [(e.type, e.payload.threshold) for e in d.last] == [("SlaWarningRaised", 0.75)]
    clock = d.c.timers.clock
    assert clock is not None
    d.tick()
    assert d.types() == ["SlaBreached", "CaseEscalated"]
    assert d.last[0].payload.stage is Stage.FOLLOW_UP_PLAN
    assert d.last[1].payload.level == 1
    assert d.last[1].payload.automatic
    assert d.c.escalation_level == 1
    breach_at = d.now
    level_due = d.c.wake_at
    assert level_due is not None
    cal = policy().calendar_for(d.c.agency)
    assert cal.working_seconds(breach_at, level_due) == pytest.approx(3 * 8 * 3600, rel=0.1)
    for level in range(2, ladder.top + 1):
        assert d.tick(d.c.wake_at - timedelta(seconds=1)) == []  # type: ignore[operator]
        d.tick()
        assert d.types() == ["CaseEscalated"]
        assert d.last[0].payload.level == level
    for _ in range(3):
        d.tick()
        assert d.types() == ["EscalationReminderIssued"]
        assert d.c.escalation_level == ladder.top


def test_timer_with_nothing_due_and_a_repeated_timer_yield_nothing() -> None:
    d = in_state(CaseState.IN_PROGRESS)
    assert d.tick(d.now + timedelta(seconds=1)) == []
    due = d.c.wake_at
    timer = workflow().timer_message(d.c, due)  # type: ignore[arg-type]
    assert d.apply(timer, due) != []
    assert d.apply(timer, due) == []
    other_id = workflow().timer_message(d.c, due)  # type: ignore[arg-type]
    assert d.apply(other_id, due) == []  # nothing else due at that instant


def test_late_timer_catches_up_in_one_message() -> None:
    d = in_state(CaseState.IN_PROGRESS)
    d.tick(d.now + timedelta(days=60))
    types = d.types()
    assert types[:4] == ["SlaWarningRaised", "SlaWarningRaised", "SlaBreached", "CaseEscalated"]
    assert d.c.escalation_level == policy().ladder.top
    assert types[-1] == "EscalationReminderIssued"
    assert d.c.wake_at is not None
    assert d.c.wake_at > d.now


def test_verification_breach_escalates_within_the_triage_ladder() -> None:
    d = Driver()
    d.tick(T0 + timedelta(days=10))
    escalated = [e for e in d.last if e.type == "CaseEscalated"]
    assert escalated
    assert escalated[0].payload.stage is Stage.VERIFICATION
    assert d.c.escalation_level >= 1


def test_completing_the_stage_stops_its_escalation() -> None:
    d = in_state(CaseState.REFERRED)
    d.tick(d.now + timedelta(days=12))
    assert d.c.escalation_level >= 1
    assert d.c.timers.escalation_due_at is not None
    level = d.c.escalation_level
    d.send("PostFollowUpPlan", after=HOUR)
    assert d.c.timers.escalation_due_at is None
    assert d.c.escalation_level == level


def test_paused_stage_does_not_escalate() -> None:
    d = Driver()
    d.send("RequestInformation", after=HOUR)
    d.tick(d.now + timedelta(days=20))
    assert d.last == []  # nothing due: the verification clock is paused


# -- idempotency, determinism, replay ----------------------------------------------------------


def test_same_command_twice_changes_nothing() -> None:
    d = in_state(CaseState.REFERRED)
    cmd = command("AcceptReferral", d.c.case_id, event_id="accept-1", at=d.now)
    d.apply(cmd)
    snapshot = d.c
    assert d.apply(cmd) == []
    assert d.c == snapshot


def test_decide_is_deterministic() -> None:
    d = in_state(CaseState.VERIFYING)
    cmd = command("CompleteMaterialVerification", d.c.case_id, event_id="mv", at=d.now)
    wf = workflow()
    assert wf.decide(d.c, cmd, d.now) == wf.decide(d.c, cmd, d.now)
    events = wf.decide(d.c, cmd, d.now)
    assert {e.causation_id for e in events} == {"mv"}
    assert {e.correlation_id for e in events} == {"intake-1"}
    assert {e.occurred_at for e in events} == {d.now}


def test_replay_rebuilds_the_case_and_events_round_trip_json() -> None:
    d = in_state(CaseState.IN_PROGRESS)
    d.send("PostFollowUpPlan")
    d.tick(d.now + timedelta(days=30))
    d.send("ResolveComplaint", after=HOUR)
    d.send("DisputeResolution", after=HOUR)
    assert workflow().replay(d.events) == d.c
    decoded = [parse_event(encode(e)) for e in d.events]
    assert decoded == d.events
    assert workflow().replay(decoded) == d.c
    assert Case.model_validate_json(d.c.model_dump_json()) == d.c


def test_timer_message_id_is_deterministic() -> None:
    d = Driver()
    a = workflow().timer_message(d.c, T0 + HOUR)
    b = workflow().timer_message(d.c, T0 + 2 * HOUR)
    assert a.event_id == b.event_id
    assert a.payload.due_at == d.c.wake_at


def test_evolve_refuses_events_without_a_case() -> None:
    d = in_state(CaseState.VERIFYING)
    with pytest.raises(ValueError, match="does not exist"):
        workflow().evolve(None, d.events[-1])


def test_workflow_rejects_a_lifecycle_with_unimplemented_guards() -> None:
    from states.lifecycle import Lifecycle, TransitionSpec

    broken = Lifecycle((TransitionSpec("withdraw", (CaseState.RECEIVED,), None, ("nope",)),))
    with pytest.raises(ValueError, match="nope"):
        Workflow(policy(), lifecycle_=broken)


# -- confidentiality ---------------------------------------------------------------------------


def full_flow(confidentiality: str, wf: Workflow | None = None) -> Driver:
    d = Driver(wf, confidentiality=confidentiality)
    d.to("RequestInformation", "ProvideInformation", "CompleteMaterialVerification")
    d.tick(d.now + timedelta(days=20))
    d.to("AcceptReferral", "PostFollowUpPlan", "ResolveComplaint", "DisputeResolution")
    d.to("ResolveComplaint", "ConfirmResolution")
    return d


IDENTITY = (NAME, PHONE, PHONE_RAW, PHONE.removeprefix("+"), "81234567890", EMAIL, "Siti")


@pytest.mark.parametrize("confidentiality", ["anonymous", "confidential"])
def test_hidden_identity_never_in_events_or_snapshots(confidentiality: str) -> None:
    d = full_flow(confidentiality)
    assert d.c.state is CaseState.CLOSED
    blobs = [encode(e).decode() for e in d.events] + [s.model_dump_json() for s in d.snapshots]
    for blob in blobs:
        for secret in IDENTITY:
            assert secret.casefold() not in blob.casefold()
    view = d.c.reporter
    assert view.name is None
    assert view.phone is None
    assert view.email is None
    assert view.pseudonym is not None
    assert view.contactable


def test_pseudonym_is_keyed_and_omitted_without_a_key() -> None:
    with_key = Driver(confidentiality="confidential").c.reporter.pseudonym
    other_key = Workflow(policy(), reporter_key=b"another-key")
    assert Driver(other_key, confidentiality="confidential").c.reporter.pseudonym != with_key
    no_key = Workflow(policy())
    assert Driver(no_key, confidentiality="confidential").c.reporter.pseudonym is None


def test_public_reporter_identity_is_kept() -> None:
    d = Driver(confidentiality="public")
    assert d.c.reporter.name == NAME
    assert d.c.reporter.phone == PHONE
    assert d.c.reporter.email == EMAIL


def test_intake_repr_and_str_do_not_print_identity_or_text() -> None:
    m = intake(confidentiality="confidential")
    for text in (repr(m), str(m), repr(m.payload.reporter), str(m.payload)):
        for secret in (*IDENTITY, "Jalan rusak"):
            assert secret not in text
