"""The one printed summary of a chaos run."""

from __future__ import annotations

from chaos.cluster_report import cluster_lines
from chaos.run import RunResult


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def summary(result: RunResult) -> list[str]:
    c, t, f, v, topics = result.config, result.traffic, result.faults, result.verdict, result.topics
    redelivered = max(result.duplicates_skipped - t.duplicate - t.redelivery, 0)
    overtaking_mismatches = sum(1 for m in v.mismatched if m.overtaking)
    reasons = ", ".join(f"{r} {n}" for r, n in topics.deadletter_reasons.most_common()) or "none"
    types = v.expected_types
    applied_twice = {m.case_id for m in v.mismatched if any("duplicate" in p for p in m.problems)}
    lost = {
        m.case_id
        for m in v.mismatched
        if "unknown_case" in topics.deadletter_by_case.get(m.case_id, {})
    }
    unexplained = len(v.mismatched) - len(applied_twice | lost)
    lines = [
        f"chaos run, seed {c.seed} ({result.seconds:.0f} s wall, prefix {result.prefix})",
        f"  messages published      {c.messages} ({t.new} new, {t.duplicate} immediate duplicates, "
        f"{t.redelivery} late redeliveries, {t.overtaking} commands before their intake)",
        f"  input records on topics {topics.input_records} (incl. {topics.timer_commands} "
        "TimerFired from the workers)",
        f"  cases                   {v.cases} ({t.busy_cases} busy cases with 40+ messages)",
        f"  workers                 {c.workers}; kills {f.worker_kills}; "
        f"exits on their own {result.worker_crashes} (restarted, as a supervisor would)",
        f"  broker restarts         {f.broker_restarts}",
        f"  duplicates skipped      {result.duplicates_skipped} by workers; redeliveries observed "
        f"(beyond the injected ones) >= {redelivered}",
        f"  mismatches vs oracle    {len(v.mismatched)} cases ({overtaking_mismatches} of them had "
        "a command before its intake)",
        f"    of which              {len(applied_twice)} with a message applied twice (the shape "
        f"of defect 1), {len(lost)} with a command dead-lettered as unknown_case (defect 2), "
        f"{unexplained} neither",
        f"  duplicate event ids     {v.duplicate_events} (cases.events, read committed)",
        f"  events missing          {v.missing_events}; unexpected {v.extra_events}",
        f"  breaches emitted        {v.breaches_emitted} vs expected {v.breaches_expected}; "
        f"open cases still waiting for a deadline the clock passed {len(v.timers_not_acted_on)}",
        f"  breach lateness         p50 {_seconds(percentile(result.lateness, 0.5))}, p99 "
        f"{_seconds(percentile(result.lateness, 0.99))} (wall time from the clock reaching the "
        "deadline to the breach on cases.events)",
        f"  longest stall           {_seconds(result.longest_stall)}"
        + (" (overlapping a broker outage)" if result.stall_in_outage else "")
        + f"; longest away from broker outages {_seconds(result.longest_stall_outside_outages)}",
        f"  SLA activity expected   warnings {types['SlaWarningRaised']}, escalations "
        f"{types['CaseEscalated']}, reminders {types['EscalationReminderIssued']}, closures "
        f"{types['ClosedForReporterSilence']}, "
        f"withdrawals {types['WithdrawnForMissingInformation']}",
        f"  deadletter              {reasons}",
        f"  simulated clock         {result.clock_end.isoformat()} at the end"
        + ("" if result.drained else "; the engine did NOT drain within the timeout"),
    ]
    if result.cluster is not None:
        lines += cluster_lines(result.cluster)
    for crash in result.crash_lines[:5]:
        lines.append(f"  worker exit (restarted) {crash}")
    for case in v.mismatched[:8]:
        hints = [
            f"dead-lettered {r} x{n}"
            for r, n in topics.deadletter_by_case.get(case.case_id, {}).items()
        ]
        if case.overtaking:
            hints.append("a command was published before its intake")
        hint = f" [{'; '.join(hints)}]" if hints else ""
        lines.append(f"  mismatch {case.case_id}{hint}: {'; '.join(case.problems)}")
    lines.append(
        f"  RESULT: {'ok' if result.ok else 'FAILED'} (seed {c.seed}; replay: python -m chaos "
        f"--seed {c.seed} --messages {c.messages})"
    )
    return lines
