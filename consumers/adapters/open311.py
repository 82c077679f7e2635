"""Open311 GeoReport v2 ``POST requests.json`` -> intake message, and the service catalogue.

GeoReport has no request id of its own, so the channel message id is a hash of what the client
sent (with its API key): the same request posted twice files one case. Service codes are the
maladministration types plus a general one; a ``media_url`` becomes an attachment reference.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from consumers.adapters.base import AdapterError, ComplaintDraft, build_complaint, location_from
from workflow.enums import Channel, MaladministrationCategory
from workflow.intake import ComplaintSubmitted
from workflow.values import Attachment

GENERAL_SERVICE = "umum"

SERVICES: dict[str, tuple[str, str]] = {
    GENERAL_SERVICE: ("Pengaduan umum", "Keluhan pelayanan publik yang tidak masuk kategori lain"),
    "penundaan_berlarut": ("Penundaan berlarut", "Layanan ditunda atau berlarut-larut"),
    "tidak_memberikan_pelayanan": ("Tidak memberikan pelayanan", "Layanan tidak diberikan"),
    "tidak_kompeten": ("Tidak kompeten", "Petugas tidak kompeten"),
    "penyalahgunaan_wewenang": ("Penyalahgunaan wewenang", "Penyalahgunaan wewenang"),
    "penyimpangan_prosedur": ("Penyimpangan prosedur", "Layanan menyimpang dari prosedur"),
    "permintaan_imbalan": ("Permintaan imbalan (pungli)", "Permintaan uang, barang atau jasa"),
    "tidak_patut": ("Tidak patut", "Perilaku petugas tidak patut"),
    "berpihak": ("Berpihak", "Petugas berpihak"),
    "diskriminasi": ("Diskriminasi", "Perlakuan diskriminatif"),
    "konflik_kepentingan": ("Konflik kepentingan", "Konflik kepentingan petugas"),
}
"""service_code -> (service_name, description), as ``services.json`` lists them."""


@dataclass(frozen=True)
class Open311Request:
    """The form fields of a GeoReport v2 service request (``api_key`` is the gateway's)."""

    service_code: str
    description: str | None = None
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    media_url: str | None = None


def from_open311(request: Open311Request, key_id: str, now: datetime) -> ComplaintSubmitted:
    """A service request -> intake message; AdapterError (400) for what GeoReport requires."""
    _check(request)
    draft = ComplaintDraft(
        channel=Channel.MOBILE_APP,
        channel_message_id=_message_id(request, key_id),
        received_at=now,
        text=request.description or "",
        # first and last name may each be 100 characters; the reporter's name holds 200
        name=" ".join(p for p in (request.first_name, request.last_name) if p)[:200] or None,
        phone=request.phone,
        email=request.email,
        category=(
            MaladministrationCategory(request.service_code)
            if request.service_code != GENERAL_SERVICE
            else None
        ),
        location=location_from(request.address_string, request.lat, request.long),
        attachments=_attachments(request.media_url),
    )
    return build_complaint(draft)


def _check(request: Open311Request) -> None:
    if request.service_code not in SERVICES:
        raise AdapterError(
            "unknown_service_code", f"service_code {request.service_code[:64]!r}", 400
        )
    if not (request.description or "").strip():
        raise AdapterError("missing_description", "description is required by this server", 400)
    if request.lat is None and request.long is None and not request.address_string:
        raise AdapterError("missing_location", "send lat and long, or address_string", 400)


def _message_id(request: Open311Request, key_id: str) -> str:
    fields = (
        key_id,
        request.service_code,
        request.description,
        request.lat,
        request.long,
        request.address_string,
        request.email,
        request.phone,
        request.device_id,
        request.account_id,
    )
    basis = "\x1f".join(str(v or "") for v in fields)
    return "open311:" + hashlib.sha256(basis.encode()).hexdigest()[:40]


def _attachments(media_url: str | None) -> list[Attachment]:
    # Only a web address is a reference the staff can follow; anything else is dropped.
    if media_url and media_url.startswith(("http://", "https://")):
        return [Attachment(uri=media_url, size_bytes=0, content_type="application/octet-stream")]
    return []
