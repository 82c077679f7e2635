"""A labelled synthetic set for the incident linker (issue 18 part 1), generated from a seed.

Incidents in Maluku Tengah villages, each reported by several people through different channels
in their own words (SMS abbreviations, typos, word order, extra detail, the place named as the
village, the kecamatan or only by coordinates); two distinct incidents in one village (Tulehu:
water and a bridge, at the same time); and noise: unrelated complaints, and hard negatives (the
same kind of problem in another kecamatan at the same time, or in the same village a week later).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from workflow.values import Location

__all__ = ["LabelledComplaint", "labelled_set"]

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
CHANNELS = ("whatsapp", "sms", "web", "email", "call_centre", "mobile_app", "social_media")


@dataclass(frozen=True, slots=True)
class LabelledComplaint:
    case_id: str
    received_at: datetime
    channel: str
    text: str
    location: Location | None
    incident: str | None
    """The true incident (None: noise, in no incident)."""


@dataclass(frozen=True, slots=True)
class Scene:
    label: str
    village: str
    kecamatan: str
    point: tuple[float, float]
    phrasings: tuple[str, ...]


SCENES = (
    Scene(
        "tulehu-water",
        "Tulehu",
        "Salahutu",
        (-3.587, 128.327),
        (
            "Air PDAM di {place} tidak mengalir sudah tiga hari, warga kesulitan air bersih",
            "air pdam mati total di {place} sejak senin, tolong segera diperbaiki",
            "Sudah 3 hari air PDAM tidak mengalir ke rumah kami di {place}",
            "pdam {place} air tdk mengalir, kami beli air galon terus",
            "Kami warga {place} tidak dapat air bersih, pipa PDAM tidak mengalir",
        ),
    ),
    Scene(
        "tulehu-bridge",
        "Tulehu",
        "Salahutu",
        (-3.592, 128.335),
        (
            "Jembatan penghubung di {place} ambruk setelah hujan deras, "
            "anak sekolah tidak bisa lewat",
            "jembatan {place} ambruk, motor tidak bisa lewat, mohon perbaikan",
            "Jembatan kayu di {place} ambruk tadi malam, akses ke pasar terputus",
            "jembatan di {place} sdh ambruk, bahaya utk anak sekolah",
        ),
    ),
    Scene(
        "haria-power",
        "Haria",
        "Saparua",
        (-3.575, 128.640),
        (
            "Listrik PLN padam di {place} sejak kemarin sore belum menyala",
            "listrik padam total di {place}, sudah 20 jam belum menyala",
            "PLN {place} listrik padam terus, kulkas warga rusak",
            "Listrik di {place} padam dari kemarin, belum ada petugas PLN datang",
        ),
    ),
    Scene(
        "amahai-road",
        "Makariki",
        "Amahai",
        (-3.320, 128.905),
        (
            "Jalan trans Seram di {place} longsor, tertutup tanah dan batu, "
            "kendaraan tidak bisa lewat",
            "longsor menutup jalan di {place}, mobil tidak bisa lewat sejak pagi",
            "jalan {place} tertutup longsor tanah dan batu, belum dibersihkan",
            "Tanah longsor di jalan {place}, kendaraan antri panjang tidak bisa lewat",
        ),
    ),
    Scene(
        "masohi-garbage",
        "Namaelo",
        "Kota Masohi",
        (-3.297, 128.955),
        (
            "Sampah menumpuk di TPS {place} tidak diangkut seminggu, bau busuk",
            "TPS {place} sampah menumpuk tidak diangkut, bau sampai ke rumah",
            "sampah di tps {place} udah seminggu tdk diangkut, bau busuk",
        ),
    ),
    Scene(
        "hila-school",
        "Hila",
        "Leihitu",
        (-3.583, 128.086),
        (
            "Atap ruang kelas SD Negeri {place} roboh, murid belajar di teras",
            "atap kelas SD {place} roboh kemarin, murid tidak bisa belajar di kelas",
            "Ruang kelas SD di {place} atapnya roboh, bahaya untuk murid",
        ),
    ),
)

NOISE = (
    "Pelayanan KTP di kantor Dukcapil {place} lambat, sudah dua minggu belum selesai",
    "Petugas puskesmas {place} meminta biaya tambahan untuk surat keterangan sehat",
    "Guru honorer di {place} belum menerima gaji tiga bulan",
    "Bantuan sosial di {place} tidak tepat sasaran, keluarga mampu dapat bantuan",
    "Lampu jalan di {place} mati sudah sebulan, jalan gelap di malam hari",
    "Pungutan liar di sekolah {place} untuk seragam dan buku",
    "Antrian BPJS di rumah sakit {place} sangat panjang, pelayanan lambat",
    "Izin usaha di {place} dipersulit, diminta uang pelicin",
    "Dermaga speedboat {place} rusak, papan lantai bolong",
    "Harga minyak tanah di pangkalan {place} di atas HET",
    "Pegawai kantor desa {place} sering tidak masuk kerja",
    "Saluran drainase di {place} tersumbat, air meluap saat hujan",
)
NOISE_PLACES = (
    ("Waai", "Salahutu"),
    ("Liang", "Salahutu"),
    ("Tulehu", "Salahutu"),
    ("Porto", "Saparua"),
    ("Soahuku", "Amahai"),
    ("Letwaru", "Kota Masohi"),
    ("Mamala", "Leihitu"),
    ("Pelauw", "Pulau Haruku"),
    ("Wahai", "Seram Utara"),
    ("Tehoru", "Tehoru"),
    ("Ouw", "Saparua Timur"),
    ("Ameth", "Nusalaut"),
    ("Lonthoir", "Banda"),
)
# The same kind of problem, elsewhere or later: must stay out of the incidents.
HARD_NEGATIVES = (
    ("Air PDAM di {place} tidak mengalir sudah dua hari", "Letwaru", "Kota Masohi", 3),
    ("listrik padam di {place} sejak kemarin malam belum menyala", "Wahai", "Seram Utara", 6),
    ("Jembatan di {place} ambruk, warga tidak bisa menyeberang", "Pelauw", "Pulau Haruku", 10),
    ("Air PDAM di {place} tidak mengalir lagi", "Tulehu", "Salahutu", 24 * 8),
)
TYPOS = {"tidak": "tdak", "jembatan": "jembatn", "mengalir": "mengalr", "listrik": "listik"}
EXTRA = ("mohon perhatian pemerintah", "sudah lapor RT tapi belum ada tindakan", "terima kasih")


def _perturb(rng: random.Random, text: str) -> str:
    words = text.split()
    if rng.random() < 0.3:
        words = [TYPOS.get(w, w) if rng.random() < 0.5 else w for w in words]
    if rng.random() < 0.3 and len(words) > 6:
        del words[rng.randrange(3, len(words))]
    if rng.random() < 0.3:
        words.append(rng.choice(EXTRA))
    out = " ".join(words)
    return out.lower() if rng.random() < 0.4 else out


def _where(
    rng: random.Random, village: str, kecamatan: str, point: tuple[float, float]
) -> tuple[str, Location | None]:
    """How a reporter says where: the village, the kecamatan, or only a phone's coordinates."""
    roll = rng.random()
    if roll < 0.55:
        return village, None
    if roll < 0.75:
        return f"Negeri {village} Kec. {kecamatan}", Location(address=f"Negeri {village}")
    jitter = (point[0] + rng.uniform(-0.006, 0.006), point[1] + rng.uniform(-0.006, 0.006))
    place = "sini" if roll < 0.9 else f"kecamatan {kecamatan}"
    return place, Location(latitude=jitter[0], longitude=jitter[1])


