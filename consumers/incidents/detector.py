"""What the incident detector does per message (no faust here; `consumers.incidents.app` wires it).

Opened cases arrive re-keyed by area (kecamatan); one area's value holds the linker's window
(`workflow.incidents.linker.AreaState`) and each open incident's members. A new link sends
`LinkToIncident` to the new case; when the incident's priority rises (`incident_priority`), it
is sent again to every member, so each case carries the incident's current priority. Command ids
are derived from (case, incident, reporters): a replay after a crash sends the same commands and
the cases ignore them (`workflow.incidents.case_links`).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, Field

from workflow.commands import LinkIncidentPayload, LinkToIncident
from workflow.events import CaseOpened
from workflow.fastpaths import new_model
from workflow.incidents.case_links import incident_priority
from workflow.incidents.linker import (
    AreaState,
    LinkRules,
    Sighting,
    link_sighting,
    refuse_link,
    sighting_of,
)
from workflow.values import FrozenModel

__all__ = ["AreaValue", "link_command", "on_sighting", "on_unlinked", "sighting_from_opened"]


class AreaValue(FrozenModel):
    """One area's table value."""

    window: AreaState = AreaState()
    members: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    """Open incident -> its cases, in link order."""
    last_seen: AwareDatetime | None = None


def sighting_from_opened(event: CaseOpened) -> Sighting | None:
    p = event.payload
    return sighting_of(event.case_id, p.received_at, f"{p.subject}. {p.text}", p.location)


def link_command(case_id: str, incident_id: str, reporters: int, now: datetime) -> LinkToIncident:
    payload = new_model(LinkIncidentPayload, incident_id=incident_id, reporters=reporters)
    command: LinkToIncident = new_model(
        LinkToIncident,
        event_id=f"incident-link:{case_id}:{incident_id}:{reporters}",
        schema_version=1,
        occurred_at=now,
        case_id=case_id,
        causation_id=None,
        correlation_id=incident_id,
        payload=payload,
    )
    return command


def on_sighting(
    value: AreaValue, sighting: Sighting, now: datetime, rules: LinkRules | None = None
) -> tuple[AreaValue, list[LinkToIncident]]:
    """The area after ``sighting``, and the link commands to send."""
    window, links = link_sighting(value.window, sighting, rules)
    members = dict(value.members)
    commands: list[LinkToIncident] = []
    for incident in dict.fromkeys(link.incident_id for link in links):
        before = members.get(incident, ())
        new = [link.case_id for link in links if link.incident_id == incident]
        after = (*before, *(case for case in new if case not in before))
        members[incident] = after
        rose = incident_priority(len(after)) != incident_priority(len(before))
        told = after if rose and before else new
        commands += [link_command(case, incident, len(after), now) for case in told]
    live = {s.incident_id for s in window.sightings if s.incident_id is not None}
    kept = {incident: cases for incident, cases in members.items() if incident in live}
    updated = value.model_copy(update={"window": window, "members": kept, "last_seen": now})
    return updated, commands


def on_unlinked(value: AreaValue, case_id: str, incident_id: str) -> AreaValue:
    """An operator unlinked ``case_id``: the linker never puts it back in that incident."""
    members = dict(value.members)
    if incident_id in members:
        members[incident_id] = tuple(c for c in members[incident_id] if c != case_id)
    window = refuse_link(value.window, case_id, incident_id)
    return value.model_copy(update={"window": window, "members": members})
