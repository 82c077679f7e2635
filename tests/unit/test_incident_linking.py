"""The incident linker (issue 18 part 1): place, words, time; measured on the labelled set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bench.incident_linking import score_links
from workflow.incidents.gazetteer import Place, load_gazetteer
from workflow.incidents.linker import (
    AreaState,
    Sighting,
    link_all,
    link_sighting,
    refuse_link,
    sighting_of,
)
from workflow.incidents.text import normalised_tokens
from workflow.values import Location

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def seen(case_id: str, text: str, hours: float = 0, location: Location | None = None) -> Sighting:
    sighting = sighting_of(case_id, T0 + timedelta(hours=hours), text, location)
    assert sighting is not None, text
    return sighting


def test_precision_and_recall_on_unseen_seeds_reach_the_target() -> None:
    result = score_links(range(11, 21))
    assert result.precision >= 0.9, result
    assert result.recall >= 0.9, result


def test_the_gazetteer_prefers_the_village_and_knows_its_kecamatan() -> None:
    places = load_gazetteer()
    assert places.named_in("jembatan di negeri Tulehu kec. Salahutu") == Place("Salahutu", "Tulehu")
    assert places.named_in("banjir di kecamatan Saparua") == Place("Saparua")
    assert places.named_in("di tengah tengah jalan") is None
    assert places.nearest((-3.59, 128.33)) == Place("Salahutu")
    assert places.nearest((-6.2, 106.8)) is None  # Jakarta is not in the regency


def test_sms_abbreviations_and_synonyms_normalise_to_the_same_words() -> None:
    words = ("listrik", "mati", "mati")
    assert normalised_tokens("listrik padam, tdk menyala") == words
    assert normalised_tokens("Listriknya mati, tidak menyala") == words


def test_near_duplicates_from_different_channels_are_one_incident() -> None:
    sms = seen("sms-1", "air pdam di tulehu tdk mengalir sdh 3 hari")
    web = seen("web-1", "Air PDAM di Negeri Tulehu tidak mengalir sudah tiga hari", hours=2)
    gps = seen(
        "app-1",
        "air pdam mati di sini",
        hours=3,
        location=Location(latitude=-3.59, longitude=128.33),
    )
    assert link_all([sms, web, gps]) == {c: "INC-sms-1" for c in ("sms-1", "web-1", "app-1")}


def test_two_incidents_in_one_village_stay_apart() -> None:
    links = link_all(
        [
            seen("w1", "Air PDAM di Tulehu tidak mengalir sejak senin"),
            seen("b1", "Jembatan di Tulehu ambruk setelah hujan deras", hours=1),
            seen("w2", "air pdam tulehu mati total", hours=2),
            seen("b2", "jembatan tulehu roboh, motor tidak bisa lewat", hours=3),
        ]
    )
    assert links == {"w1": "INC-w1", "w2": "INC-w1", "b1": "INC-b1", "b2": "INC-b1"}


def test_the_same_problem_elsewhere_or_a_week_later_is_not_linked() -> None:
    first = seen("a", "Air PDAM di Tulehu tidak mengalir")
    elsewhere = seen("b", "Air PDAM di Letwaru tidak mengalir", hours=1)
    later = seen("c", "Air PDAM di Tulehu tidak mengalir", hours=24 * 8)
    assert link_all([first, elsewhere, later]) == {}


def test_far_apart_coordinates_are_never_one_incident() -> None:
    a = seen("a", "longsor di jalan", location=Location(latitude=-3.33, longitude=128.92))
    b = seen("b", "longsor di jalan", hours=1, location=Location(latitude=-3.40, longitude=128.80))
    assert link_all([a, b]) == {}


def test_an_unlinked_case_is_not_linked_again_to_that_incident() -> None:
    state, _ = link_sighting(AreaState(), seen("a", "listrik padam di Haria"))
    state, links = link_sighting(state, seen("b", "listrik di Haria padam", hours=1))
    assert [link.case_id for link in links] == ["a", "b"]
    state = refuse_link(state, "b", "INC-a")
    _, again = link_sighting(state, seen("b", "listrik di Haria padam", hours=1))
    assert again == ()
