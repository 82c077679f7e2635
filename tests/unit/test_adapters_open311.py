"""The Open311 GeoReport v2 adapter (service request form -> intake message), no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consumers.adapters.base import AdapterError
from consumers.adapters.open311 import SERVICES, Open311Request, from_open311
from workflow.codec import encode, parse_intake
from workflow.enums import Channel, MaladministrationCategory

NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
STREET_LIGHT = Open311Request(
    service_code="umum",
    description="Lampu jalan mati di depan pasar Masohi",
    lat=-3.3,
    long=128.9,
    first_name="Rina",
    last_name="Wattimena",
    email="rina@example.id",
    account_id="acc-1",
    media_url="https://example.id/a.jpg",
)


def test_general_request_maps_reporter_location_and_media() -> None:
    complaint = from_open311(STREET_LIGHT, "dev", NOW)
    assert parse_intake(encode(complaint)) == complaint
    payload = complaint.payload
    assert payload.channel is Channel.MOBILE_APP
    assert payload.category is None
    assert payload.reporter.name == "Rina Wattimena"
    assert payload.reporter.email == "rina@example.id"
    assert payload.location is not None
    assert (payload.location.latitude, payload.location.longitude) == (-3.3, 128.9)
    [photo] = payload.attachments
    assert photo.uri == "https://example.id/a.jpg"


def test_message_id_is_the_one_the_route_built_before_the_move() -> None:
    # Pinned from the route's own implementation before the adapter existed: a changed hash
    # basis would file a retried request as a second case.
    complaint = from_open311(STREET_LIGHT, "dev", NOW)
    assert complaint.payload.channel_message_id == (
        "open311:ef4b0700bda85b3e22ef1a40f1d662dcc094202c"
    )
    assert complaint.derived_case_id == "ADU-J3MD-BX33-X7VR"
    assert from_open311(STREET_LIGHT, "dev", NOW).case_id == complaint.case_id
    assert from_open311(STREET_LIGHT, "other-key", NOW).case_id != complaint.case_id


def test_category_address_and_non_web_media() -> None:
    request = Open311Request(
        service_code="permintaan_imbalan",
        description="Diminta uang untuk KTP",
        address_string="Kantor Dukcapil Masohi",
        phone="+6281234567890",
        media_url="ftp://x",
    )
    payload = from_open311(request, "dev", NOW).payload
    assert payload.category is MaladministrationCategory.ASKING_FOR_PAYMENT
    assert payload.location is not None
    assert payload.location.address == "Kantor Dukcapil Masohi"
    assert payload.reporter.name is None
    assert payload.attachments == ()


def test_every_listed_service_code_is_accepted() -> None:
    for code in SERVICES:
        request = Open311Request(service_code=code, description="Layanan lambat", lat=1, long=1)
        assert from_open311(request, "dev", NOW).payload.text == "Layanan lambat"


@pytest.mark.parametrize(
    ("request_", "reason", "status"),
    [
        (Open311Request("nope", "x", 1, 1), "unknown_service_code", 400),
        (Open311Request("umum", "  ", 1, 1), "missing_description", 400),
        (Open311Request("umum", "x"), "missing_location", 400),
        (Open311Request("umum", "x", lat=1), "invalid_payload", 422),
    ],
)
def test_rejections_name_the_reason(request_: Open311Request, reason: str, status: int) -> None:
    with pytest.raises(AdapterError) as caught:
        from_open311(request_, "dev", NOW)
    assert (caught.value.reason, caught.value.status) == (reason, status)
