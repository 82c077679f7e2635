"""What a cluster run adds to the summary: each broker failure's longest stall, the gateway's
answers against min.insync.replicas."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from chaos.cluster_faults import Step
from chaos.gateway_probe import Answer, GatewayVerdict


@dataclass
class StepReport:
    step: Step
    engine_stall: float  # longest time input waited with no committed output, during the step
    gateway_wait: float  # longest time between two 202 answers of the probe, during the step
    answers: dict[int, int] = field(default_factory=dict)  # status -> count, during the step


@dataclass
class ClusterOutcome:
    nodes: int
    steps: list[StepReport]
    gateway: GatewayVerdict

    wanted_steps: tuple[str, ...] = ()

    @property
    def happened(self) -> bool:
        """The run did what it is for: every failure, and the gateway probed on both sides."""
        g = self.gateway
        probed_without = g.refused_without > 0 or "two-brokers" not in self.wanted_steps
        done = tuple(s.step.name for s in self.steps) == self.wanted_steps
        return done and g.accepted_with_quorum > 0 and probed_without

    @property
    def ok(self) -> bool:
        return self.gateway.ok and self.happened


def step_reports(
    steps: list[Step], stalls: list[tuple[float, float]], answers: list[Answer]
) -> list[StepReport]:
    """Per step, from its first kill to the cluster being in sync again (plus 10 s to settle)."""
    reports = []
    for step in steps:
        start, end = step.began, step.healed + 10.0
        engine = [min(b, end) - max(a, start) for a, b in stalls if a <= end and start <= b]
        during = [x for x in answers if start <= x.began <= end]
        accepted = [x.ended for x in during if x.status == 202]
        marks = [start, *accepted, max(end, *accepted) if accepted else end]
        counts: dict[int, int] = {}
        for x in during:
            counts[x.status] = counts.get(x.status, 0) + 1
        reports.append(
            StepReport(
                step,
                max(engine, default=0.0),
                max((b - a for a, b in pairwise(marks)), default=0.0),
                counts,
            )
        )
    return reports


def cluster_lines(outcome: ClusterOutcome) -> list[str]:
    g = outcome.gateway
    lines = [f"  cluster                 {outcome.nodes} KRaft nodes, 3 replicas, min.insync 2"]
    if not outcome.happened:
        lines.append(
            "  cluster run INCOMPLETE  not every failure happened, or the gateway was not probed "
            "with 2+ and with 1 broker up"
        )
    for report in outcome.steps:
        s = report.step
        answers = ", ".join(f"{n} x {code}" for code, n in sorted(report.answers.items()))
        lines.append(
            f"  failure {s.name:<15} {s.detail}; back {s.restarted - s.began:.0f} s, in sync "
            f"{s.healed - s.began:.0f} s; longest stall: engine {report.engine_stall:.1f} s, "
            f"gateway {report.gateway_wait:.1f} s without a 202 ({answers or 'no answers'})"
        )
    recovery = ", ".join(f"{n} x {c}" for c, n in sorted(g.during_recovery.items())) or "none"
    lines += [
        f"  gateway with 2+ of 3    {g.accepted_with_quorum} accepted (202, longest "
        f"{g.longest_accept:.1f} s), {len(g.refused_with_quorum)} refused",
        f"  gateway with 1 of 3     {g.refused_without} answered 503 (longest "
        f"{g.longest_refusal:.1f} s, bound {g.bound:.0f} s), {len(g.slow_refusals)} late or not "
        f"503, {len(g.accepted_without)} accepted (false acknowledgements)",
        f"  gateway acknowledged    {len(g.missing_acknowledged)} of the 202s missing on "
        f"complaints.intake; rejoining after the quorum loss (not judged): {recovery}",
    ]
    for answer in (g.refused_with_quorum + g.accepted_without + g.slow_refusals)[:5]:
        lines.append(f"  gateway problem         {answer}")
    return lines
