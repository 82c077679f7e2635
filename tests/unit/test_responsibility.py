"""Who runs a stage, pinned for every stage and every state, and the consumers agree with it.

The triage desk, the referred agency and the policy's default zone sit in three different time
zones here, so a deadline counted in the wrong calendar is off by an hour and shows.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache

import pytest
from test_core_support import T0, Driver

from consumers.gateway.views import expected_at
from consumers.notifier.alerts import CaseInfo, plan_alert
from states.lifecycle import CaseState
from workflow.case import Case
from workflow.core import Workflow
from workflow.fastpaths import replace_model
from workflow.policy import Policy, load_policy
from workflow.responsibility import (
    TRIAGE_STAGES,
    agency_calendar,
    responsible_agency,
    stage_calendar,
)
from workflow.sla import SlaTarget, Stage, deadline, next_mark_at, start_clock

TRIAGE, AGENCY = "SETDA-TRIASE", "DINKES"

STAGE_OWNER: dict[Stage, str] = {
    Stage.VERIFICATION: "triage",
    Stage.REPORTER_INFORMATION: "triage",
    Stage.FOLLOW_UP_PLAN: "agency",
    Stage.RESOLUTION: "agency",
    Stage.REPORTER_CONFIRMATION: "agency",
    Stage.ESCALATION: "agency",
}
"""Per stage: the triage desk always, or the referred agency (the desk while none is)."""

STATE_OWNER: dict[CaseState, str] = {
    CaseState.RECEIVED: TRIAGE,
    CaseState.VERIFYING: TRIAGE,
    CaseState.AWAITING_INFORMATION: TRIAGE,
    CaseState.VERIFIED: TRIAGE,
    CaseState.REFERRED: AGENCY,
    CaseState.IN_PROGRESS: AGENCY,
    CaseState.RESOLVED: AGENCY,
    CaseState.CLOSED: AGENCY,
    CaseState.REJECTED: TRIAGE,
    CaseState.WITHDRAWN: TRIAGE,
}

PATHS: dict[CaseState, tuple[str, ...]] = {
    CaseState.RECEIVED: (),
    CaseState.VERIFYING: ("CompleteFormalVerification",),
    CaseState.AWAITING_INFORMATION: ("CompleteFormalVerification", "RequestInformation"),
    CaseState.REFERRED: ("CompleteFormalVerification", "CompleteMaterialVerification"),
    CaseState.IN_PROGRESS: (
        "CompleteFormalVerification",
        "CompleteMaterialVerification",
        "AcceptReferral",
    ),
    CaseState.RESOLVED: (
        "CompleteFormalVerification",
        "CompleteMaterialVerification",
        "PostFollowUpPlan",
        "ResolveComplaint",
    ),
    CaseState.CLOSED: (
        "CompleteFormalVerification",
        "CompleteMaterialVerification",
        "PostFollowUpPlan",
        "ResolveComplaint",
        "ConfirmResolution",
    ),
    CaseState.REJECTED: ("RejectComplaint",),
    CaseState.WITHDRAWN: ("CompleteFormalVerification", "WithdrawComplaint"),
}


@cache
def three_zone_policy() -> Policy:
    base = load_policy()
    zones = {TRIAGE: "Asia/Makassar", AGENCY: "Asia/Jayapura"}
    agencies = [
        {**a.model_dump(mode="json", exclude_none=True), "tz": zones.get(a.code, a.tz)}
        for a in base.agencies
    ]
    return load_policy(overrides={"default_tz": "Asia/Jakarta", "agencies": agencies})


@cache
def wf() -> Workflow:
    return Workflow(three_zone_policy())


def case_in(state: CaseState) -> Case:
    """A case the core drove into ``state`` (verified is transient: its first event only)."""
    if state is CaseState.VERIFIED:
        d = Driver(wf()).to("CompleteFormalVerification")
        d.send("CompleteMaterialVerification", after=timedelta(hours=1), agency=AGENCY)
        verified = next(e for e in d.last if e.type == "CaseVerified")
        return wf().evolve(d.snapshots[-2], verified)
    d = Driver(wf())
    for step in PATHS[state]:
        extra = {"agency": AGENCY} if step == "CompleteMaterialVerification" else {}
        events = d.send(step, after=timedelta(hours=1), **extra)
        assert all(e.type != "CommandRejected" for e in events), events
    assert d.c.state is state
    return d.c


def test_the_zones_differ() -> None:
    policy = three_zone_policy()
    zones = {agency_calendar(policy, code).tz for code in (TRIAGE, AGENCY, None)}
    assert len(zones) == 3
    assert agency_calendar(policy, "NO-SUCH-AGENCY") is agency_calendar(policy, None)


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("agency", [AGENCY, None])
def test_the_rule_for_every_stage(stage: Stage, agency: str | None) -> None:
    assert set(STAGE_OWNER) == set(Stage)
    case = replace_model(case_in(CaseState.REFERRED), {"agency": agency})
    expected = TRIAGE if STAGE_OWNER[stage] == "triage" or agency is None else AGENCY
    assert responsible_agency(case, stage) == expected
    assert (stage in TRIAGE_STAGES) == (STAGE_OWNER[stage] == "triage")
    assert responsible_agency(case) == (agency or TRIAGE)


@pytest.mark.parametrize("state", list(CaseState))
def test_the_owner_in_every_state_and_the_core_counts_in_its_calendar(state: CaseState) -> None:
    assert set(STATE_OWNER) == set(CaseState)
    case = case_in(state)
    assert responsible_agency(case) == STATE_OWNER[state]
    policy, timers = three_zone_policy(), case.timers
    if timers.clock is not None and timers.clock_next_at is not None:
        cal = stage_calendar(policy, case, timers.clock.stage)
        thresholds = policy.sla.warning_thresholds
        assert timers.clock_next_at == next_mark_at(timers.clock, cal, thresholds)
    if timers.reporter_clock is not None:
        cal = stage_calendar(policy, case, timers.reporter_clock.stage)
        assert timers.reporter_due_at == deadline(timers.reporter_clock, cal)


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("agency", [AGENCY, None])
def test_the_gateway_shows_the_deadline_in_the_stage_owners_calendar(
    stage: Stage, agency: str | None
) -> None:
    policy = three_zone_policy()
    referred = case_in(CaseState.REFERRED)
    owner = TRIAGE if STAGE_OWNER[stage] == "triage" or agency is None else AGENCY
    cal = wf().calendar(owner)
    clock = start_clock(stage, SlaTarget(amount=2), T0, cal)
    case = replace_model(
        referred, {"agency": agency, "timers": replace_model(referred.timers, {"clock": clock})}
    )
    assert expected_at(case, policy) == deadline(clock, cal)


def test_the_notifier_alerts_the_stage_owner_with_the_cores_deadline() -> None:
    d = Driver(wf()).to("CompleteFormalVerification", "CompleteMaterialVerification")
    warning = next(e for e in d.tick() if e.type == "SlaWarningRaised")
    info = CaseInfo(agency=d.c.agency, triage_agency=d.c.triage_agency)
    alert = plan_alert(warning, info, 0, three_zone_policy())
    assert alert is not None
    clock = warning.payload.timers.clock
    assert clock is not None
    assert alert.agency == responsible_agency(d.c, clock.stage) == AGENCY
    assert alert.deadline == deadline(clock, wf().calendar(AGENCY))
