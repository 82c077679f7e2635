"""``/open311/v2/*``: GeoReport v2 (service list, create and query service requests).

Rejections answer in GeoReport's error-list form (`consumers.gateway.errors`). What a request
shows and whether it is listed is `workflow.disclosure.public_disclosure`'s decision: listings
hold only verified (moderated) cases that are not confidential, and a deployment can turn the
listing off (``ADUAN_GATEWAY_PUBLIC_LISTING=false``); a lookup by tracking numbers stays.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from consumers.adapters.fields import EmailAddress, PhoneNumber, Timestamp, coordinates_together
from consumers.adapters.open311 import SERVICES, Open311Request, from_open311
from consumers.gateway.auth import API_KEY_HEADER, channel_key
from consumers.gateway.context import GatewayDep, throttle_anonymous
from consumers.gateway.errors import ApiError
from consumers.gateway.forms import form_request_body, read_form
from consumers.gateway.security import GatewayChannel
from consumers.gateway.views import open311_request, open311_services
from consumers.readmodel.queries import ListingQuery

LISTING_LIMIT = 1000
"""At most this many service requests in one unfiltered-by-id listing (newest first)."""

open311 = APIRouter(prefix="/open311/v2", tags=["open311"])


@open311.get("/services.json", summary="GeoReport v2 service list")
async def services() -> list[dict[str, Any]]:
    return open311_services()


class GeoReportError(BaseModel):
    code: int
    description: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": list[GeoReportError], "description": "GeoReport error list"}
    for code in (400, 401, 403, 404, 413, 415, 422, 429, 503)
}

_LOCATED: JsonDict = {
    "anyOf": [
        {"required": ["lat", "long"]},
        {"required": ["address_string"], "properties": {"address_string": {"minLength": 1}}},
    ],
    **coordinates_together("lat", "long"),
}


class Open311Form(BaseModel):
    """The form fields of GeoReport v2 ``POST requests.json`` as this server reads them: a
    description is required, and a location (``lat`` and ``long``, or ``address_string``)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=_LOCATED)

    service_code: Annotated[str, Field(json_schema_extra={"enum": list(SERVICES)})]
    api_key: Annotated[str | None, Field(max_length=512)] = None
    description: Annotated[str, Field(min_length=1, max_length=20_000, pattern=r"\S")]
    lat: Annotated[float | None, Field(ge=-90, le=90)] = None
    long: Annotated[float | None, Field(ge=-180, le=180)] = None
    address_string: Annotated[str | None, Field(max_length=500)] = None
    email: EmailAddress | None = None
    device_id: Annotated[str | None, Field(max_length=100)] = None
    account_id: Annotated[str | None, Field(max_length=100)] = None
    first_name: Annotated[str | None, Field(max_length=100)] = None
    last_name: Annotated[str | None, Field(max_length=100)] = None
    phone: PhoneNumber | None = None
    media_url: Annotated[str | None, Field(max_length=2048)] = None


@open311.post(
    "/requests.json",
    summary="GeoReport v2: create a service request",
    responses=_ERRORS,
    openapi_extra=form_request_body(Open311Form),
)
async def create_request(
    request: Request,
    gw: GatewayDep,
    x_api_key: Annotated[str | None, Depends(API_KEY_HEADER)],
) -> list[dict[str, Any]]:
    fields, _ = await read_form(request, Open311Form)
    key = channel_key(
        gw,
        x_api_key or fields.api_key,
        GatewayChannel.OPEN311,
        missing="send api_key (form field) or X-API-Key",
        action="use Open311",
    )
    form = Open311Request(**fields.model_dump(exclude={"api_key"}))
    tracking = await gw.submit(from_open311(form, key.id, gw.now()))
    return [
        {"service_request_id": tracking, "service_notice": None, "account_id": fields.account_id}
    ]


@open311.get("/requests.json", summary="GeoReport v2: query service requests", responses=_ERRORS)
async def list_requests(
    request: Request,
    gw: GatewayDep,
    service_request_id: Annotated[str | None, Query(max_length=2000)] = None,
    service_code: Annotated[str | None, Query(max_length=500)] = None,
    status: Annotated[str | None, Query(pattern=r"^(open|closed)(,(open|closed))?$")] = None,
    start_date: Annotated[Timestamp | None, Query()] = None,
    end_date: Annotated[Timestamp | None, Query()] = None,
) -> list[dict[str, Any]]:
    throttle_anonymous(request, gw)
    model = gw.read_model
    if service_request_id:
        # A lookup by tracking numbers (the reporters' own): shown as the single request is.
        ids = [i.strip().upper() for i in service_request_id.split(",") if i.strip()]
        chosen = [c for c in (model.case(i) for i in ids) if c is not None]
    else:
        if not gw.settings.gateway_public_listing:
            raise ApiError(
                403, "listing_disabled", "public listing is turned off; ask by service_request_id"
            )
        chosen = list(
            model.listing(
                ListingQuery(
                    service_codes=frozenset(service_code.split(","))
                    if service_code
                    else frozenset(),
                    statuses=frozenset(status.split(",")) if status else frozenset(),
                    opened_from=_aware(start_date),
                    opened_to=_aware(end_date),
                    limit=LISTING_LIMIT,
                )
            )
        )
    return [open311_request(c, model.history(c.case_id), gw.policy) for c in chosen]


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@open311.get(
    "/requests/{service_request_id}.json",
    summary="GeoReport v2: one service request",
    responses=_ERRORS,
)
async def get_request(
    request: Request, service_request_id: Annotated[str, Field(max_length=64)], gw: GatewayDep
) -> list[dict[str, Any]]:
    throttle_anonymous(request, gw)
    case = gw.read_model.case(service_request_id.strip().upper())
    if case is None:
        raise ApiError(404, "unknown_request", f"no service request {service_request_id[:64]!r}")
    return [open311_request(case, gw.read_model.history(case.case_id), gw.policy)]
