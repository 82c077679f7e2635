"""Indonesian words for what the console and the tracking page show (data, not rules)."""

from __future__ import annotations

from consumers.gateway.security import OperatorRole
from states.lifecycle import CaseState
from workflow.enums import (
    Channel,
    Confidentiality,
    MaladministrationCategory,
    RejectionReason,
    ReturnReason,
)
from workflow.sla import ComplaintClass

STATES: dict[str, str] = {
    CaseState.RECEIVED: "Diterima",
    CaseState.VERIFYING: "Verifikasi",
    CaseState.AWAITING_INFORMATION: "Menunggu informasi",
    CaseState.VERIFIED: "Terverifikasi",
    CaseState.REFERRED: "Diteruskan ke instansi",
    CaseState.IN_PROGRESS: "Ditindaklanjuti",
    CaseState.RESOLVED: "Selesai, menunggu konfirmasi",
    CaseState.CLOSED: "Ditutup",
    CaseState.REJECTED: "Diarsipkan",
    CaseState.WITHDRAWN: "Dicabut",
}

ROLES: dict[str, str] = {
    OperatorRole.VERIFIER: "Verifikator",
    OperatorRole.AGENCY_OFFICER: "Penghubung instansi",
    OperatorRole.ESCALATION_OFFICER: "Petugas eskalasi",
    OperatorRole.ADMIN: "Administrator",
}

CHANNELS: dict[str, str] = {
    Channel.WEB: "Situs web",
    Channel.MOBILE_APP: "Aplikasi",
    Channel.SMS: "SMS",
    Channel.WHATSAPP: "WhatsApp",
    Channel.EMAIL: "Surel",
    Channel.CALL_CENTRE: "Pusat panggilan",
    Channel.WALK_IN: "Datang langsung",
    Channel.LETTER: "Surat",
    Channel.COMPLAINT_BOX: "Kotak pengaduan",
    Channel.SOCIAL_MEDIA: "Media sosial",
}

CATEGORIES: dict[str, str] = {
    MaladministrationCategory.UNDUE_DELAY: "Penundaan berlarut",
    MaladministrationCategory.NO_SERVICE: "Tidak memberikan pelayanan",
    MaladministrationCategory.INCOMPETENCE: "Tidak kompeten",
    MaladministrationCategory.ABUSE_OF_AUTHORITY: "Penyalahgunaan wewenang",
    MaladministrationCategory.PROCEDURAL_DEVIATION: "Penyimpangan prosedur",
    MaladministrationCategory.ASKING_FOR_PAYMENT: "Permintaan imbalan",
    MaladministrationCategory.IMPROPER_CONDUCT: "Tidak patut",
    MaladministrationCategory.PARTIALITY: "Berpihak",
    MaladministrationCategory.DISCRIMINATION: "Diskriminasi",
    MaladministrationCategory.CONFLICT_OF_INTEREST: "Konflik kepentingan",
}

CONFIDENTIALITY: dict[str, str] = {
    Confidentiality.PUBLIC: "Terbuka",
    Confidentiality.ANONYMOUS: "Anonim",
    Confidentiality.CONFIDENTIAL: "Rahasia",
}

EVENTS: dict[str, str] = {
    "CaseOpened": "Pengaduan diterima",
    "FormalVerificationCompleted": "Verifikasi formal selesai",
    "CaseVerified": "Verifikasi materiil selesai",
    "CaseReferred": "Diteruskan ke instansi",
    "InformationRequested": "Informasi tambahan diminta",
    "ComplaintRejected": "Pengaduan diarsipkan",
    "InformationProvided": "Informasi tambahan diterima",
    "ResolutionConfirmed": "Penyelesaian dikonfirmasi pelapor",
    "ResolutionDisputed": "Penyelesaian ditolak pelapor",
    "ComplaintWithdrawn": "Pengaduan dicabut",
    "ReferralAccepted": "Diterima oleh instansi",
    "ReferralReturned": "Dikembalikan oleh instansi",
    "FollowUpPlanPosted": "Rencana tindak lanjut",
    "ComplaintResolved": "Selesai ditindaklanjuti",
    "AgencyReassigned": "Dialihkan ke instansi lain",
    "CaseEscalated": "Dieskalasi",
    "EscalationReminderIssued": "Pengingat eskalasi",
    "CaseTakenOver": "Diambil alih petugas",
    "CaseReferredBack": "Dikembalikan ke penanggung jawab",
    "SlaWarningRaised": "Peringatan batas waktu",
    "SlaBreached": "Batas waktu terlewati",
    "ClosedForReporterSilence": "Ditutup (pelapor tidak menjawab)",
    "WithdrawnForMissingInformation": "Ditutup (informasi tidak dilengkapi)",
    "IncidentLinked": "Ditautkan ke kejadian massal",
    "IncidentUnlinked": "Dilepas dari kejadian massal",
    "CommandRejected": "Perintah ditolak",
}

