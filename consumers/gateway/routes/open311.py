"""``/open311/v2/*``: GeoReport v2 (service list, create and query service requests).

Rejections answer in GeoReport's error-list form (`consumers.gateway.errors`). What a request
shows and whether it is listed is `workflow.disclosure.public_disclosure`'s decision: listings
hold only verified (moderated) cases that are not confidential, and a deployment can turn the
listing off (``ADUAN_GATEWAY_PUBLIC_LISTING=false``); a lookup by tracking numbers stays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Query, Request
from pydantic import Field

from consumers.adapters.open311 import GENERAL_SERVICE, Open311Request, from_open311
from consumers.gateway.auth import channel_key
from consumers.gateway.context import GatewayDep, throttle_anonymous
from consumers.gateway.errors import ApiError
from consumers.gateway.security import GatewayChannel
from consumers.gateway.views import open311_request, open311_services
from workflow.case import Case
from workflow.disclosure import public_disclosure

LISTING_LIMIT = 1000
"""At most this many service requests in one unfiltered-by-id listing (newest first)."""

open311 = APIRouter(prefix="/open311/v2", tags=["open311"])


@open311.get("/services.json", summary="GeoReport v2 service list")
async def services() -> list[dict[str, Any]]:
    return open311_services()


@open311.post(
    "/requests.json",
    summary="GeoReport v2: create a service request",
    responses={code: {"description": "GeoReport error list"} for code in (400, 401, 403, 422)},
)
async def create_request(
    gw: GatewayDep,
    service_code: Annotated[str, Form(max_length=64)],
    api_key: Annotated[str | None, Form(max_length=512)] = None,
    description: Annotated[str | None, Form(max_length=20_000)] = None,
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    long: Annotated[float | None, Form(ge=-180, le=180)] = None,
    address_string: Annotated[str | None, Form(max_length=500)] = None,
    email: Annotated[str | None, Form(max_length=254)] = None,
    device_id: Annotated[str | None, Form(max_length=100)] = None,
    account_id: Annotated[str | None, Form(max_length=100)] = None,
    first_name: Annotated[str | None, Form(max_length=100)] = None,
    last_name: Annotated[str | None, Form(max_length=100)] = None,
    phone: Annotated[str | None, Form(max_length=40)] = None,
    media_url: Annotated[str | None, Form(max_length=2048)] = None,
    x_api_key: Annotated[str | None, Header(max_length=512)] = None,
) -> list[dict[str, Any]]:
    key = channel_key(
        gw,
        x_api_key or api_key,
        GatewayChannel.OPEN311,
        missing="send api_key (form field) or X-API-Key",
        action="use Open311",
    )
    form = Open311Request(
        service_code=service_code,
        description=description,
        lat=lat,
        long=long,
        address_string=address_string,
        email=email,
        device_id=device_id,
        account_id=account_id,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        media_url=media_url,
    )
    tracking = await gw.submit(from_open311(form, key.id, gw.now()))
    return [{"service_request_id": tracking, "service_notice": None, "account_id": account_id}]


@open311.get("/requests.json", summary="GeoReport v2: query service requests")
async def list_requests(
    request: Request,
    gw: GatewayDep,
    service_request_id: Annotated[str | None, Query(max_length=2000)] = None,
    service_code: Annotated[str | None, Query(max_length=500)] = None,
    status: Annotated[str | None, Query(pattern=r"^(open|closed)(,(open|closed))?$")] = None,
    start_date: Annotated[datetime | None, Query()] = None,
    end_date: Annotated[datetime | None, Query()] = None,
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
        listed = (c for c in model.cases.values() if public_disclosure(c).listed)
        kept = _matching(
            listed,
            set(service_code.split(",")) if service_code else None,
            set(status.split(",")) if status else None,
            _aware(start_date),
            _aware(end_date),
        )
        chosen = sorted(kept, key=lambda c: c.opened_at, reverse=True)[:LISTING_LIMIT]
    return [open311_request(c, model.history(c.case_id), gw.policy) for c in chosen]


def _matching(
    cases: Iterable[Case],
    codes: set[str] | None,
    statuses: set[str] | None,
    start: datetime | None,
    end: datetime | None,
) -> list[Case]:
    """The cases that pass every filter given (None: no filter)."""
    kept = []
    for case in cases:
        code = case.category.value if case.category else GENERAL_SERVICE
        if codes is not None and code not in codes:
            continue
        if statuses is not None and ("closed" if case.is_final else "open") not in statuses:
            continue
        if start is not None and case.opened_at < start:
            continue
        if end is not None and case.opened_at > end:
            continue
        kept.append(case)
    return kept


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@open311.get(
    "/requests/{service_request_id}.json",
    summary="GeoReport v2: one service request",
    responses={404: {"description": "GeoReport error list"}},
)
async def get_request(
    request: Request, service_request_id: Annotated[str, Field(max_length=64)], gw: GatewayDep
) -> list[dict[str, Any]]:
    throttle_anonymous(request, gw)
    case = gw.read_model.case(service_request_id.strip().upper())
    if case is None:
        raise ApiError(404, "unknown_request", f"no service request {service_request_id[:64]!r}")
    return [open311_request(case, gw.read_model.history(case.case_id), gw.policy)]
