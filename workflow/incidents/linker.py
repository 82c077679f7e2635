"""The incident linker: which complaints are about the same incident (pure, incremental).

A complaint becomes a `Sighting` (its place, its normalised words, its time). Sightings are
kept per area (kecamatan) for a time window; a new one joins the incident of the best matching
recent sighting, or opens an incident with it. The same function serves the stream (one area's
state in a table) and the offline measurement (`link_all`), so what is measured is what runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import AwareDatetime

from workflow.incidents.gazetteer import Gazetteer, Place, distance_km, load_gazetteer
from workflow.incidents.text import normalised_tokens, text_similarity
from workflow.values import FrozenModel, Location

__all__ = [
    "AreaState",
    "IncidentLink",
    "LinkRules",
    "Sighting",
    "incident_id_for",
    "link_all",
    "link_sighting",
    "match_score",
    "needed_similarity",
    "refuse_link",
    "sighting_of",
]


class LinkRules(FrozenModel):
    window: timedelta = timedelta(hours=48)
    near_km: float = 2.0
    """Coordinates this close are one place."""
    far_km: float = 10.0
    """Coordinates this far apart are never one incident, whatever the text names."""
    near_text: float = 0.6
    """Text similarity needed in one village (or within ``near_km``)."""
    unplaced_text: float = 0.65
    """Text similarity needed when one side names no village (an unknown village is no sign of
    another place)."""
    area_text: float = 0.75
    """Text similarity needed across villages of one kecamatan."""


class Sighting(FrozenModel):
    case_id: str
    received_at: AwareDatetime
    kecamatan: str
    village: str | None = None
    point: tuple[float, float] | None = None
    tokens: tuple[str, ...] = ()
    incident_id: str | None = None


class IncidentLink(FrozenModel):
    case_id: str
    incident_id: str


class AreaState(FrozenModel):
    """One kecamatan's recent sightings and the links an operator undid."""

    sightings: tuple[Sighting, ...] = ()
    refused: frozenset[tuple[str, str]] = frozenset()
    """(case_id, incident_id) pairs an operator unlinked: never linked again."""


def incident_id_for(first_case_id: str) -> str:
    """An incident is named after its first case, so replays name it the same."""
    return f"INC-{first_case_id}"


def sighting_of(
    case_id: str,
    received_at: datetime,
    text: str,
    location: Location | None = None,
    gazetteer: Gazetteer | None = None,
) -> Sighting | None:
    """The sighting of a complaint, or None when it names no place in the regency."""
    places = gazetteer or load_gazetteer()
    point = None
    if location is not None and location.latitude is not None and location.longitude is not None:
        point = (location.latitude, location.longitude)
    address = location.address if location is not None and location.address else ""
    place: Place | None = places.named_in(f"{address} {text}")
    if place is None and point is not None:
        place = places.nearest(point)
    if place is None:
        return None
    tokens = normalised_tokens(text, leave_out=places.place_words)
    return Sighting(
        case_id=case_id,
        received_at=received_at,
        kecamatan=place.kecamatan,
        village=place.village,
        point=point,
        tokens=tokens,
    )


def needed_similarity(a: Sighting, b: Sighting, rules: LinkRules) -> float | None:
    """The text similarity two sightings need to be one incident (None: never, by place/time)."""
    if abs(a.received_at - b.received_at) > rules.window or a.kecamatan != b.kecamatan:
        return None
    needed = rules.area_text
    if a.village is None or b.village is None:
        needed = rules.unplaced_text
    elif a.village == b.village:
        needed = rules.near_text
    if a.point is not None and b.point is not None:
        km = distance_km(a.point, b.point)
        if km > rules.far_km:
            return None
        needed = rules.near_text if km <= rules.near_km else needed
    return needed


def match_score(
    new: Sighting, old: Sighting, rules: LinkRules, incident_words: tuple[str, ...] = ()
) -> float | None:
    """How alike two sightings are (0..1), or None when they cannot be one incident.

    ``incident_words``: every word of ``old``'s incident, so a reporter who words it like any
    earlier reporter of the incident matches, not only like ``old``.
    """
    needed = needed_similarity(new, old, rules)
    if needed is None:
        return None
    score = max(
        text_similarity(new.tokens, old.tokens), text_similarity(new.tokens, incident_words)
    )
    return score if score >= needed else None


def _incident_words(sightings: tuple[Sighting, ...]) -> dict[str, tuple[str, ...]]:
    words: dict[str, set[str]] = {}
    for s in sightings:
        if s.incident_id is not None:
            words.setdefault(s.incident_id, set()).update(s.tokens)
    return {incident: tuple(sorted(ws)) for incident, ws in words.items()}


def link_sighting(
    state: AreaState, new: Sighting, rules: LinkRules | None = None
) -> tuple[AreaState, tuple[IncidentLink, ...]]:
    """Add ``new`` to its area; the links to emit (none, or the new case and maybe its match)."""
    rules = rules or LinkRules()
    recent = tuple(
        s
        for s in state.sightings
        if new.received_at - s.received_at <= rules.window and s.case_id != new.case_id
    )
    vocabulary = _incident_words(recent)
    best: tuple[float, Sighting] | None = None
    for old in recent:
        incident = old.incident_id or incident_id_for(old.case_id)
        if (new.case_id, incident) in state.refused:
            continue
        score = match_score(new, old, rules, vocabulary.get(incident, ()))
        if score is not None and (best is None or score > best[0]):
            best = (score, old)
    if best is None:
        return state.model_copy(update={"sightings": (*recent, new)}), ()
    match = best[1]
    incident = match.incident_id or incident_id_for(match.case_id)
    links = [IncidentLink(case_id=new.case_id, incident_id=incident)]
    if match.incident_id is None:
        links.insert(0, IncidentLink(case_id=match.case_id, incident_id=incident))
        recent = tuple(
            s.model_copy(update={"incident_id": incident}) if s is match else s for s in recent
        )
    joined = new.model_copy(update={"incident_id": incident})
    return state.model_copy(update={"sightings": (*recent, joined)}), tuple(links)


def refuse_link(state: AreaState, case_id: str, incident_id: str) -> AreaState:
    """An operator unlinked ``case_id`` from ``incident_id``: forget and never relink it."""
    sightings = tuple(
        s.model_copy(update={"incident_id": None})
        if s.case_id == case_id and s.incident_id == incident_id
        else s
        for s in state.sightings
    )
    refused = state.refused | {(case_id, incident_id)}
    return state.model_copy(update={"sightings": sightings, "refused": refused})


def link_all(sightings: Iterable[Sighting], rules: LinkRules | None = None) -> dict[str, str]:
    """Offline: every case's incident (cases in no incident are absent), in arrival order."""
    areas: dict[str, AreaState] = {}
    incidents: dict[str, str] = {}
    for sighting in sorted(sightings, key=lambda s: s.received_at):
        state = areas.get(sighting.kecamatan, AreaState())
        areas[sighting.kecamatan], links = link_sighting(state, sighting, rules)
        incidents.update((link.case_id, link.incident_id) for link in links)
    return incidents
