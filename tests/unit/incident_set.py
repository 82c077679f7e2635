"""A labelled synthetic set of complaints for incident linking (issue 18, part 1).

Several incidents in Maluku Tengah villages, each reported by many people through different
channels in their own words (some give the village code, some coordinates, some only the name
in the text or address); near-duplicates (one reporter on two channels); noise complaints about
other things in the same villages and days; and two distinct incidents in one village on one
day (water cut and a collapsed bridge in Tulehu). Deterministic for a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from workflow.incidents import Complaint

WIT = ZoneInfo("Asia/Jayapura")
START = datetime(2026, 11, 2, 7, tzinfo=WIT)

#: Village -> (code, latitude, longitude); codes are of the Kemendagri form (illustrative).
VILLAGES: dict[str, tuple[str, float, float]] = {
    "Tulehu": ("81.01.10.2001", -3.5890, 128.3270),
    "Waai": ("81.01.10.2002", -3.5660, 128.3180),
    "Liang": ("81.01.10.2003", -3.5070, 128.3550),
    "Amahai": ("81.01.05.2001", -3.3380, 128.9190),
    "Masohi": ("81.01.05.1001", -3.3030, 128.9580),
    "Tehoru": ("81.01.07.2001", -3.3650, 129.5740),
    "Saparua": ("81.01.03.2001", -3.5760, 128.6560),
    "Hila": ("81.01.11.2001", -3.5870, 128.0870),
}

KINDS: dict[str, tuple[str, ...]] = {
    "water": (
        "Air PDAM di {v} mati sejak pagi, warga kesulitan air bersih",
        "Sudah dua hari air PDAM tidak mengalir di {v}",
        "air bersih mati total di desa {v}, pipa PDAM tidak keluar air",
        "Mohon PDAM segera perbaiki, air mati di {v}",
        "Warga {v} tidak dapat air bersih, PDAM mati",
        "air pdam mati di {v}!!! tolong",
    ),
    "bridge": (
        "Jembatan di {v} putus diterjang banjir",
        "jembatan penghubung {v} putus, warga tidak bisa lewat",
        "Jembatan {v} putus tadi malam, anak sekolah tidak bisa menyeberang",
        "mohon perbaiki jembatan yang putus di {v}",
        "Jembatan kayu di {v} ambruk dan putus",
    ),
    "power": (
        "Listrik padam di {v} sejak kemarin sore",
        "Lampu listrik padam total di {v}, belum ada perbaikan",
        "listrik di desa {v} padam sudah 12 jam",
        "Tolong listrik padam terus di {v}",
    ),
    "landslide": (
        "Longsor menutup jalan di {v}",
        "jalan ke {v} tertutup tanah longsor",
        "tanah longsor di {v}, jalan tidak bisa dilalui kendaraan",
        "Longsor besar di {v} menutup akses jalan",
    ),
}

NOISE = (
    "Pelayanan KTP elektronik di kantor Dukcapil lambat",
    "Guru SD sering tidak masuk kelas",
    "Bantuan sosial PKH tidak tepat sasaran",
    "Puskesmas tutup saat jam kerja",
    "Sampah menumpuk di pasar dan tidak diangkut",
    "Izin usaha saya belum diproses berbulan-bulan",
    "Jalan berlubang di depan sekolah membahayakan",
    "Petugas meminta uang untuk mengurus akta kelahiran",
    "Lampu jalan di depan kantor desa rusak",
    "Speedboat ke Ambon terlambat tanpa pemberitahuan",
)

#: (kind, village, reporters, hours after START the first report comes).
INCIDENTS: tuple[tuple[str, str, int, int], ...] = (
    ("water", "Tulehu", 12, 2),
    ("bridge", "Tulehu", 9, 4),  # the second incident in one village on one day
    ("power", "Amahai", 8, 30),
    ("landslide", "Tehoru", 7, 50),
    ("water", "Masohi", 10, 80),
    ("bridge", "Saparua", 6, 120),
)


@dataclass(frozen=True)
class Labelled:
    complaint: Complaint
    incident: str | None
    """The true incident (None: noise)."""


def _where(village: str, rng: random.Random) -> dict[str, object]:
    code, lat, lon = VILLAGES[village]
    style = rng.choice(("code", "coordinates", "address", "text"))
    if style == "code":
        return {"village_code": code}
    if style == "coordinates":
        return {
            "latitude": lat + rng.uniform(-0.005, 0.005),
            "longitude": lon + rng.uniform(-0.005, 0.005),
        }
    if style == "address":
        return {"address": f"RT 0{rng.randint(1, 9)}, Negeri {village}"}
    return {}


def generate(seed: int = 20261201) -> list[Labelled]:
    rng = random.Random(seed)
    out: list[Labelled] = []
    n = 0
    for index, (kind, village, reporters, first) in enumerate(INCIDENTS):
        label = f"{kind}@{village}#{index}"
        for _ in range(reporters):
            n += 1
            at = START + timedelta(hours=first, minutes=rng.randint(0, 20 * 60))
            text = rng.choice(KINDS[kind]).format(v=village)
            complaint = Complaint(f"C{n:04d}", at, text, **_where(village, rng))  # type: ignore[arg-type]
            out.append(Labelled(complaint, label))
            if rng.random() < 0.2:  # the same reporter again on another channel, minutes later
                n += 1
                again = Complaint(
                    f"C{n:04d}",
                    at + timedelta(minutes=rng.randint(5, 90)),
                    text.upper(),
                    **_where(village, rng),
                )  # type: ignore[arg-type]
                out.append(Labelled(again, label))
    for _ in range(40):
        n += 1
        village = rng.choice(list(VILLAGES))
        at = START + timedelta(hours=rng.randint(0, 150))
        text = f"{rng.choice(NOISE)} di {village}" if rng.random() < 0.5 else rng.choice(NOISE)
        out.append(Labelled(Complaint(f"C{n:04d}", at, text, **_where(village, rng)), None))  # type: ignore[arg-type]
    return out


def pair_scores(labelled: list[Labelled], predicted: dict[str, str]) -> tuple[float, float]:
    """(precision, recall) of the predicted links, counted over pairs of complaints."""
    truth = {x.complaint.case_id: x.incident for x in labelled if x.incident is not None}
    ids = [x.complaint.case_id for x in labelled]
    true_pairs = {
        (a, b)
        for i, a in enumerate(ids)
        for b in ids[i + 1 :]
        if a in truth and truth.get(b) == truth[a]
    }
    predicted_pairs = {
        (a, b)
        for i, a in enumerate(ids)
        for b in ids[i + 1 :]
        if a in predicted and predicted.get(b) == predicted[a]
    }
    hits = len(true_pairs & predicted_pairs)
    precision = hits / len(predicted_pairs) if predicted_pairs else 1.0
    recall = hits / len(true_pairs) if true_pairs else 1.0
    return precision, recall
