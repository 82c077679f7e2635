"""Linking cases to incidents through decide/evolve: idempotent, audited, undoable for good."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

from tests.unit.test_core_support import OFFICER, REPORTER, T0, Driver
from workflow.case import Case
from workflow.commands import LinkToIncident, UnlinkFromIncident
from workflow.incidents.case_links import IncidentPriority, incident_priority

_IDS = itertools.count(1)


def link(case_id: str, incident: str, reporters: int, event_id: str | None = None) -> Any:
    return LinkToIncident.model_validate(
        {
            "event_id": event_id or f"link-{next(_IDS)}",
            "occurred_at": T0,
            "case_id": case_id,
            "payload": {"incident_id": incident, "reporters": reporters, "score": 0.8},
        }
    )


def unlink(case_id: str, incident: str, actor: dict[str, Any] = OFFICER) -> Any:
    return UnlinkFromIncident.model_validate(
        {
            "event_id": f"unlink-{next(_IDS)}",
            "occurred_at": T0,
            "case_id": case_id,
            "payload": {"actor": actor, "incident_id": incident, "reason": "lain kejadian"},
        }
    )


def test_a_link_is_recorded_once_and_rises_with_more_reporters() -> None:
    d = Driver()
    first = link(d.c.case_id, "INC-a", 2, event_id="link-fixed")
    assert [e.type for e in d.apply(first)] == ["IncidentLinked"]
    assert (d.c.incident_id, d.c.incident_reporters) == ("INC-a", 2)
    assert d.apply(first) == []  # redelivered
    assert d.apply(link(d.c.case_id, "INC-a", 2)) == []  # replayed by the detector
    assert [e.type for e in d.apply(link(d.c.case_id, "INC-a", 12))] == ["IncidentLinked"]
    assert incident_priority(d.c.incident_reporters) is IncidentPriority.URGENT
    assert d.c.state.value == "received"  # linking changes no lifecycle state


def test_an_operator_unlinks_and_the_case_is_never_relinked_to_that_incident() -> None:
    d = Driver()
    d.apply(link(d.c.case_id, "INC-a", 3))
    assert [e.type for e in d.apply(unlink(d.c.case_id, "INC-a"))] == ["IncidentUnlinked"]
    assert d.c.incident_id is None
    assert d.c.incidents_refused == ("INC-a",)
    again = d.apply(link(d.c.case_id, "INC-a", 4))
    assert [(e.type, e.payload.reason_code) for e in again] == [  # type: ignore[union-attr]
        ("CommandRejected", "guard_failed")
    ]
    assert d.c.incident_id is None
    assert [e.type for e in d.apply(link(d.c.case_id, "INC-b", 2))] == ["IncidentLinked"]


def test_a_reporter_may_not_unlink_and_a_wrong_incident_is_refused() -> None:
    d = Driver()
    d.apply(link(d.c.case_id, "INC-a", 2))
    codes = [
        d.apply(unlink(d.c.case_id, "INC-a", actor=REPORTER))[0].payload.reason_code,  # type: ignore[union-attr]
        d.apply(unlink(d.c.case_id, "INC-z"))[0].payload.reason_code,  # type: ignore[union-attr]
        d.apply(link(d.c.case_id, "INC-other", 5))[0].payload.reason_code,  # type: ignore[union-attr]
    ]
    assert codes == ["forbidden", "guard_failed", "guard_failed"]
    assert d.c.incident_id == "INC-a"


def test_a_closed_case_is_not_linked() -> None:
    d = Driver()
    d.send("WithdrawComplaint", actor=REPORTER, after=timedelta(hours=1))
    events = d.apply(link(d.c.case_id, "INC-a", 2))
    assert events[0].payload.reason_code == "not_allowed_in_state"  # type: ignore[union-attr]


def test_replaying_the_audit_trail_rebuilds_the_links_and_old_snapshots_load() -> None:
    d = Driver()
    d.apply(link(d.c.case_id, "INC-a", 2))
    d.apply(unlink(d.c.case_id, "INC-a"))
    d.apply(link(d.c.case_id, "INC-b", 3))
    assert d.wf.replay(d.events) == d.c
    old = json.loads(d.c.model_dump_json())
    for field in ("incident_id", "incident_reporters", "incidents_refused"):
        del old[field]
    loaded = Case.model_validate(old)
    assert (loaded.incident_id, loaded.incident_reporters, loaded.incidents_refused) == (
        None,
        0,
        (),
    )
