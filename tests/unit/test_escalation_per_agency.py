"""Issue 14 finding 4: escalation belongs to the agency that is late.

The scenario of the issue, through the pure core: a case breaches at the triage desk during
verification and climbs the desk's ladder to the top; it is then referred to PUPR, which stays
silent for 15 working days. PUPR's breach must alert PUPR's own level 1 (its Kepala Dinas) and
climb PUPR's ladder, while the case keeps the desk's level 3 in its history; the notifier's key
for PUPR's level-1 alert differs from the desk's level-1 alert.
"""

from __future__ import annotations

import json
from datetime import timedelta

from prometheus_client import CollectorRegistry
from test_core_support import Driver, policy, workflow

from consumers.metrics import EngineMetrics
from consumers.notifier.alerts import CaseInfo, plan_alert
from workflow.case import Case
from workflow.codec import encode, parse_event
from workflow.escalation import LevelReached
from workflow.escalation_state import escalation_agency, level_reached
from workflow.sla import Stage

TRIAGE, PUPR = "SETDA-TRIASE", "PUPR"
HOUR = timedelta(hours=1)


def escalated_at_the_desk() -> Driver:
    """A case escalated to the top of the triage desk's ladder during verification."""
    d = Driver()
    d.send("CompleteFormalVerification", after=HOUR)
    d.tick(d.now + timedelta(days=30))
    assert d.c.escalation_level == policy().ladder_for(TRIAGE).top
    return d


def referred_to_pupr_and_silent_for_15_working_days() -> Driver:
    d = escalated_at_the_desk()
    d.send("CompleteMaterialVerification", after=HOUR, agency=PUPR)
    assert d.c.agency == PUPR
    cal = policy().calendar_for(PUPR)
    referred_at = d.now
    while d.c.wake_at is not None and cal.working_seconds(referred_at, d.c.wake_at) <= (
        15 * 8 * 3600
    ):
        d.tick()
    return d


def test_a_referral_after_an_escalated_verification_starts_at_the_new_agencys_level_1() -> None:
    d = referred_to_pupr_and_silent_for_15_working_days()
    escalations = [e for e in d.events if e.type == "CaseEscalated"]
    desk = [e for e in escalations if e.payload.stage is Stage.VERIFICATION]
    pupr = [e for e in escalations if e.payload.stage is Stage.FOLLOW_UP_PLAN]
    assert [e.payload.level for e in desk] == [1, 2, 3]
    assert [e.payload.agency for e in desk] == [TRIAGE] * 3
    assert pupr, "PUPR's breach escalated nothing"
    assert pupr[0].payload.level == 1
    assert {e.payload.agency for e in pupr} == {PUPR}
    assert [e.payload.level for e in pupr] == list(range(1, len(pupr) + 1))
    assert d.c.escalation_agency == PUPR
    assert d.c.escalation_level == pupr[-1].payload.level
    assert d.c.escalation_history == (LevelReached(agency=TRIAGE, level=3),)


def test_the_notifier_keys_the_two_level_1_alerts_apart() -> None:
    d = referred_to_pupr_and_silent_for_15_working_days()
    escalations = [e for e in d.events if e.type == "CaseEscalated" and e.payload.level == 1]
    desk_event, pupr_event = escalations[0], escalations[1]
    before_referral = CaseInfo(agency=None, triage_agency=TRIAGE)
    after_referral = CaseInfo(agency=PUPR, triage_agency=TRIAGE)
    desk_alert = plan_alert(desk_event, before_referral, 0, policy())
    pupr_alert = plan_alert(pupr_event, after_referral, 0, policy())
    assert desk_alert is not None
    assert pupr_alert is not None
    assert (desk_alert.agency, desk_alert.level) == (TRIAGE, 1)
    assert (pupr_alert.agency, pupr_alert.level) == (PUPR, 1)
    assert desk_alert.key != pupr_alert.key
    # Redelivered with a later snapshot, the desk's alert still names the desk (and its key).
    assert plan_alert(desk_event, after_referral, 3, policy()).key == desk_alert.key  # type: ignore[union-attr]


