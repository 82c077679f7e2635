"""The words of alerts and daily digests, one entry per language (Indonesian default, English).

Data, not code branches: `consumers.notifier.alerts.render` and
`consumers.notifier.digest.render_digest` fill these templates with ``str.format`` fields
(``{case}``, ``{stage}``, ``{pct}``, ``{level}``, ``{title}``, ``{n}``, ``{s}`` for an English
plural ...). A field a template does not name is simply not shown. A label is padded to
`LABEL_WIDTH` so the values line up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["LABEL_WIDTH", "AlertWords", "DigestWords", "Words", "labelled", "words_for"]

LABEL_WIDTH = 16


def labelled(label: str, value: str) -> str:
    """``Tahap           : Verifikasi``."""
    return f"{label:<{LABEL_WIDTH}}: {value}"


@dataclass(frozen=True)
class AlertWords:
    subject: Mapping[str, str]
    """Per alert kind (warning, escalation, reminder)."""
    head: Mapping[str, str]
    """The first sentence, per alert kind."""
    tracking: str
    agency: str
    stage: str
    deadline: str
    lateness: str
    left: str
    occurred: str
    link: str
    late: str
    """The lateness value (``{late}``: a duration)."""


@dataclass(frozen=True)
class DigestWords:
    subject: str
    subject_escalated: str
    """Appended to the subject when the count of escalated cases is known."""
    intro: tuple[str, ...]
    what: Mapping[str, str]
    """One alert's kind in words: warning, warning_pct (a threshold known), escalation, reminder."""
    agency: str
    stage: str
    lateness: str
    sent: str
    link: str
    late: str
    left: str
    escalated: str


@dataclass(frozen=True)
class Words:
    greeting: str
    footer: tuple[str, ...]
    alert: AlertWords
    digest: DigestWords


_ID = Words(
    greeting="Yth. {role},",
    footer=(
        "Identitas pelapor tidak dicantumkan dalam pemberitahuan ini.",
        "Pesan otomatis dari aduan; mohon tidak membalas email ini.",
    ),
    alert=AlertWords(
        subject={
            "warning": "[aduan] Peringatan SLA {pct}%: {case} - {stage}",
            "escalation": "[aduan] Eskalasi level {level} ({title}): {case}",
            "reminder": "[aduan] Pengingat eskalasi level {level}: {case}",
        },
        head={
            "warning": "Tahap {stage} pengaduan {case} telah memakai {pct}% waktu layanan.",
            "escalation": "Pengaduan {case} dieskalasi ke level {level} ({title}) "
            "karena tenggat terlewati.",
            "reminder": "Pengaduan {case} masih belum ditindaklanjuti di level tertinggi.",
        },
        tracking="Nomor pelacakan",
        agency="Instansi (OPD)",
        stage="Tahap",
        deadline="Tenggat",
        lateness="Keterlambatan",
        left="Sisa waktu",
        occurred="Waktu kejadian",
        link="Lihat pengaduan",
        late="terlambat {late}",
    ),
    digest=DigestWords(
        subject="[aduan] Ringkasan harian {day}: {n} pemberitahuan",
        subject_escalated=", {escalated} pengaduan masih dieskalasi",
        intro=(
            "Ringkasan pemberitahuan aduan yang dikirim kepada Anda dalam 24 jam terakhir",
            "({since} - {until}): {n} pemberitahuan.",
        ),
        what={
            "warning": "Peringatan SLA",
            "warning_pct": "Peringatan SLA {pct}%",
            "escalation": "Eskalasi level {level}{suffix}",
            "reminder": "Pengingat eskalasi level {level}{suffix}",
        },
        agency="Instansi (OPD)",
        stage="Tahap",
        lateness="Keterlambatan",
        sent="Dikirim",
        link="Lihat pengaduan",
        late="terlambat {late}",
        left="sisa {left}",
        escalated="Pengaduan yang sampai kepada Anda dan masih dieskalasi: {escalated}",
    ),
)

_EN = Words(
    greeting="Dear {role},",
    footer=(
        "The reporter's identity is never included in these notifications.",
        "Automatic message from aduan; please do not reply.",
    ),
    alert=AlertWords(
        subject={
            "warning": "[aduan] SLA warning {pct}%: {case} - {stage}",
            "escalation": "[aduan] Escalation level {level} ({title}): {case}",
            "reminder": "[aduan] Escalation reminder level {level}: {case}",
        },
        head={
            "warning": "The {stage} stage of complaint {case} has used {pct}% of its time.",
            "escalation": "Complaint {case} was escalated to level {level} ({title}) "
            "because its deadline passed.",
            "reminder": "Complaint {case} is still not acted on at the top level.",
        },
        tracking="Tracking number",
        agency="Agency",
        stage="Stage",
        deadline="Deadline",
        lateness="Lateness",
        left="Time left",
        occurred="Occurred at",
        link="Look it up",
        late="{late} late",
    ),
    digest=DigestWords(
        subject="[aduan] Daily digest {day}: {n} alert{s}",
        subject_escalated=", {escalated} complaint{escalated_s} still escalated",
        intro=(
            "Summary of the aduan alerts sent to you in the last 24 hours",
            "({since} - {until}): {n} alert{s}.",
        ),
        what={
            "warning": "SLA warning",
            "warning_pct": "SLA warning {pct}%",
            "escalation": "Escalation level {level}{suffix}",
            "reminder": "Escalation reminder level {level}{suffix}",
        },
        agency="Agency",
        stage="Stage",
        lateness="Lateness",
        sent="Sent at",
        link="Look it up",
        late="{late} late",
        left="{left} left",
        escalated="Complaints that reached you and are still escalated: {escalated}",
    ),
)

_WORDS = {"id": _ID, "en": _EN}


def words_for(language: str) -> Words:
    """The words of ``language`` (``en``; anything else gets Indonesian)."""
    return _WORDS["en" if language == "en" else "id"]
