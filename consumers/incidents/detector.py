"""What the incident detector does per message (no faust here; `consumers.incidents.app` wires it).

Opened cases arrive re-keyed by area (kecamatan). An area's recent sightings live in tumbling
windows of the linker's window size (48 h): the sightings of the last 48 h before a message are
all in its own window or the one before (`on_area` merges the two; a sighting changed since, its
incident set or cleared, is written again into the current window, whose copy wins). What must
outlive the windows (each open incident's members, the links an operator refused) is the area's
plain value (`AreaValue`, its ``window.sightings`` left empty). A new link sends
`LinkToIncident` to the new case; when the incident's priority rises (`incident_priority`), it
is sent again to every member, so each case carries the incident's current priority. Command ids
are derived from (case, incident, reporters): a replay after a crash sends the same commands and
the cases ignore them (`workflow.incidents.case_links`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import NamedTuple

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

__all__ = [
    "AreaStep",
    "AreaValue",
    "link_command",
    "merged_windows",
    "on_area",
    "on_sighting",
    "on_unlinked",
    "sighting_from_opened",
    "sightings_of",
    "split_window",
    "window_value",
    "written_sightings",
]


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


# -- the sightings in faust's tumbling windows (consumers.incidents.app) ------------------------


def sightings_of(stored: str) -> tuple[Sighting, ...]:
    """One window's sightings from its table value ("" for a window with none)."""
    if not stored:
        return ()
    return tuple(Sighting.model_validate(item) for item in json.loads(stored))


def window_value(sightings: tuple[Sighting, ...]) -> str:
    return json.dumps([s.model_dump(mode="json") for s in sightings])


def merged_windows(
    older: tuple[Sighting, ...], newer: tuple[Sighting, ...]
) -> tuple[Sighting, ...]:
    """The sightings of two consecutive windows; a later copy of a sighting (its incident set or
    cleared since) replaces the one in the earlier window."""
    later = {s.case_id for s in newer}
    return (*(s for s in older if s.case_id not in later), *newer)


def written_sightings(
    before: tuple[Sighting, ...], after: tuple[Sighting, ...]
) -> tuple[Sighting, ...]:
    """What a step added or changed: the sightings ``after`` holds that ``before`` did not."""
    kept = set(before)
    return tuple(s for s in after if s not in kept)


def split_window(value: AreaValue) -> tuple[AreaValue, tuple[Sighting, ...]]:
    """(the area's lasting part: open incidents and refused links; its sightings)."""
    window = value.window.model_copy(update={"sightings": ()})
    return value.model_copy(update={"window": window}), value.window.sightings


class AreaStep(NamedTuple):
    lasting: AreaValue
    """The area's plain table value (open incidents, refused links; no sightings)."""
    window: tuple[Sighting, ...] | None
    """The new value of the message's own window, None when it did not change."""
    commands: list[LinkToIncident]


def on_area(
    lasting: AreaValue,
    previous: tuple[Sighting, ...],
    current: tuple[Sighting, ...],
    message: Sighting | tuple[str, str],
    now: datetime,
    rules: LinkRules | None = None,
) -> AreaStep:
    """One area message (a sighting, or an unlinked (case, incident)) against the sightings of
    its window (``current``) and the window before (``previous``)."""
    # (A value written before the windowed table kept its sightings itself: moved over.)
    before = merged_windows(lasting.window.sightings, merged_windows(previous, current))
    value = lasting.model_copy(
        update={"window": lasting.window.model_copy(update={"sightings": before})}
    )
    commands: list[LinkToIncident] = []
    if isinstance(message, Sighting):
        value, commands = on_sighting(value, message, now, rules)
    else:
        value = on_unlinked(value, *message)
    lasting, after = split_window(value)
    changed = written_sightings(before, after)
    window = merged_windows(current, changed) if changed else None
    return AreaStep(lasting, window, commands)