def test_the_top_of_the_desk_ladder_does_not_keep_the_new_agency_from_escalating_by_hand() -> None:
    d = escalated_at_the_desk()
    d.send("CompleteMaterialVerification", after=HOUR, agency=PUPR)
    (event,) = d.send("EscalateManually", after=HOUR)
    assert event.type == "CaseEscalated"
    assert (event.payload.agency, event.payload.level) == (PUPR, 1)
    assert d.c.escalation_level == 1


def test_a_referral_hands_the_level_over_and_an_agency_that_gets_the_case_back_resumes() -> None:
    d = Driver()
    d.to("CompleteFormalVerification", "CompleteMaterialVerification")
    first = d.c.agency
    assert first is not None
    d.send("EscalateManually", after=HOUR)
    d.send("EscalateManually", after=HOUR)
    assert (d.c.escalation_agency, d.c.escalation_level) == (first, 2)
    d.send("ReassignAgency", after=HOUR, agency=PUPR)
    assert (d.c.escalation_agency, d.c.escalation_level) == (PUPR, 0)
    assert level_reached(d.c, first) == 2
    d.send("ReassignAgency", after=HOUR, agency=first)
    (event,) = d.send("EscalateManually", after=HOUR)
    # Its head already heard of this case (level 2 reached): the agency climbs on from there.
    assert (event.payload.agency, event.payload.level) == (first, 3)
    assert d.c.escalation_history == ()  # PUPR never escalated: nothing recorded for it


def test_an_old_snapshot_without_the_new_fields_loads_and_its_level_is_the_owners() -> None:
    d = escalated_at_the_desk()
    old = d.c.model_dump(mode="json")
    del old["escalation_agency"], old["escalation_history"]
    legacy = Case.model_validate(old)
    assert legacy.escalation_agency is None
    assert escalation_agency(legacy) == TRIAGE
    assert level_reached(legacy, TRIAGE) == 3


def test_old_escalation_events_without_the_agency_still_apply_and_keep_their_alert_key() -> None:
    d = escalated_at_the_desk()
    desk_level_1 = next(e for e in d.events if e.type == "CaseEscalated")
    raw = json.loads(encode(desk_level_1))
    del raw["payload"]["agency"]
    old = parse_event(json.dumps(raw).encode())
    assert old.payload.agency is None  # type: ignore[union-attr]
    fresh = Driver()
    fresh.send("CompleteFormalVerification", after=HOUR)
    replayed = workflow().evolve(fresh.c, old)
    assert (escalation_agency(replayed), replayed.escalation_level) == (TRIAGE, 1)
    alert = plan_alert(old, CaseInfo(agency=None, triage_agency=TRIAGE), 0, policy())
    assert alert is not None
    assert alert.key == f"{d.c.case_id}|escalation|L1"  # the key its receipt was written with


def test_a_snapshot_with_history_round_trips_and_replay_rebuilds_it() -> None:
    d = referred_to_pupr_and_silent_for_15_working_days()
    assert Case.model_validate_json(d.c.model_dump_json()) == d.c
    rebuilt = None
    for event in d.events:
        rebuilt = workflow().evolve(rebuilt, event)
    assert rebuilt == d.c


def test_metrics_count_each_agencys_escalation_under_its_own_level() -> None:
    registry = CollectorRegistry()
    metrics = EngineMetrics(
        registry, policy(), calendar=workflow().calendar, owned_partitions=lambda: {0}
    )
    d = referred_to_pupr_and_silent_for_15_working_days()
    case: Case | None = None
    for event in d.events:
        after = workflow().evolve(case, event)
        metrics.published(encode(after), [encode(event)])
        case = after

    def escalations(level: int, agency: str) -> float:
        labels = {"level": str(level), "agency": agency}
        return registry.get_sample_value("aduan_escalations_total", labels) or 0.0

    assert [escalations(n, TRIAGE) for n in (1, 2, 3)] == [1, 1, 1]
    assert escalations(1, PUPR) == 1