def labelled_set(seed: int = 1) -> list[LabelledComplaint]:
    rng = random.Random(seed)
    out: list[LabelledComplaint] = []

    def add(text: str, at: datetime, location: Location | None, label: str | None) -> None:
        case_id = f"C{seed:02d}-{len(out):03d}"
        out.append(LabelledComplaint(case_id, at, rng.choice(CHANNELS), text, location, label))

    for scene in SCENES:
        onset = START + timedelta(hours=rng.uniform(0, 30))
        for _ in range(rng.randint(4, 9)):
            place, location = _where(rng, scene.village, scene.kecamatan, scene.point)
            text = _perturb(rng, rng.choice(scene.phrasings).format(place=place))
            add(text, onset + timedelta(hours=rng.uniform(0, 20)), location, scene.label)
    # Each noise complaint is its own matter: one kind of complaint per kecamatan at most.
    pairs = [(t, v, k) for t in NOISE for v, k in NOISE_PLACES]
    rng.shuffle(pairs)
    seen: set[tuple[str, str]] = set()
    for template, village, kecamatan in pairs:
        if (template, kecamatan) in seen or len(seen) == 30:
            continue
        seen.add((template, kecamatan))
        text = _perturb(rng, template.format(place=village))
        add(text, START + timedelta(hours=rng.uniform(0, 60)), None, None)
    for template, village, _kecamatan, hours in HARD_NEGATIVES:
        add(template.format(place=village), START + timedelta(hours=hours), None, None)
    return out
