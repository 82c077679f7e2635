"""Every rejection is a precise 4xx with a JSON reason: ``{"error": <reason>, "detail": ...}``
(Open311 routes answer in GeoReport's ``[{"code": <status>, "description": ...}]`` form)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from consumers.adapters.base import AdapterError
from consumers.gateway.publisher import PublishError


class ApiError(Exception):
    """A rejection with its HTTP status, closed ``reason`` and a human detail."""

    def __init__(
        self, status: int, reason: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.reason = reason
        self.detail = detail
        self.headers = headers


_HTTP_REASONS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_payload",
    429: "rate_limited",
}


def error_response(
    request: Request, status: int, reason: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: Any
    if request.url.path.startswith("/open311/"):
        body = [{"code": status, "description": f"{reason}: {detail}"}]
    else:
        body = {"error": reason, "detail": detail}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_detail(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)[:2000]


_COMMAND_ROUTE = re.compile(r"/v1/cases/[^/]+/commands")
_NO_SUCH_TYPE = {"union_tag_invalid", "union_tag_not_found"}


def _invalid_command(request: Request, exc: RequestValidationError) -> JSONResponse:
    """A command body: an unknown ``type`` is ``unknown_command``, anything else wrong with a
    known one ``invalid_command`` (the codes the route answered before its body had a schema)."""
    if any(e.get("type") in _NO_SUCH_TYPE for e in exc.errors()):
        body = getattr(exc, "body", None)
        given = body.get("type") if isinstance(body, dict) else None
        detail = f"type: {str(given)[:64]!r} is not a command" if given else "type: missing"
        return error_response(request, 422, "unknown_command", detail)
    return error_response(request, 422, "invalid_command", _validation_detail(exc))


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request, exc.status, exc.reason, exc.detail, exc.headers)

    @app.exception_handler(AdapterError)
    async def _adapter_error(request: Request, exc: AdapterError) -> JSONResponse:
        return error_response(request, exc.status, exc.reason, exc.detail)

    @app.exception_handler(PublishError)
    async def _publish_error(request: Request, exc: PublishError) -> JSONResponse:
        return error_response(request, 503, "broker_unavailable", str(exc), {"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if _COMMAND_ROUTE.fullmatch(request.url.path):
            return _invalid_command(request, exc)
        return error_response(request, 422, "invalid_payload", _validation_detail(exc))

    @app.exception_handler(ValidationError)
    async def _model_invalid(request: Request, exc: ValidationError) -> JSONResponse:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        return error_response(request, 422, "invalid_payload", detail[:2000])

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        reason = _HTTP_REASONS.get(exc.status_code, "error")
        headers = dict(exc.headers) if exc.headers else None
        return error_response(request, exc.status_code, reason, str(exc.detail), headers)
