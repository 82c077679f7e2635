"""Work queues by role, and the SLA clock as the console shows it (time left in office hours).

Queues are `consumers.readmodel.queries.QueueQuery` questions to the read model (its contract,
so any store behind it answers them); rows the operator may not see (`views.may_see`) are
dropped as a second line of defence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from consumers.gateway.console.labels import STAGES, word
from consumers.gateway.security import Operator, OperatorRole
from consumers.gateway.views import may_see
from consumers.readmodel.queries import CaseQueries, QueueEntry, QueueQuery
from states.lifecycle import CaseState
from workflow.case import Case
from workflow.policy import Policy
from workflow.responsibility import stage_calendar
from workflow.sla import DayType, remaining_seconds

S = CaseState
PAGE_SIZE = 50


@dataclass(frozen=True)
class QueueSpec:
    name: str
    label: str
    states: frozenset[CaseState] = frozenset()
    escalated: bool = False
    own_agency: bool = False
    """Only the operator's agency (the liaison's queue)."""


QUEUES: dict[str, QueueSpec] = {
    q.name: q
    for q in (
        QueueSpec(
            "verifikasi", "Verifikasi", frozenset({S.RECEIVED, S.VERIFYING, S.AWAITING_INFORMATION})
        ),
        QueueSpec("instansi", "Instansi", frozenset({S.REFERRED, S.IN_PROGRESS}), own_agency=True),
        QueueSpec("eskalasi", "Eskalasi", escalated=True),
        QueueSpec("semua", "Semua kasus aktif"),
    )
}

ROLE_QUEUES: dict[OperatorRole, tuple[str, ...]] = {
    OperatorRole.VERIFIER: ("verifikasi",),
    OperatorRole.AGENCY_OFFICER: ("instansi",),
    OperatorRole.ESCALATION_OFFICER: ("eskalasi",),
    OperatorRole.ADMIN: ("verifikasi", "instansi", "eskalasi", "semua"),
}


@dataclass(frozen=True)
class Filters:
    agency: str | None = None
    channel: str | None = None
    category: str | None = None


def queue_query(spec: QueueSpec, operator: Operator, filters: Filters, page: int = 0) -> QueueQuery:
    """The read-model question for ``spec`` as ``operator`` asks it (a liaison: own agency)."""
    agency = filters.agency
    if operator.role is OperatorRole.AGENCY_OFFICER:
        agency = operator.agency
    return QueueQuery(
        states=spec.states,
        agency=agency,
        min_escalation_level=1 if spec.escalated else None,
        channel=filters.channel,
        category=filters.category,
        limit=PAGE_SIZE,
        offset=page * PAGE_SIZE,
    )


def queue_rows(
    model: CaseQueries, spec: QueueSpec, operator: Operator, filters: Filters, page: int = 0
) -> Sequence[QueueEntry]:
    entries = model.queue(queue_query(spec, operator, filters, page))
    return [e for e in entries if may_see(operator, e.case)]


def counts(model: CaseQueries, operator: Operator, filters: Filters) -> dict[str, int]:
    """Cases per queue of the operator's role, under the same filters."""
    return {
        name: model.count(queue_query(QUEUES[name], operator, filters))
        for name in ROLE_QUEUES[operator.role]
    }


@dataclass(frozen=True)
class ClockView:
    stage: str
    level: str
    """"ok", "warning", "breach", "paused" or "none" (a CSS class and a word)."""
    left: str
    due_at: datetime | None


def _duration(seconds: float, unit: DayType) -> str:
    minutes = int(abs(seconds) // 60)
    hours, minutes = divmod(minutes, 60)
    kind = "jam kerja" if unit is DayType.WORKING else "waktu kalender"
    return f"{hours} jam {minutes:02d} menit ({kind})"


def clock_view(case: Case, due_at: datetime | None, policy: Policy, now: datetime) -> ClockView:
    """The running stage clock: time left (office time of the agency's calendar), warning
    level and breach; ``due_at`` is the deadline the read model computed."""
    clock = case.timers.clock
    if clock is None or case.is_final:
        return ClockView("-", "none", "tidak ada batas waktu berjalan", None)
    stage = word(STAGES, clock.stage.value)
    if clock.paused:
        return ClockView(stage, "paused", "dihentikan sementara", None)
    left = remaining_seconds(clock, now, stage_calendar(policy, case, clock.stage))
    if clock.breached or left < 0:
        return ClockView(stage, "breach", f"terlambat {_duration(left, clock.unit)}", due_at)
    level = "warning" if clock.warned else "ok"
    return ClockView(stage, level, f"sisa {_duration(left, clock.unit)}", due_at)