COMMANDS: dict[str, str] = {
    "CompleteFormalVerification": "Selesaikan verifikasi formal",
    "CompleteMaterialVerification": "Selesaikan verifikasi materiil dan teruskan",
    "RequestInformation": "Minta informasi tambahan",
    "RejectComplaint": "Arsipkan pengaduan",
    "ProvideInformation": "Catat informasi dari pelapor",
    "ConfirmResolution": "Konfirmasi penyelesaian (atas nama pelapor)",
    "DisputeResolution": "Tolak penyelesaian (atas nama pelapor)",
    "WithdrawComplaint": "Cabut pengaduan (atas nama pelapor)",
    "AcceptReferral": "Terima disposisi",
    "ReturnReferral": "Kembalikan disposisi",
    "PostFollowUpPlan": "Kirim rencana tindak lanjut",
    "ResolveComplaint": "Nyatakan selesai",
    "ReassignAgency": "Alihkan ke instansi lain",
    "EscalateManually": "Eskalasi sekarang",
    "TakeOver": "Ambil alih",
    "LinkToIncident": "Tautkan ke kejadian massal",
    "UnlinkFromIncident": "Lepas dari kejadian massal",
    "ReferBack": "Kembalikan ke penanggung jawab",
}

FIELDS: dict[str, str] = {
    "note": "Catatan internal",
    "agency": "Instansi",
    "complaint_class": "Kelas pengaduan",
    "question": "Pertanyaan untuk pelapor",
    "reason": "Alasan",
    "detail": "Keterangan",
    "text": "Informasi dari pelapor",
    "plan": "Rencana tindak lanjut (dibaca pelapor)",
    "resolution_text": "Hasil penyelesaian (dibaca pelapor)",
    "incident_id": "Kejadian massal",
}

REJECTION_CODES: dict[str, str] = {
    "unknown_case": "kasus tidak dikenal",
    "not_allowed_in_state": "tidak diizinkan pada status ini",
    "guard_failed": "syarat tidak terpenuhi",
    "forbidden": "peran Anda tidak boleh mengirim perintah ini",
    "command_limit": "batas jumlah perintah tercapai",
}

STAGES: dict[str, str] = {
    "verification": "Verifikasi",
    "follow_up_plan": "Rencana tindak lanjut",
    "resolution": "Penyelesaian",
    "reporter_information": "Menunggu informasi pelapor",
    "reporter_confirmation": "Menunggu konfirmasi pelapor",
}


def word(table: dict[str, str], key: object) -> str:
    """The Indonesian word for ``key`` (the key itself when the table has none)."""
    if key is None:
        return "-"
    return table.get(str(key), str(key).replace("_", " "))


CHOICES: dict[str, str] = {
    # RejectionReason (why a complaint is archived)
    RejectionReason.NOT_WITHIN_AUTHORITY: "Bukan kewenangan",
    RejectionReason.FORMAL_REQUIREMENTS_INCOMPLETE: "Syarat formal tidak lengkap",
    RejectionReason.DUPLICATE: "Duplikat pengaduan lain",
    RejectionReason.BEFORE_COURT: "Sedang diperiksa pengadilan",
    RejectionReason.OLDER_THAN_TWO_YEARS: "Lebih dari dua tahun",
    RejectionReason.NO_PRIOR_COMPLAINT_TO_AGENCY: "Belum mengadu ke instansi",
    RejectionReason.OUT_OF_SCOPE: "Di luar ruang lingkup",
    RejectionReason.FORMAT_ERROR: "Format tidak sesuai",
    RejectionReason.TOO_GENERAL: "Terlalu umum",
    RejectionReason.IRRELEVANT: "Tidak relevan",
    # ReturnReason (why an agency returns a referral); not_within_authority is shared above
    ReturnReason.WRONG_REGION: "Wilayah lain",
    ReturnReason.INSUFFICIENT_INFORMATION: "Informasi tidak cukup",
    ReturnReason.OTHER: "Lainnya",
    # ComplaintClass (the resolution target)
    ComplaintClass.LIGHT: "Ringan",
    ComplaintClass.NORMATIVE: "Normatif",
    ComplaintClass.NO_OVERSIGHT: "Tanpa pengawasan",
    ComplaintClass.EXAMINATION: "Perlu pemeriksaan",
}
"""Values of the closed lists a form offers (keyed by value: the enums share some)."""
