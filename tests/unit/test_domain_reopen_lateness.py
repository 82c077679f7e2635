"""Reopen lateness (issue 18, part 4): a case resolved late and reopened by the reporter gets
warnings at the policy's thresholds of the time it was given after the reopening, before it
breaches and moves up a level; never an escalation without a warning first."""

from __future__ import annotations

from datetime import timedelta

from test_core_support import Driver

from states.lifecycle import CaseState

HOUR = timedelta(hours=1)


def _late_then_reopened() -> Driver:
    d = Driver().to("CompleteFormalVerification", "CompleteMaterialVerification", "AcceptReferral")
    d.send("PostFollowUpPlan", after=HOUR)
    while not any(e.type == "SlaBreached" for e in d.last):  # the resolution stage runs late
        d.tick()
    assert d.c.timers.clock is not None
    assert d.c.timers.clock.stage == "resolution"
    d.send("ResolveComplaint", after=HOUR)
    d.send("DisputeResolution", after=HOUR)
    assert d.c.state is CaseState.IN_PROGRESS
    return d


def test_a_reopened_late_case_is_warned_at_each_threshold_before_it_breaches() -> None:
    d = _late_then_reopened()
    seen: list[tuple[str, float | None]] = []
    while not any(e.type == "CaseEscalated" for e in d.last) and len(seen) < 20:
        d.tick()
        for e in d.last:
            if e.type in ("SlaWarningRaised", "SlaBreached", "CaseEscalated"):
                seen.append((e.type, getattr(e.payload, "threshold", None)))
    assert seen[:3] == [
        ("SlaWarningRaised", 0.5),
        ("SlaWarningRaised", 0.75),
        ("SlaBreached", None),
    ]
    assert ("CaseEscalated", None) in seen


def test_the_warnings_fall_inside_the_grace_not_at_the_reopening() -> None:
    d = _late_then_reopened()
    reopened_at = d.now
    clock = d.c.timers.clock
    assert clock is not None
    assert not clock.breached
    assert clock.warned == ()
    assert d.c.wake_at is not None
    assert d.c.wake_at > reopened_at
    d.tick()
    assert [e.type for e in d.last if e.type.startswith("Sla")] == ["SlaWarningRaised"]
