"""Normalised Indonesian tokens and their similarity (rapidfuzz, not a hand-rolled metric).

Normalising: lower case, SMS/chat abbreviations spelled out, synonyms of one failure merged,
a light affix strip, function words and place names left out (place is judged separately, and a
shared village name would make two different incidents in one village look alike).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz

__all__ = ["normalised_tokens", "text_similarity"]

ABBREVIATIONS = {
    "tdk": "tidak",
    "gak": "tidak",
    "ga": "tidak",
    "gk": "tidak",
    "nggak": "tidak",
    "enggak": "tidak",
    "yg": "yang",
    "sdh": "sudah",
    "udah": "sudah",
    "blm": "belum",
    "dgn": "dengan",
    "krn": "karena",
    "utk": "untuk",
    "jln": "jalan",
    "jl": "jalan",
    "jemb": "jembatan",
    "skrg": "sekarang",
    "hr": "hari",
    "bgt": "sangat",
    "sy": "saya",
    "kmi": "kami",
    "dr": "dari",
}
_STOPWORD_TEXT = """
    yang di ke dari dan atau sudah telah sejak kami saya kita ini itu ada tidak belum dengan
    untuk karena pada oleh akan bisa sangat sekali juga lagi masih mohon tolong pak bu bapak ibu
    warga desa negeri kecamatan kampung dusun kelurahan sekarang hari hingga sampai selama jam
    para semua kampung mulai kemarin tadi pagi siang sore malam apa mengapa kenapa segera hal
    dalam atas bawah agar supaya namun tetapi tapi sehingga jadi banyak kali ya mau minta harap
    dimohon terima kasih perhatian pemerintah lapor rt rw tindakan tolong diperbaiki perbaikan
    sini situ sana kec kab"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
SYNONYMS = {
    "padam": "mati",
    "roboh": "ambruk",
    "rubuh": "ambruk",
    "runtuh": "ambruk",
    "amblas": "ambruk",
    "macet": "mati",
}
"""Words reporters use for one failure, mapped to one of them."""
NOT_WORKING = re.compile(
    r"\b(?:tidak|tdk|tdak|gak|ga|nggak|belum|blm)\s+(?:mengalir|menyala|nyala|jalan|berfungsi|keluar)\b"
)
""""Not flowing/lit/working" says what "mati" says."""
_PREFIXES = ("meng", "mem", "men", "me", "di", "ter", "ber")
_SUFFIXES = ("nya", "kan", "an")


def _stem(word: str) -> str:
    """A light affix strip (not a full Indonesian stemmer): enough for "mengalir"/"aliran"."""
    for prefix in _PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 4:
            # meN- drops a root's first t: "menutup" is "tutup".
            vowel_after_men = prefix == "men" and word[3] in "aiueo"
            word = ("t" if vowel_after_men else "") + word[len(prefix) :]
            break
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def normalised_tokens(text: str, leave_out: Iterable[str] = ()) -> tuple[str, ...]:
    """Content words of ``text``, in order, normalised as the module docstring says."""
    skip = STOPWORDS | frozenset(leave_out)
    tokens = []
    for raw in re.findall(r"[a-z0-9]+", NOT_WORKING.sub(" mati ", text.lower())):
        word = ABBREVIATIONS.get(raw, raw)
        if word in skip or word.isdigit() or len(word) < 2:
            continue
        tokens.append(_stem(SYNONYMS.get(word, word)))
    return tuple(tokens)


def text_similarity(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """0..1: rapidfuzz's token-set ratio, which forgives word order and extra words."""
    if not a or not b:
        return 0.0
    return fuzz.token_set_ratio(" ".join(a), " ".join(b)) / 100.0
