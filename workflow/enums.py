"""The closed vocabularies of the wire messages (channels, confidentiality, report types,
maladministration categories, rejection and return reasons, actor roles)."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ActorRole",
    "Channel",
    "Confidentiality",
    "MaladministrationCategory",
    "Priority",
    "RejectionReason",
    "ReportType",
    "ReturnReason",
]


class Channel(StrEnum):
    """Where a complaint came in (DOMAIN.md, "Intake channels seen in practice")."""

    WEB = "web"
    MOBILE_APP = "mobile_app"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    EMAIL = "email"
    CALL_CENTRE = "call_centre"
    WALK_IN = "walk_in"
    LETTER = "letter"
    COMPLAINT_BOX = "complaint_box"
    SOCIAL_MEDIA = "social_media"
    SP4N_LAPOR = "sp4n_lapor"


class Confidentiality(StrEnum):
    """``anonymous`` = report may be public, identity hidden (LAPOR! "anonim");
    ``confidential`` = neither report nor identity public (LAPOR! "rahasia")."""

    PUBLIC = "public"
    ANONYMOUS = "anonymous"
    CONFIDENTIAL = "confidential"


class ReportType(StrEnum):
    """Report types on SP4N-LAPOR!."""

    ASPIRASI = "aspirasi"
    PENGADUAN = "pengaduan"
    PERMINTAAN_INFORMASI = "permintaan_informasi"
    WHISTLE_BLOWING = "whistle_blowing"


class MaladministrationCategory(StrEnum):
    """The ten maladministration types of Peraturan Ombudsman 26/2017."""

    UNDUE_DELAY = "penundaan_berlarut"
    NO_SERVICE = "tidak_memberikan_pelayanan"
    INCOMPETENCE = "tidak_kompeten"
    ABUSE_OF_AUTHORITY = "penyalahgunaan_wewenang"
    PROCEDURAL_DEVIATION = "penyimpangan_prosedur"
    ASKING_FOR_PAYMENT = "permintaan_imbalan"
    IMPROPER_CONDUCT = "tidak_patut"
    PARTIALITY = "berpihak"
    DISCRIMINATION = "diskriminasi"
    CONFLICT_OF_INTEREST = "konflik_kepentingan"


class Priority(StrEnum):
    """How urgent a complaint is, as intake or the verifier judges it; the policy's
    ``class_by_priority`` maps it to a complaint class (and so a resolution target)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class RejectionReason(StrEnum):
    """Why a verifier rejects (archives) a complaint (DOMAIN.md rejection reasons)."""

    NOT_WITHIN_AUTHORITY = "not_within_authority"
    FORMAL_REQUIREMENTS_INCOMPLETE = "formal_requirements_incomplete"
    DUPLICATE = "duplicate"
    BEFORE_COURT = "before_court"
    OLDER_THAN_TWO_YEARS = "older_than_two_years"
    NO_PRIOR_COMPLAINT_TO_AGENCY = "no_prior_complaint_to_agency"
    OUT_OF_SCOPE = "out_of_scope"
    FORMAT_ERROR = "format_error"
    TOO_GENERAL = "too_general"
    IRRELEVANT = "irrelevant"


class ReturnReason(StrEnum):
    """Why an agency returns a referral ("Bukan Wewenang" and kin)."""

    NOT_WITHIN_AUTHORITY = "not_within_authority"
    WRONG_REGION = "wrong_region"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    OTHER = "other"


class ActorRole(StrEnum):
    """Who may act on a case."""

    REPORTER = "reporter"
    VERIFIER = "verifier"
    AGENCY = "agency"
    OFFICER = "officer"
