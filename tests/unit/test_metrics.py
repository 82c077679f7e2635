"""The metric observers on a fresh registry, driven by the real core (no broker)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from consumers.metrics import (
    OTHER,
    EngineMetrics,
)
from states.lifecycle import CaseState
from tests.e2e import builders as b
from workflow.case import Case
from workflow.codec import MessageErrorReason, encode
from workflow.core import Workflow
from workflow.enums import Channel
from workflow.incidents.case_links import IncidentPriority
from workflow.policy import load_policy
from workflow.sla import Stage

T0 = datetime.fromisoformat("2026-12-07T09:00:00+09:00")  # a Monday in Masohi (WIT)
POLICY = load_policy()


class Rig:
    """A workflow, its metrics on a fresh registry, and a one-partition 'case table'."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.workflow = Workflow(POLICY)
        self.owned = {0}
        self.metrics = EngineMetrics(
            self.registry,
            POLICY,
            calendar=self.workflow.calendar,
            owned_partitions=lambda: self.owned,
        )
        self.cases: dict[str, Case] = {}

    def apply(self, message: Any, now: datetime, *, publish: bool = True) -> list[Any]:
        """What the case agent and then the relay do for one message."""
        case_id = getattr(message, "derived_case_id", None) or message.case_id
        before = self.cases.get(case_id)
        after, events = self.workflow.handle(before, message, now)
        assert after is not None
        self.cases[case_id] = after
        self.metrics.applied(0, before, after, events, message.occurred_at, now)
        if publish:
            self.metrics.published(encode(after), [encode(e) for e in events])
        return events

    def tick(self, case_id: str, now: datetime) -> list[Any]:
        return self.apply(self.workflow.timer_message(self.cases[case_id], now), now)

    def value(self, name: str, **labels: str) -> float:
        found = self.registry.get_sample_value(name, labels)
        return 0.0 if found is None else found


@pytest.fixture
def rig() -> Rig:
    return Rig()


def referred_case(rig: Rig, message_id: str = "m-1") -> str:
    complaint = b.complaint(message_id, T0)
    case_id = complaint.derived_case_id
    for message in (complaint, b.formal(case_id, T0), b.material(case_id, T0)):
        rig.apply(message, T0)
    return case_id


def test_every_labelled_series_starts_at_zero(rig: Rig) -> None:
    get = rig.registry.get_sample_value
    assert get("aduan_sla_breaches_total", {"stage": "follow_up_plan", "agency": "DINKES"}) == 0
    assert get("aduan_complaints_received_total", {"channel": "sms"}) == 0
    assert get("aduan_escalations_total", {"level": "3", "agency": OTHER}) == 0
    transition = {"from_state": "none", "to_state": "received"}
    assert get("aduan_case_transitions_total", transition) == 0


def test_a_referral_counts_intake_transitions_open_cases_and_stage_time(rig: Rig) -> None:
    referred_case(rig)
    assert rig.value("aduan_complaints_received_total", channel="web") == 1
    for source, dest in [
        ("none", "received"),
        ("received", "verifying"),
        ("verifying", "verified"),
        ("verified", "referred"),
    ]:
        assert rig.value("aduan_case_transitions_total", from_state=source, to_state=dest) == 1
    assert rig.value("aduan_cases_open", state="referred", agency="DINKES") == 1
    assert rig.value("aduan_cases_open", state="received", agency="SETDA-TRIASE") == 0
    # verification ended at once: 0 office seconds
    assert rig.value("aduan_stage_duration_seconds_count", stage="verification") == 1
    assert rig.value("aduan_stage_duration_seconds_sum", stage="verification") == 0
    assert rig.value("aduan_event_processing_seconds_count") == 3


def test_a_silent_agency_is_warned_breached_escalated_and_overdue(rig: Rig) -> None:
    case_id = referred_case(rig)
    rig.tick(case_id, datetime.fromisoformat("2026-12-10T09:00:00+09:00"))
    rig.tick(case_id, datetime.fromisoformat("2026-12-11T13:00:00+09:00"))
    labels = {"stage": "follow_up_plan", "agency": "DINKES"}
    assert rig.value("aduan_sla_warnings_total", threshold="0.5", **labels) == 1
    assert rig.value("aduan_sla_warnings_total", threshold="0.75", **labels) == 1
    assert rig.value("aduan_cases_overdue", **labels) == 0
    rig.tick(case_id, datetime.fromisoformat("2026-12-14T16:00:00+09:00"))
    assert rig.value("aduan_sla_breaches_total", **labels) == 1
    assert rig.value("aduan_escalations_total", level="1", agency="DINKES") == 1
    assert rig.value("aduan_cases_overdue", **labels) == 1
    # The agency finally acts: plan posted -> no longer overdue for the follow-up plan;
    # the stage took its whole budget (5 working days of office time) and more.
    later = datetime.fromisoformat("2026-12-15T10:00:00+09:00")
    rig.apply(b.accept(case_id, later), later)
    rig.apply(b.plan(case_id, later), later)
    assert rig.value("aduan_cases_overdue", **labels) == 0
    assert rig.value("aduan_stage_duration_seconds_count", stage="follow_up_plan") == 1
    assert rig.value("aduan_stage_duration_seconds_sum", stage="follow_up_plan") > 5 * 7 * 3600
    rig.apply(b.resolve(case_id, later), later)
    assert rig.value("aduan_cases_resolved_total", agency="DINKES", outcome="late") == 1


