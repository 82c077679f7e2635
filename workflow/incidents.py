"""Mass complaints: which complaints are about one incident (the pure linking function).

When a bridge collapses or the water stops in a village, many reporters complain within hours,
through different channels and in their own words. Two complaints are about one incident when
they are near in place, close in time and similar in text:

- place: the same village (Kemendagri code), or one village named in both texts or addresses,
  or coordinates within `NEAR_METRES` of each other;
- time: received within `WINDOW` of each other;
- text: after normalising the Indonesian (lower case, no punctuation, no stop words, no village
  names, common affixes stripped), rapidfuzz's ``token_set_ratio`` of the two token sets is at
  least `MIN_SIMILARITY`.

`link` groups a batch into the connected groups of that relation (a later report that matches
two earlier groups joins them). An incident of one complaint is no incident. The streaming
detector (keyed by area, its own agent) is not built yet; this is the function it would call.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapidfuzz import fuzz

__all__ = [
    "MIN_SIMILARITY",
    "NEAR_METRES",
    "WINDOW",
    "Complaint",
    "link",
    "normalised_tokens",
    "same_incident",
]

WINDOW = timedelta(hours=48)
NEAR_METRES = 3000.0
MIN_SIMILARITY = 65.0

_STOP_WORDS = frozenset(
    """yang di ke dari dan atau ini itu ada sudah belum tidak tak sejak sampai karena untuk
    dengan pada dalam kami saya kita warga mohon tolong segera pak bu bapak ibu desa negeri
    kampung dusun kecamatan kabupaten kota jalan jl sini sana sangat sekali lagi juga masih
    tadi hari kemarin pagi siang sore malam jam dua tiga total bisa dapat akan telah agar
    harap terima kasih""".split()  # noqa: SIM905 - a word list reads best as text
)
_PREFIXES = ("meng", "meny", "mem", "men", "me", "ber", "ter", "di", "pe")
_SUFFIXES = ("nya", "kan", "an", "lah")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Complaint:
    """What linking needs of a complaint (from its ``CaseOpened``)."""

    case_id: str
    received_at: datetime
    text: str
    village_code: str | None = None
    """The Kemendagri village code (``81.01.05.2001``) when the channel gave one."""
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None


def _stem(word: str) -> str:
    """A light Indonesian stemmer: one suffix, then one prefix, keeping at least 4 letters."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    for prefix in _PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 4:
            return word[len(prefix) :]
    return word


def normalised_tokens(text: str, places: Iterable[str] = ()) -> list[str]:
    """The content words of ``text``, stemmed, without stop words and without ``places``."""
    skip = {p.casefold() for p in places}
    words = _WORD.findall(text.casefold())
    return [_stem(w) for w in words if w not in _STOP_WORDS and w not in skip and len(w) > 1]


def _places_named(complaint: Complaint, villages: Iterable[str]) -> set[str]:
    text = f"{complaint.text} {complaint.address or ''}".casefold()
    words = set(_WORD.findall(text))
    return {v.casefold() for v in villages if v.casefold() in words}


def _metres(a: Complaint, b: Complaint) -> float | None:
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))  # type: ignore[arg-type]
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def _near(a: Complaint, b: Complaint, villages: Sequence[str]) -> bool:
    if a.village_code is not None and a.village_code == b.village_code:
        return True
    if _places_named(a, villages) & _places_named(b, villages):
        return True
    distance = _metres(a, b)
    return distance is not None and distance <= NEAR_METRES


def similarity(a: Complaint, b: Complaint, villages: Sequence[str] = ()) -> float:
    """0-100: how alike the two texts are once normalised (place names left out)."""
    left = " ".join(sorted(set(normalised_tokens(a.text, villages))))
    right = " ".join(sorted(set(normalised_tokens(b.text, villages))))
    if not left or not right:
        return 0.0
    return float(fuzz.token_set_ratio(left, right))


def same_incident(a: Complaint, b: Complaint, villages: Sequence[str] = ()) -> bool:
    """Near in place, close in time and similar in text (see the module docstring)."""
    if abs(a.received_at - b.received_at) > WINDOW:
        return False
    return _near(a, b, villages) and similarity(a, b, villages) >= MIN_SIMILARITY


def link(complaints: Iterable[Complaint], villages: Sequence[str] = ()) -> dict[str, str]:
    """case id -> incident id (the case id of its earliest complaint), for every complaint that
    shares an incident with at least one other; ``villages``: the names to look for in texts.

    An incident is a connected group of the `same_incident` relation: a later report that
    matches two earlier groups joins them (people describe one collapse in different words)."""
    ordered = sorted(complaints, key=lambda c: (c.received_at, c.case_id))
    parent = list(range(len(ordered)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for j, later in enumerate(ordered):
        for i in range(j - 1, -1, -1):
            if later.received_at - ordered[i].received_at > WINDOW:
                break  # sorted by time: nothing earlier is close enough
            if root(i) != root(j) and same_incident(ordered[i], later, villages):
                parent[max(root(i), root(j))] = min(root(i), root(j))
    groups: dict[int, list[Complaint]] = {}
    for i, complaint in enumerate(ordered):
        groups.setdefault(root(i), []).append(complaint)
    return {
        member.case_id: members[0].case_id
        for members in groups.values()
        if len(members) > 1
        for member in members
    }
