"""Incident linking (issue 18, part 1): the pure function, measured on the labelled synthetic set
(tests/unit/incident_set.py). The threshold and the grouping were chosen looking at seeds 1, 2,
7-11 and 20261201; measured here on seeds 12-16, looked at only once the rules were fixed."""

from __future__ import annotations

from datetime import timedelta

from incident_set import START, VILLAGES, generate, pair_scores

from workflow.incidents import Complaint, link, normalised_tokens, same_incident

NAMES = list(VILLAGES)
UNSEEN_SEEDS = (12, 13, 14, 15, 16)


def _c(case_id: str, text: str, hours: float = 0, **where: object) -> Complaint:
    return Complaint(case_id, START + timedelta(hours=hours), text, **where)  # type: ignore[arg-type]


def test_indonesian_tokens_are_normalised() -> None:
    tokens = normalised_tokens("Air PDAM di Tulehu tidak mengalir sejak pagi!!", NAMES)
    assert tokens == ["air", "pdam", "alir"]


def test_two_incidents_in_one_village_on_one_day_stay_apart() -> None:
    water = _c("A", "Air PDAM di Tulehu mati sejak pagi", village_code="81.01.10.2001")
    bridge = _c("B", "Jembatan di Tulehu putus diterjang banjir", 1, address="Negeri Tulehu")
    assert not same_incident(water, bridge, NAMES)


def test_the_same_words_elsewhere_or_days_later_are_another_incident() -> None:
    a = _c("A", "Air PDAM di Tulehu mati sejak pagi", village_code="81.01.10.2001")
    far = _c("B", "Air PDAM di Hila mati sejak pagi", 2, village_code="81.01.11.2001")
    later = _c("C", "Air PDAM di Tulehu mati sejak pagi", 24 * 5, village_code="81.01.10.2001")
    assert not same_incident(a, far, NAMES)
    assert not same_incident(a, later, NAMES)


def test_one_village_by_code_by_name_or_by_coordinates() -> None:
    by_code = _c("A", "air pdam mati", village_code="81.01.10.2001")
    by_name = _c("B", "Sudah dua hari air PDAM tidak mengalir di Tulehu", 3)
    _, lat, lon = VILLAGES["Tulehu"]
    by_gps = _c("C", "Warga tidak dapat air bersih, PDAM mati", 5, latitude=lat, longitude=lon)
    near_name = _c("D", "PDAM mati, air tidak keluar", 6, address="RT 03, Negeri Tulehu")
    assert same_incident(by_name, near_name, NAMES)
    assert same_incident(by_gps, _c("E", "air PDAM mati", 7, latitude=lat, longitude=lon), NAMES)
    links = link([by_code, by_name, near_name], NAMES)
    assert links == {"B": "B", "D": "B"}  # the code alone names no village in the text


def test_precision_and_recall_on_the_labelled_set() -> None:
    figures = []
    for seed in UNSEEN_SEEDS:
        data = generate(seed)
        predicted = link([x.complaint for x in data], NAMES)
        figures.append(pair_scores(data, predicted))
    precision = sum(p for p, _ in figures) / len(figures)
    recall = sum(r for _, r in figures) / len(figures)
    assert precision >= 0.9, figures
    assert recall >= 0.9, figures
    assert min(p for p, _ in figures) >= 0.85, figures
    assert min(r for _, r in figures) >= 0.85, figures