def test_a_prompt_agency_resolves_within_sla(rig: Rig) -> None:
    case_id = referred_case(rig)
    t = T0 + timedelta(hours=2)
    for message in (b.accept(case_id, t), b.plan(case_id, t), b.resolve(case_id, t)):
        rig.apply(message, t)
    assert rig.value("aduan_cases_resolved_total", agency="DINKES", outcome="within_sla") == 1
    assert rig.value("aduan_cases_open", state="resolved", agency="DINKES") == 1
    rig.apply(b.confirm(case_id, t), t)
    assert rig.value("aduan_cases_open", state="resolved", agency="DINKES") == 0
    assert rig.value("aduan_case_transitions_total", from_state="resolved", to_state="closed") == 1


def test_relay_counts_only_what_it_is_told_was_committed(rig: Rig) -> None:
    complaint = b.complaint("m-2", T0)
    rig.apply(complaint, T0, publish=False)  # the agent applied it, the relay has not committed
    assert rig.value("aduan_complaints_received_total", channel="web") == 0
    assert rig.value("aduan_case_transitions_total", from_state="none", to_state="received") == 1


def test_open_cases_follow_the_owned_partitions_and_a_recount(rig: Rig) -> None:
    referred_case(rig, "m-3")
    case = next(iter(rig.cases.values()))
    assert rig.value("aduan_cases_open", state="referred", agency="DINKES") == 1
    rig.owned = set()  # revoked: no longer reported
    assert rig.value("aduan_cases_open", state="referred", agency="DINKES") == 0
    rig.owned = {3}
    rig.metrics.recount([(3, case), (3, case), (5, case)])  # the table after a rebalance
    assert rig.value("aduan_cases_open", state="referred", agency="DINKES") == 2


def test_unknown_labels_fall_into_other(rig: Rig) -> None:
    rig.metrics.deadlettered("not_json")
    rig.metrics.deadlettered("something new")
    rig.metrics.deadlettered("unknown_case")
    assert rig.value("aduan_messages_deadlettered_total", reason="not_json") == 1
    assert rig.value("aduan_messages_deadlettered_total", reason=OTHER) == 1
    assert rig.value("aduan_messages_deadlettered_total", reason="unknown_case") == 1
    complaint = b.complaint("m-4", T0, agency_hint=None)
    rig.apply(complaint, T0)
    snapshot = rig.cases[complaint.derived_case_id].model_copy(update={"agency": "NOT-IN-POLICY"})
    rig.metrics.recount([(0, snapshot)])
    assert rig.value("aduan_cases_open", state="received", agency=OTHER) == 1


def all_label_values(registry: CollectorRegistry) -> Iterator[tuple[str, str, str]]:
    for family in registry.collect():
        for sample in family.samples:
            for label, value in sample.labels.items():
                yield family.name, label, value


def test_no_case_id_reporter_or_text_ever_becomes_a_label(rig: Rig) -> None:
    case_id = referred_case(rig, "m-5")
    rig.tick(case_id, datetime.fromisoformat("2026-12-14T16:00:00+09:00"))
    closed = (
        {a.code for a in POLICY.agencies}
        | {OTHER, "none"}
        | {s.value for s in Stage}
        | {s.value for s in CaseState}
        | {c.value for c in Channel}
        | {r.value for r in MessageErrorReason}
        | {p.value for p in IncidentPriority}
        | {"unknown_case", "command_limit", "0.5", "0.75", "1", "2", "3", "within_sla", "late"}
    )
    for name, label, value in all_label_values(rig.registry):
        if label == "le":
            continue
        assert value in closed, f"{name}{{{label}={value!r}}} is not from a closed set"
        assert case_id not in value


def test_two_engines_in_one_process_do_not_collide() -> None:
    first, second = Rig(), Rig()
    referred_case(first)
    assert first.value("aduan_complaints_received_total", channel="web") == 1
    assert second.value("aduan_complaints_received_total", channel="web") == 0
