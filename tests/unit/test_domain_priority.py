"""Priority (issue 18, part 4): intake or the verifier sets it, ``class_by_priority`` applies,
metrics label it, and a policy entry no message can select is refused at load."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import CollectorRegistry
from test_core_support import Driver

from consumers.metrics import EngineMetrics
from workflow.codec import encode
from workflow.core import Workflow
from workflow.policy import PolicyError, load_policy

HOUR = timedelta(hours=1)


def _verified(**intake_args: object) -> Driver:
    d = Driver(**intake_args)
    d.send("CompleteFormalVerification", after=HOUR)
    return d


def test_an_urgent_intake_gets_the_class_its_priority_maps_to() -> None:
    # The default policy maps urgent -> light; the category alone gives normative.
    d = _verified(priority="urgent")
    assert d.c.priority == "urgent"
    d.send("CompleteMaterialVerification", after=HOUR)
    verified = next(e for e in d.last if e.type == "CaseVerified")
    assert verified.payload.complaint_class == "light"
    assert verified.payload.priority == "urgent"
    assert d.c.complaint_class == "light"


def test_without_a_priority_the_category_decides() -> None:
    d = _verified()
    d.send("CompleteMaterialVerification", after=HOUR)
    assert d.c.priority is None
    assert d.c.complaint_class == "normative"


def test_the_verifier_sets_or_changes_the_priority() -> None:
    d = _verified()
    d.send("CompleteMaterialVerification", priority="urgent", after=HOUR)
    assert d.c.priority == "urgent"
    assert d.c.complaint_class == "light"
    lowered = _verified(priority="urgent")
    lowered.send("CompleteMaterialVerification", priority="normal", after=HOUR)
    assert lowered.c.priority == "normal"
    assert lowered.c.complaint_class == "normative"


def test_an_explicit_class_wins_over_the_priority() -> None:
    d = _verified(priority="urgent")
    d.send("CompleteMaterialVerification", complaint_class="examination", after=HOUR)
    assert d.c.complaint_class == "examination"


def test_the_resolution_clock_runs_on_the_priority_class() -> None:
    high = load_policy(overrides={"sla": {"class_by_priority": {"high": "no_oversight"}}})
    d = Driver(wf=Workflow(high, reporter_key=b"k"), priority="high")
    d.to("CompleteFormalVerification", "CompleteMaterialVerification", "AcceptReferral")
    d.send("PostFollowUpPlan", plan="perbaikan", after=HOUR)
    assert d.c.complaint_class == "no_oversight"
    clock = d.c.timers.clock
    assert clock is not None
    assert clock.stage == "resolution"
    assert clock.budget_seconds >= 14 * 8 * 3600  # 14 working days, not normative's 5


def test_a_priority_entry_that_no_message_can_carry_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"class_by_priority.*'kritis'.*can have no effect"):
        load_policy(overrides={"sla": {"class_by_priority": {"kritis": "light"}}})
    with pytest.raises(PolicyError, match="name one priority"):
        load_policy(
            overrides={"sla": {"class_by_priority": {"Urgent": "light", "urgent": "light"}}}
        )


def test_metrics_label_the_priority_of_opened_and_breached_cases() -> None:
    registry = CollectorRegistry()
    pol = load_policy()
    metrics = EngineMetrics(registry, pol, calendar=pol.calendar_for)
    d = Driver(priority="high")
    d.tick()
    while not any(e.type == "SlaBreached" for e in d.last):
        d.tick()
    for snapshot, events in ((d.snapshots[0], d.events[:1]), (d.c, d.last)):
        metrics.published(snapshot.model_dump_json().encode(), [encode(e) for e in events])
    opened = registry.get_sample_value("aduan_complaints_by_priority_total", {"priority": "high"})
    assert opened == 1
    labels = {"stage": "verification", "priority": "high"}
    assert registry.get_sample_value("aduan_sla_breaches_by_priority_total", labels) == 1
