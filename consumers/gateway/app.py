"""The gateway's FastAPI app: one factory wires settings, credentials, publisher, read model,
attachment store and rate limiter (`create_app`); nothing is built at import time.

Routes (see docs/openapi.json): ``/v1/intake/*`` for the channels, ``/v1/cases/{tracking}`` for
lookup, ``/v1/cases/{tracking}/commands`` for operators, ``/open311/v2/*`` for GeoReport v2,
``/healthz`` and ``/readyz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, Field

from consumers.adapters.base import AdapterError
from consumers.adapters.email import from_email
from consumers.adapters.sms import SmsInbound, from_sms, parse_sms, sms_from_form
from consumers.adapters.social import LaporForward, SocialMention, from_lapor, from_social
from consumers.adapters.web import (
    OperatorComplaint,
    WebComplaint,
    WebLocation,
    from_operator,
    from_web,
)
from consumers.adapters.whatsapp import from_whatsapp
from consumers.gateway.errors import ApiError, install_handlers
from consumers.gateway.limits import BodyLimit
from consumers.gateway.publisher import KafkaPublisher, Publisher
from consumers.gateway.ratelimit import RateLimiter
from consumers.gateway.readmodel import KafkaReadModelFeeder, ReadModel
from consumers.gateway.security import (
    ApiKey,
    GatewayChannel,
    Operator,
    SecurityConfig,
    check_whatsapp_signature,
    dev_security,
    load_security,
)
from consumers.gateway.settings import GatewaySettings
from consumers.gateway.store import AttachmentStore
from consumers.gateway.views import (
    GENERAL_SERVICE,
    SERVICES,
    may_see,
    open311_request,
    open311_services,
    operator_view,
    public_view,
)
from consumers.metrics import HttpMetrics, metrics_endpoint, new_registry
from workflow.codec import InvalidMessage, encode, parse_command
from workflow.commands import COMMAND_TYPES
from workflow.enums import Confidentiality, MaladministrationCategory, ReportType
from workflow.intake import ComplaintSubmitted
from workflow.policy import Policy, load_policy
from workflow.values import Attachment

log = logging.getLogger(__name__)

UPLOAD_PATHS = ("/v1/intake/email", "/v1/intake/web/multipart")


@dataclass
class Gateway:
    """Everything the routes use; built by `create_app`, reachable as ``app.state.gateway``."""

    settings: GatewaySettings
    security: SecurityConfig
    policy: Policy
    publisher: Publisher
    read_model: ReadModel
    store: AttachmentStore
    limiter: RateLimiter
    clock: Callable[[], datetime]
    feeder: KafkaReadModelFeeder | None = None
    smtp_server: Any = None
    agency_codes: frozenset[str] = field(default_factory=frozenset)

    def now(self) -> datetime:
        return self.clock()

    async def submit(self, complaint: ComplaintSubmitted) -> str:
        """Publish an intake message; returns the tracking number once Kafka acknowledged."""
        tracking = complaint.derived_case_id
        await self.publisher.publish("complaints.intake", tracking.encode(), encode(complaint))
        log.info("intake %s via %s", tracking, complaint.payload.channel.value)
        return tracking

    def throttle(self, caller: str) -> None:
        wait = self.limiter.take(caller)
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests for {caller}; retry in {wait:.1f} s",
                {"Retry-After": str(max(1, round(wait)))},
            )


def _throttle_anonymous(request: Request, gw: Gateway) -> None:
    """Tracking numbers are the reporter's only credential for the public views: limit how fast
    one address can try them (and how often it can ask for the Open311 lists)."""
    gw.throttle(f"ip:{request.client.host if request.client else 'unknown'}")


def _gateway(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


GatewayDep = Annotated[Gateway, Depends(_gateway)]


# -- authentication ------------------------------------------------------------------------


def _api_key_for(channel: GatewayChannel) -> Callable[..., ApiKey]:
    def dependency(
        request: Request,
        x_api_key: Annotated[
            str | None, Header(description="The channel's API key.", max_length=512)
        ] = None,
    ) -> ApiKey:
        gw = _gateway(request)
        presented = x_api_key or request.query_params.get("api_key")
        if not presented:
            raise ApiError(401, "missing_api_key", "send the channel's key in X-API-Key")
        key = gw.security.find_key(presented)
        if key is None:
            raise ApiError(401, "invalid_api_key", "the API key is not known")
        if channel not in key.channels:
            raise ApiError(
                403, "channel_not_allowed", f"key {key.id!r} may not submit on {channel.value}"
            )
        gw.throttle(f"key:{key.id}")
        return key

    return dependency


def _bearer(request: Request, authorization: str | None) -> Operator:
    gw = _gateway(request)
    if not authorization:
        raise ApiError(401, "missing_token", "send 'Authorization: Bearer <operator token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "invalid_token", "the Authorization header must be 'Bearer <token>'")
    operator = gw.security.find_operator(token.strip())
    if operator is None:
        raise ApiError(401, "invalid_token", "the operator token is not known")
    gw.throttle(f"operator:{operator.id}")
    return operator


def operator_required(
    request: Request,
    authorization: Annotated[str | None, Header(max_length=1024)] = None,
) -> Operator:
    return _bearer(request, authorization)


def operator_optional(
    request: Request,
    authorization: Annotated[str | None, Header(max_length=1024)] = None,
) -> Operator | None:
    return _bearer(request, authorization) if authorization else None


def _require_json(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(
            415, "unsupported_media_type", f"expected application/json, got {media or 'nothing'}"
        )


JsonOnly = Depends(_require_json)


# -- response models (for the OpenAPI document) --------------------------------------------


class Accepted(BaseModel):
    tracking_number: str = Field(description="The case id, e.g. ADU-7K3F-9QX2-M4TA.")
    status_url: str


class AcceptedMany(BaseModel):
    tracking_numbers: list[str]


class CommandAccepted(BaseModel):
    case_id: str
    command_id: str
    type: str


class CommandRequest(BaseModel):
    """A command of `workflow.messages` without envelope and actor (the token is the actor)."""

    type: str = Field(min_length=1, max_length=64, description="e.g. AcceptReferral")
    payload: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    error: str
    detail: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 413, 415, 422, 429, 503)
}


def _accepted(tracking: str) -> Accepted:
    return Accepted(tracking_number=tracking, status_url=f"/v1/cases/{tracking}")


# -- routes --------------------------------------------------------------------------------

intake = APIRouter(prefix="/v1/intake", tags=["intake"], responses=_ERRORS)


@intake.post(
    "/web",
    status_code=202,
    summary="Web form complaint (JSON)",
    dependencies=[JsonOnly],
)
async def intake_web(
    form: WebComplaint,
    gw: GatewayDep,
    key: Annotated[ApiKey, Depends(_api_key_for(GatewayChannel.WEB))],
) -> Accepted:
    return _accepted(await gw.submit(from_web(form, key.id, gw.now())))


@intake.post("/web/multipart", status_code=202, summary="Web form complaint with files")
async def intake_web_multipart(
    gw: GatewayDep,
    key: Annotated[ApiKey, Depends(_api_key_for(GatewayChannel.WEB))],
    submission_id: Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[\w.:\-]+$")],
    text: Annotated[str, Form(min_length=1, max_length=20_000)],
    subject: Annotated[str | None, Form(max_length=200)] = None,
    name: Annotated[str | None, Form(max_length=200)] = None,
    phone: Annotated[str | None, Form(max_length=40)] = None,
    email: Annotated[str | None, Form(max_length=254)] = None,
    confidentiality: Annotated[Confidentiality, Form()] = Confidentiality.PUBLIC,
    report_type: Annotated[ReportType, Form()] = ReportType.PENGADUAN,
    category: Annotated[MaladministrationCategory | None, Form()] = None,
    address: Annotated[str | None, Form(max_length=500)] = None,
    latitude: Annotated[float | None, Form(ge=-90, le=90)] = None,
    longitude: Annotated[float | None, Form(ge=-180, le=180)] = None,
    attachments: Annotated[list[UploadFile] | None, File()] = None,
) -> Accepted:
    location = None
    if address is not None or latitude is not None or longitude is not None:
        location = WebLocation(address=address, latitude=latitude, longitude=longitude)
    form = WebComplaint(
        submission_id=submission_id,
        text=text,
        subject=subject,
        name=name,
        phone=phone,
        email=email,
        confidentiality=confidentiality,
        report_type=report_type,
        category=category,
        location=location,
    )
    stored: list[Attachment] = []
    for upload in attachments or []:
        data = await upload.read()
        try:
            # File I/O off the event loop: other requests keep being served meanwhile.
            saved = await asyncio.to_thread(
                gw.store.save, data, upload.content_type, upload.filename
            )
        except ValueError as exc:
            raise ApiError(413, "attachment_too_large", str(exc)) from None
        stored.append(saved)
    return _accepted(await gw.submit(from_web(form, key.id, gw.now(), stored)))


_SMS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": SmsInbound.model_json_schema(by_alias=True)},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["MessageSid", "From", "Body"],
                    "properties": {
                        "MessageSid": {"type": "string"},
                        "From": {"type": "string"},
                        "Body": {"type": "string"},
                    },
                }
            },
        },
    }
}


@intake.post(
    "/sms",
    status_code=202,
    summary="SMS gateway inbound webhook (JSON or Twilio-style form)",
    openapi_extra=_SMS_BODY,
)
async def intake_sms(
    request: Request,
    gw: GatewayDep,
    key: Annotated[ApiKey, Depends(_api_key_for(GatewayChannel.SMS))],
) -> Accepted:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "application/json":
        sms = parse_sms(await _json_body(request))
    elif media == "application/x-www-form-urlencoded":
        form = await request.form()
        sms = sms_from_form({k: v for k, v in form.items() if isinstance(v, str)})
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            "expected application/json or application/x-www-form-urlencoded",
        )
    return _accepted(await gw.submit(from_sms(sms, gw.now(), gw.agency_codes)))


@intake.get(
    "/whatsapp",
    summary="WhatsApp webhook verification handshake",
    response_class=PlainTextResponse,
    responses={403: {"model": ErrorBody}, 400: {"model": ErrorBody}},
)
async def whatsapp_verify(
    gw: GatewayDep,
    hub_mode: Annotated[str | None, Query(alias="hub.mode", max_length=64)] = None,
    hub_verify_token: Annotated[str | None, Query(alias="hub.verify_token", max_length=512)] = None,
    hub_challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=512)] = None,
) -> PlainTextResponse:
    secrets_ = gw.security.whatsapp
    if secrets_ is None:
        raise ApiError(404, "channel_disabled", "WhatsApp is not configured on this gateway")
    if hub_mode != "subscribe" or not hub_challenge:
        raise ApiError(400, "invalid_handshake", "expected hub.mode=subscribe and hub.challenge")
    if hub_verify_token is None or not _same(hub_verify_token, secrets_.verify_token):
        raise ApiError(403, "invalid_verify_token", "hub.verify_token does not match")
    return PlainTextResponse(hub_challenge)


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


@intake.post(
    "/whatsapp",
    summary="WhatsApp Business Cloud API webhook (signed with X-Hub-Signature-256)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def whatsapp_webhook(
    request: Request,
    gw: GatewayDep,
    x_hub_signature_256: Annotated[str | None, Header(max_length=200)] = None,
) -> AcceptedMany:
    secrets_ = gw.security.whatsapp
    if secrets_ is None:
        raise ApiError(404, "channel_disabled", "WhatsApp is not configured on this gateway")
    raw = await request.body()
    if not x_hub_signature_256:
        raise ApiError(401, "missing_signature", "X-Hub-Signature-256 header is required")
    if not check_whatsapp_signature(secrets_.app_secret, raw, x_hub_signature_256):
        raise ApiError(401, "invalid_signature", "X-Hub-Signature-256 does not match the body")
    gw.throttle("whatsapp")
    _require_json(request)
    complaints = from_whatsapp(_parse_json(raw), gw.now(), gw.agency_codes)
    tracking = [await gw.submit(c) for c in complaints]
    return AcceptedMany(tracking_numbers=tracking)


@intake.post(
    "/email",
    status_code=202,
    summary="Raw RFC 5322 e-mail upload",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def intake_email(
    request: Request,
    gw: GatewayDep,
    key: Annotated[ApiKey, Depends(_api_key_for(GatewayChannel.EMAIL))],
) -> Accepted:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in ("message/rfc822", "application/octet-stream", "text/plain"):
        raise ApiError(415, "unsupported_media_type", "expected message/rfc822")
    raw = await request.body()
    # MIME parsing and attachment writes run in a thread, off the event loop.
    complaint = await asyncio.to_thread(from_email, raw, gw.now(), gw.store.save)
    return _accepted(await gw.submit(complaint))


@intake.post(
    "/operator",
    status_code=202,
    summary="Call centre or walk-in complaint entered by an operator",
    dependencies=[JsonOnly],
)
async def intake_operator(
    form: OperatorComplaint,
    gw: GatewayDep,
    operator: Annotated[Operator, Depends(operator_required)],
) -> Accepted:
    return _accepted(await gw.submit(from_operator(form, operator.id, gw.now())))


@intake.post("/social", status_code=202, summary="Social media mention", dependencies=[JsonOnly])
async def intake_social(
    mention: SocialMention,
    gw: GatewayDep,
    key: Annotated[ApiKey, Depends(_api_key_for(GatewayChannel.SOCIAL_MEDIA))],
) -> Accepted:
    return _accepted(await gw.submit(from_social(mention)))


@intake.post(
    "/lapor", status_code=202, summary="Report forwarded from SP4N-LAPOR!", dependencies=[JsonOnly]
)
async def intake_lapor(
    report: LaporForward,
    gw: GatewayDep,
    key: Annotated[ApiKey, Depends(_api_key_for(GatewayChannel.SP4N_LAPOR))],
) -> Accepted:
    return _accepted(await gw.submit(from_lapor(report)))


async def _json_body(request: Request) -> Any:
    return _parse_json(await request.body())


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AdapterError("invalid_payload", f"the body is not JSON ({exc})") from None


# -- cases ---------------------------------------------------------------------------------

cases = APIRouter(prefix="/v1/cases", tags=["cases"], responses=_ERRORS)
_TRACKING = Annotated[str, Field(pattern=r"^ADU-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$")]


def _tracking(case_id: str) -> str:
    case_id = case_id.strip().upper()
    import re

    if not re.fullmatch(r"ADU-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}", case_id):
        raise ApiError(404, "unknown_case", "not a tracking number (expected ADU-XXXX-XXXX-XXXX)")
    return case_id


@cases.get("/{case_id}", summary="Case lookup: public view, or the role's view with a token")
async def get_case(
    request: Request,
    case_id: Annotated[str, Field(max_length=64)],
    gw: GatewayDep,
    operator: Annotated[Operator | None, Depends(operator_optional)],
) -> dict[str, Any]:
    if operator is None:
        _throttle_anonymous(request, gw)
    case_id = _tracking(case_id)
    case = gw.read_model.case(case_id)
    if case is None:
        if not gw.read_model.ready:
            raise ApiError(
                503, "not_ready", "the case index is still loading", {"Retry-After": "2"}
            )
        raise ApiError(404, "unknown_case", f"no case {case_id} (yet)")
    history = gw.read_model.history(case_id)
    if operator is None:
        return public_view(case, history, gw.policy)
    if not may_see(operator, case):
        raise ApiError(403, "not_your_agency", "the case is not referred to your agency")
    return operator_view(operator, case, history, gw.policy)


def _implicit_key(case_id: str, body: CommandRequest, now: datetime) -> str:
    """A command id for a client that sent no Idempotency-Key: the same command on the same case
    within the same minute is the same command, so a retry after a timeout (503, the write may
    have landed) is not applied twice. Send an Idempotency-Key to choose the window yourself."""
    canonical = json.dumps([case_id, body.type, body.payload], sort_keys=True, default=str)
    minute = now.astimezone(UTC).strftime("%Y%m%d%H%M")
    return hashlib.sha256(f"{canonical}|{minute}".encode()).hexdigest()[:32]


@cases.post(
    "/{case_id}/commands",
    status_code=202,
    summary="Send a command to a case as the token's operator",
    dependencies=[JsonOnly],
)
async def post_command(
    case_id: Annotated[str, Field(max_length=64)],
    body: CommandRequest,
    gw: GatewayDep,
    operator: Annotated[Operator, Depends(operator_required)],
    idempotency_key: Annotated[str | None, Header(max_length=64, pattern=r"^[\w.:\-]+$")] = None,
) -> CommandAccepted:
    case_id = _tracking(case_id)
    model = COMMAND_TYPES.get(body.type)
    if model is None or body.type == "TimerFired":
        raise ApiError(422, "unknown_command", f"type: {body.type[:64]!r} is not a command")
    role = operator.role.actor_role
    if role not in model.roles:
        raise ApiError(403, "forbidden_command", f"{operator.role.value} may not send {body.type}")
    case = gw.read_model.case(case_id)
    if case is None and gw.read_model.ready:
        # The engine would only dead-letter it; say so now. (Before the read model has caught
        # up we cannot tell, so the command goes through.)
        raise ApiError(404, "unknown_case", f"no case {case_id}")
    if case is not None and not may_see(operator, case):
        raise ApiError(403, "not_your_agency", "the case is not referred to your agency")
    command_id = f"cmd:{operator.id}:{idempotency_key or _implicit_key(case_id, body, gw.now())}"
    actor: dict[str, Any] = {"id": operator.id, "role": role.value}
    if operator.agency:
        actor["agency"] = operator.agency
    message = {
        "event_id": command_id,
        "type": body.type,
        "schema_version": 1,
        "occurred_at": gw.now().isoformat(),
        "case_id": case_id,
        "payload": {**body.payload, "actor": actor},
    }
    try:
        command = parse_command(json.dumps(message).encode())
    except InvalidMessage as exc:
        raise ApiError(422, "invalid_command", exc.detail) from None
    await gw.publisher.publish("cases.commands", case_id.encode(), encode(command))
    return CommandAccepted(case_id=case_id, command_id=command_id, type=body.type)


# -- Open311 GeoReport v2 ------------------------------------------------------------------

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
    request: Request,
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
    from consumers.adapters.base import ComplaintDraft, build_complaint, location_from
    from workflow.enums import Channel

    presented = x_api_key or api_key
    if not presented:
        raise ApiError(401, "missing_api_key", "send api_key (form field) or X-API-Key")
    key = gw.security.find_key(presented)
    if key is None:
        raise ApiError(401, "invalid_api_key", "the API key is not known")
    if GatewayChannel.OPEN311 not in key.channels:
        raise ApiError(403, "channel_not_allowed", f"key {key.id!r} may not use Open311")
    gw.throttle(f"key:{key.id}")
    if service_code not in SERVICES:
        raise ApiError(400, "unknown_service_code", f"service_code {service_code[:64]!r}")
    if not (description or "").strip():
        raise ApiError(400, "missing_description", "description is required by this server")
    if lat is None and long is None and not address_string:
        raise ApiError(400, "missing_location", "send lat and long, or address_string")
    import hashlib

    basis = "\x1f".join(
        str(v or "")
        for v in (
            key.id,
            service_code,
            description,
            lat,
            long,
            address_string,
            email,
            phone,
            device_id,
            account_id,
        )
    )
    attachments: list[Attachment] = []
    if media_url and media_url.startswith(("http://", "https://")):
        attachments.append(
            Attachment(uri=media_url, size_bytes=0, content_type="application/octet-stream")
        )
    name = " ".join(p for p in (first_name, last_name) if p) or None
    draft = ComplaintDraft(
        channel=Channel.MOBILE_APP,
        channel_message_id="open311:" + hashlib.sha256(basis.encode()).hexdigest()[:40],
        received_at=gw.now(),
        text=description or "",
        name=name,
        phone=phone,
        email=email,
        category=(
            MaladministrationCategory(service_code) if service_code != GENERAL_SERVICE else None
        ),
        location=location_from(address_string, lat, long),
        attachments=attachments,
    )
    tracking = await gw.submit(build_complaint(draft))
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
    _throttle_anonymous(request, gw)
    model = gw.read_model
    if service_request_id:
        ids = [i.strip().upper() for i in service_request_id.split(",") if i.strip()]
        found = [model.case(i) for i in ids]
        chosen = [c for c in found if c is not None]
    else:
        chosen = list(model.cases.values())
        codes = set(service_code.split(",")) if service_code else None
        statuses = set(status.split(",")) if status else None
        start = _aware(start_date)
        end = _aware(end_date)
        kept = []
        for case in chosen:
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
        chosen = sorted(kept, key=lambda c: c.opened_at, reverse=True)[:1000]
    return [
        open311_request(c, model.history(c.case_id), gw.policy)
        for c in chosen
        if c.reporter.confidentiality is not Confidentiality.CONFIDENTIAL
    ]


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
    _throttle_anonymous(request, gw)
    case = gw.read_model.case(service_request_id.strip().upper())
    if case is None:
        raise ApiError(404, "unknown_request", f"no service request {service_request_id[:64]!r}")
    return [open311_request(case, gw.read_model.history(case.case_id), gw.policy)]


# -- health --------------------------------------------------------------------------------

health = APIRouter(tags=["health"])


@health.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health.get("/readyz", summary="Readiness: producer started and read model caught up")
async def readyz(gw: GatewayDep) -> JSONResponse:
    body = {
        "producer": gw.publisher.ready,
        "read_model": gw.read_model.ready,
        "cases": len(gw.read_model.cases),
    }
    ready = gw.publisher.ready and gw.read_model.ready
    return JSONResponse({"ready": ready, **body}, status_code=200 if ready else 503)


# -- the factory ---------------------------------------------------------------------------


def create_app(
    settings: GatewaySettings | None = None,
    *,
    security: SecurityConfig | None = None,
    publisher: Publisher | None = None,
    read_model: ReadModel | None = None,
    feed_read_model: bool = True,
    policy: Policy | None = None,
    clock: Callable[[], datetime] | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """Build the gateway. Injected ``publisher``/``read_model`` replace Kafka (tests);
    ``feed_read_model=False`` leaves the read model to the caller."""
    settings = settings or GatewaySettings()
    if security is None:
        if settings.gateway_security_file is None:
            log.warning("no ADUAN_GATEWAY_SECURITY_FILE: using the DEVELOPMENT credentials")
            security = dev_security()
        else:
            security = load_security(settings.gateway_security_file)
    policy = policy or load_policy(settings.policy_file)
    model = read_model if read_model is not None else ReadModel(settings.gateway_history_limit)
    gw = Gateway(
        settings=settings,
        security=security,
        policy=policy,
        publisher=publisher if publisher is not None else KafkaPublisher(settings),
        read_model=model,
        store=AttachmentStore(settings.gateway_store_dir),
        limiter=RateLimiter(settings.gateway_rate_per_minute, settings.gateway_rate_burst),
        clock=clock or (lambda: datetime.now(UTC)),
        agency_codes=frozenset(a.code for a in policy.agencies),
    )
    if feed_read_model and read_model is None:
        gw.feeder = KafkaReadModelFeeder(settings, model)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gw.publisher.start()
        if gw.feeder is not None:
            await gw.feeder.start()
        if settings.gateway_smtp_port is not None:
            from consumers.gateway.smtp import start_smtp

            gw.smtp_server = await start_smtp(gw, settings.gateway_host, settings.gateway_smtp_port)
        try:
            yield
        finally:
            if gw.smtp_server is not None:
                gw.smtp_server.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(gw.smtp_server.wait_closed(), 5)
            if gw.feeder is not None:
                await gw.feeder.stop()
            await gw.publisher.stop()

    app = FastAPI(
        title="aduan gateway",
        version="1.0.0",
        summary="Intake channels, case lookup and Open311 GeoReport v2 for aduan.",
        lifespan=lifespan,
    )
    app.state.gateway = gw
    install_handlers(app)
    for router in (intake, cases, open311, health):
        app.include_router(router)

    def limit_for(path: str) -> int:
        if path in UPLOAD_PATHS:
            return settings.gateway_max_upload_bytes
        return settings.gateway_max_json_bytes

    app.add_middleware(BodyLimit, limit_for=limit_for)
    # Prometheus: /metrics (not in the OpenAPI document) and request counts by route template.
    registry = registry if registry is not None else new_registry()
    app.add_route("/metrics", metrics_endpoint(registry), include_in_schema=False)
    app.add_middleware(HttpMetrics, registry=registry)
    return app


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document as committed in docs/openapi.json (no connections are made)."""
    from consumers.gateway.publisher import MemoryPublisher

    app = create_app(
        GatewaySettings(),
        security=SecurityConfig(),
        publisher=MemoryPublisher(),
        read_model=ReadModel(),
    )
    return app.openapi()


def openapi_json() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m consumers.gateway.app > docs/openapi.json
    import sys

    sys.stdout.write(openapi_json())
