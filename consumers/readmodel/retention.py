"""Retention: the history stays in the database after ``cases.events`` forgets it, but the
personal data of a case closed long enough ago is removed (`purge_personal_data`).

A case is *closed since* the time of its last event, once it is in a final state. Purging it:

* the reporter's name, phone, e-mail and pseudonym go (snapshot and every event); what stays is
  the confidentiality level and whether the reporter was contactable;
* free text (subject, complaint text, notes, questions, answers, plans, resolutions, reasons)
  keeps its words but loses phone numbers, e-mail addresses, NIK, long numbers and the reporter's
  name (`workflow.redaction.redact`); a location keeps its region and coordinates, not its address;
* the row is marked ``purged``, so the projection never writes the old snapshot back (it only
  replaces older versions) and a rebuild comparison does not count it as a difference.

Statistics (states, agencies, times, escalations) are untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, false, func, select, true, update

from consumers.readmodel.columns import to_column
from consumers.readmodel.schema import cases, events
from consumers.readmodel.store import SqlReadModel
from workflow.case import Case
from workflow.codec import parse_event
from workflow.redaction import redact
from workflow.reporter import ReporterView

FREE_TEXT = frozenset(
    {"subject", "text", "note", "question", "answer", "plan", "resolution_text", "reason", "detail"}
)
_IDENTITY = ("name", "phone", "email", "pseudonym")


def purge_personal_data(store: SqlReadModel, closed_before: datetime) -> int:
    """Remove the personal data of every case final since before ``closed_before``; returns how
    many cases were purged (already purged ones are not counted again)."""
    last_event = (
        select(events.c.case_id, func.max(events.c.occurred_at).label("last_at"))
        .group_by(events.c.case_id)
        .subquery()
    )
    due = (
        select(cases.c.case_id, cases.c.snapshot)
        .join(last_event, last_event.c.case_id == cases.c.case_id, isouter=True)
        .where(cases.c.is_final == true(), cases.c.purged == false())
        .where(func.coalesce(last_event.c.last_at, cases.c.opened_at) < to_column(closed_before))
    )
    purged = 0
    with store.engine.begin() as conn:
        for case_id, snapshot in conn.execute(due).all():
            case = Case.model_validate_json(snapshot)
            names = [case.reporter.name] if case.reporter.name else []
            clean = case.model_copy(
                update={
                    "reporter": _stripped(case.reporter),
                    "subject": redact(case.subject, names),
                }
            )
            conn.execute(
                update(cases)
                .where(cases.c.case_id == case_id)
                .values(snapshot=clean.model_dump_json(), purged=True)
            )
            _purge_events(conn, case_id, names)
            purged += 1
    return purged


def _stripped(reporter: ReporterView) -> ReporterView:
    return reporter.model_copy(update=dict.fromkeys(_IDENTITY))


def _purge_events(conn: Connection, case_id: str, names: Iterable[str]) -> None:
    rows = conn.execute(
        select(events.c.event_id, events.c.body).where(events.c.case_id == case_id)
    ).all()
    for event_id, body in rows:
        cleaned = json.dumps(_clean(json.loads(body), list(names)), ensure_ascii=False)
        parse_event(cleaned.encode())  # still a valid event: the history stays readable
        conn.execute(update(events).where(events.c.event_id == event_id).values(body=cleaned))


def _clean(value: Any, names: list[str]) -> Any:
    if isinstance(value, list):
        return [_clean(v, names) for v in value]
    if not isinstance(value, dict):
        return value
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        if key == "reporter" and isinstance(item, dict):
            cleaned[key] = {**item, **dict.fromkeys(_IDENTITY)}
        elif key == "address":
            cleaned[key] = None
        elif key in FREE_TEXT and isinstance(item, str):
            cleaned[key] = redact(item, names)
        else:
            cleaned[key] = _clean(item, names)
    return cleaned
