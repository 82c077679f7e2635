"""Where a complaint is: the kecamatan and village it names, or the nearest kecamatan centre.

The gazetteer is data (``workflow/defaults/gazetteer_maluku_tengah.yaml``); matching is on whole
normalised words, longest name first, so "Hitu Lama" wins over a shorter name inside it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

__all__ = ["DEFAULT_GAZETTEER_PATH", "Gazetteer", "Place", "distance_km", "load_gazetteer"]

DEFAULT_GAZETTEER_PATH = Path(__file__).parent.parent / "defaults" / "gazetteer_maluku_tengah.yaml"
NEAREST_CENTRE_KM = 30.0
"""Coordinates farther than this from every kecamatan centre are outside the regency."""
_EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True, slots=True)
class Place:
    kecamatan: str
    village: str | None = None


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle (haversine) distance between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(h))


class Gazetteer:
    def __init__(
        self,
        names: dict[str, Place],
        centres: dict[str, tuple[float, float]],
    ) -> None:
        # Longest first: a multi-word name beats the shorter name it contains.
        self._names = sorted(names.items(), key=lambda item: -len(item[0]))
        self._centres = centres

    @property
    def place_words(self) -> frozenset[str]:
        """Every word of every place name (the text similarity leaves them out)."""
        return frozenset(word for name, _ in self._names for word in name.split())

    def named_in(self, text: str) -> Place | None:
        """The most specific place named in ``text`` (a village over a kecamatan)."""
        haystack = _words(text)
        found = [place for name, place in self._names if f" {name} " in haystack]
        villages = [place for place in found if place.village is not None]
        return (villages or found)[0] if found else None

    def nearest(self, point: tuple[float, float]) -> Place | None:
        kecamatan, centre = min(self._centres.items(), key=lambda kv: distance_km(point, kv[1]))
        return Place(kecamatan) if distance_km(point, centre) <= NEAREST_CENTRE_KM else None


@cache
def load_gazetteer(path: Path = DEFAULT_GAZETTEER_PATH) -> Gazetteer:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    names: dict[str, Place] = {}
    centres: dict[str, tuple[float, float]] = {}
    for kecamatan, entry in data["kecamatan"].items():
        lat, lon = entry["centre"]
        centres[kecamatan] = (float(lat), float(lon))
        for alias in [kecamatan, *entry.get("aliases", ())]:
            names[_words(alias).strip()] = Place(kecamatan)
        for village in entry.get("villages", ()):
            names[_words(village).strip()] = Place(kecamatan, village)
    return Gazetteer(names, centres)
