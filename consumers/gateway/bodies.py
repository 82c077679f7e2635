"""Request bodies: the media type a route accepts, and JSON that is really JSON."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Depends, Request

from consumers.adapters.base import AdapterError
from consumers.gateway.errors import ApiError


def media_type(request: Request) -> str:
    """The bare, lower-case media type of the request body ('' when none is sent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def require_json(request: Request) -> None:
    media = media_type(request)
    if media != "application/json" and not media.endswith("+json"):
        raise ApiError(
            415, "unsupported_media_type", f"expected application/json, got {media or 'nothing'}"
        )


JsonOnly = Depends(require_json)


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AdapterError("invalid_payload", f"the body is not JSON ({exc})") from None
