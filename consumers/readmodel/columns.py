"""What a case's and an event's rows hold: the indexed columns derived from the snapshot."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from consumers.adapters.open311 import GENERAL_SERVICE
from workflow.case import Case
from workflow.disclosure import public_disclosure
from workflow.events import Event
from workflow.policy import Policy
from workflow.responsibility import responsible_agency, stage_calendar
from workflow.sla import deadline


def due_at(policy: Policy | None, case: Case) -> datetime | None:
    """The running stage clock's deadline in the agency's calendar (None: no running clock)."""
    clock = case.timers.clock
    if policy is None or clock is None or clock.paused or case.is_final:
        return None
    return deadline(clock, stage_calendar(policy, case, clock.stage))


def service_code(case: Case) -> str:
    """The Open311 service code of a case: its category, or the general service."""
    return case.category.value if case.category else GENERAL_SERVICE


def to_column(moment: datetime) -> datetime:
    """An aware instant as the naive UTC value both databases store."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def from_column(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC)


def case_row(case: Case, policy: Policy | None, snapshot: str | None = None) -> dict[str, Any]:
    """The ``cases`` row of a snapshot; ``snapshot`` is its JSON text as read (kept verbatim)."""
    due = due_at(policy, case)
    opened = to_column(case.opened_at)
    return {
        "case_id": case.case_id,
        "version": case.version,
        "state": case.state.value,
        "agency": responsible_agency(case),
        "escalation_level": case.escalation_level,
        "channel": case.channel.value,
        "category": case.category.value if case.category else None,
        "service_code": service_code(case),
        "is_final": case.is_final,
        "listed": public_disclosure(case).listed,
        "opened_at": opened,
        "due_at": None if due is None else to_column(due),
        "no_due": due is None,
        "queue_at": opened if due is None else to_column(due),
        "purged": False,
        "snapshot": snapshot if snapshot is not None else case.model_dump_json(),
    }


def event_row(event: Event, partition: int, offset: int, body: str) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "case_id": event.case_id,
        "partition": partition,
        "offset": offset,
        "occurred_at": to_column(event.occurred_at),
        "body": body,
    }
