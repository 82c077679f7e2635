"""``/v1/intake/*``: one route per channel; each hands the provider's payload to its adapter
and publishes the complaint (202 with the tracking number once Kafka acknowledged)."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import PlainTextResponse
from starlette.datastructures import UploadFile as StarletteUpload

from consumers.adapters.email import from_email
from consumers.adapters.sms import SmsInbound, TwilioSms, from_sms, parse_sms, sms_from_form
from consumers.adapters.social import LaporForward, SocialMention, from_lapor, from_social
from consumers.adapters.web import (
    OperatorComplaint,
    WebComplaint,
    WebFormFields,
    from_operator,
    from_web,
)
from consumers.adapters.whatsapp import from_whatsapp
from consumers.gateway.auth import api_key_for, operator_required, require_twilio_signature
from consumers.gateway.bodies import JsonOnly, media_type, parse_json, require_json
from consumers.gateway.context import Gateway, GatewayDep
from consumers.gateway.errors import ApiError
from consumers.gateway.forms import form_request_body, form_schema, read_form, uploads
from consumers.gateway.models import ERRORS, Accepted, AcceptedMany, accepted
from consumers.gateway.security import (
    ApiKey,
    GatewayChannel,
    Operator,
    check_whatsapp_signature,
)
from workflow.values import Attachment

UPLOAD_PATHS = ("/v1/intake/email", "/v1/intake/web/multipart")
"""The routes whose bodies may be as large as an upload (the others get the JSON limit)."""

intake = APIRouter(prefix="/v1/intake", tags=["intake"], responses=ERRORS)


@intake.post(
    "/web",
    status_code=202,
    summary="Web form complaint (JSON)",
    dependencies=[JsonOnly],
)
async def intake_web(
    form: WebComplaint,
    gw: GatewayDep,
    key: Annotated[ApiKey, Depends(api_key_for(GatewayChannel.WEB))],
) -> Accepted:
    return accepted(await gw.submit(from_web(form, key.id, gw.now())))


_MULTIPART_BODY = form_request_body(
    WebFormFields,
    media_types=("multipart/form-data",),
    files={
        "attachments": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "Files (photos, documents), kept in the attachment store.",
        }
    },
)


@intake.post(
    "/web/multipart",
    status_code=202,
    summary="Web form complaint with files",
    openapi_extra=_MULTIPART_BODY,
)
async def intake_web_multipart(
    request: Request,
    gw: GatewayDep,
    key: Annotated[ApiKey, Depends(api_key_for(GatewayChannel.WEB))],
) -> Accepted:
    fields, form = await read_form(request, WebFormFields, ("multipart/form-data",))
    complaint = fields.complaint()
    stored = await _store_uploads(gw, uploads(form, "attachments"))
    return accepted(await gw.submit(from_web(complaint, key.id, gw.now(), stored)))


async def _store_uploads(gw: Gateway, files: list[StarletteUpload]) -> list[Attachment]:
    stored: list[Attachment] = []
    for upload in files:
        data = await upload.read()
        try:
            # File I/O off the event loop: other requests keep being served meanwhile.
            saved = await asyncio.to_thread(
                gw.store.save, data, upload.content_type, upload.filename
            )
        except ValueError as exc:
            raise ApiError(413, "attachment_too_large", str(exc)) from None
        stored.append(saved)
    return stored


_SMS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": SmsInbound.model_json_schema(by_alias=True)},
            "application/x-www-form-urlencoded": {"schema": form_schema(TwilioSms)},
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
    key: Annotated[ApiKey, Depends(api_key_for(GatewayChannel.SMS))],
) -> Accepted:
    media = media_type(request)
    if media == "application/json":
        sms = parse_sms(parse_json(await request.body()))
    elif media == "application/x-www-form-urlencoded":
        form = await request.form()
        params = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        require_twilio_signature(gw, request, params)
        sms = sms_from_form(dict(params))
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            "expected application/json or application/x-www-form-urlencoded",
        )
    return accepted(await gw.submit(from_sms(sms, gw.now(), gw.agency_codes)))


_JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {
        "description": "Rejected",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for code in ERRORS
}
"""The rejections of a route whose success is not JSON (FastAPI would list them as text)."""


@intake.get(
    "/whatsapp",
    summary="WhatsApp webhook verification handshake",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **_JSON_ERRORS},
)
async def whatsapp_verify(
    gw: GatewayDep,
    hub_mode: Annotated[Literal["subscribe"], Query(alias="hub.mode")],
    hub_verify_token: Annotated[str, Query(alias="hub.verify_token", min_length=1, max_length=512)],
    hub_challenge: Annotated[str, Query(alias="hub.challenge", min_length=1, max_length=512)],
) -> PlainTextResponse:
    """Meta calls this once when the webhook is set up and answers ``hub.challenge`` back."""
    secrets_ = gw.security.whatsapp
    if secrets_ is None:
        raise ApiError(404, "channel_disabled", "WhatsApp is not configured on this gateway")
    if not _same(hub_verify_token, secrets_.verify_token):
        raise ApiError(403, "invalid_verify_token", "hub.verify_token does not match")
    return PlainTextResponse(hub_challenge)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


_WHATSAPP_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@intake.post(
    "/whatsapp",
    summary="WhatsApp Business Cloud API webhook (signed with X-Hub-Signature-256)",
    openapi_extra=_WHATSAPP_BODY,
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
    require_json(request)
    complaints = from_whatsapp(parse_json(raw), gw.now(), gw.agency_codes)
    tracking = [await gw.submit(c) for c in complaints]
    return AcceptedMany(tracking_numbers=tracking)


EMAIL_MEDIA_TYPES = ("message/rfc822", "application/octet-stream", "text/plain")
_RAW_EMAIL = {
    "type": "string",
    "format": "rfc5322",
    "description": (
        "A whole RFC 5322 message: header fields, an empty line, a body with text (plain or "
        "HTML) or an attachment. The sender's Date: is kept as channel_sent_at."
    ),
}
_EMAIL_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {media: {"schema": _RAW_EMAIL} for media in EMAIL_MEDIA_TYPES},
    }
}


@intake.post(
    "/email",
    status_code=202,
    summary="Raw RFC 5322 e-mail upload",
    openapi_extra=_EMAIL_BODY,
)
async def intake_email(
    request: Request,
    gw: GatewayDep,
    key: Annotated[ApiKey, Depends(api_key_for(GatewayChannel.EMAIL))],
) -> Accepted:
    if media_type(request) not in EMAIL_MEDIA_TYPES:
        raise ApiError(415, "unsupported_media_type", "expected message/rfc822")
    raw = await request.body()
    # MIME parsing and attachment writes run in a thread, off the event loop.
    complaint = await asyncio.to_thread(from_email, raw, gw.now(), gw.store.save)
    return accepted(await gw.submit(complaint))


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
    return accepted(await gw.submit(from_operator(form, operator.id, gw.now())))


@intake.post("/social", status_code=202, summary="Social media mention", dependencies=[JsonOnly])
async def intake_social(
    mention: SocialMention,
    gw: GatewayDep,
    key: Annotated[ApiKey, Depends(api_key_for(GatewayChannel.SOCIAL_MEDIA))],
) -> Accepted:
    return accepted(await gw.submit(from_social(mention, gw.now())))


@intake.post(
    "/lapor", status_code=202, summary="Report forwarded from SP4N-LAPOR!", dependencies=[JsonOnly]
)
async def intake_lapor(
    report: LaporForward,
    gw: GatewayDep,
    key: Annotated[ApiKey, Depends(api_key_for(GatewayChannel.SP4N_LAPOR))],
) -> Accepted:
    return accepted(await gw.submit(from_lapor(report, gw.now())))
