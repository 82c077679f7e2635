"""Who is calling: a channel's API key (``X-API-Key``) or an operator's bearer token -> role.

Each successful check also takes one token from the caller's rate-limit bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Header, Request

from consumers.gateway.context import Gateway, gateway_of
from consumers.gateway.errors import ApiError
from consumers.gateway.security import ApiKey, GatewayChannel, Operator


def channel_key(
    gw: Gateway,
    presented: str | None,
    channel: GatewayChannel,
    *,
    missing: str = "send the channel's key in X-API-Key",
    action: str | None = None,
) -> ApiKey:
    """The API key ``presented`` for ``channel`` (401 unknown, 403 not allowed on the channel);
    ``missing`` and ``action`` word the rejections for the route's own way of sending the key."""
    if not presented:
        raise ApiError(401, "missing_api_key", missing)
    key = gw.security.find_key(presented)
    if key is None:
        raise ApiError(401, "invalid_api_key", "the API key is not known")
    if channel not in key.channels:
        doing = action or f"submit on {channel.value}"
        raise ApiError(403, "channel_not_allowed", f"key {key.id!r} may not {doing}")
    gw.throttle(f"key:{key.id}")
    return key


def api_key_for(channel: GatewayChannel) -> Callable[..., ApiKey]:
    """A dependency: the channel's key from ``X-API-Key`` (or the ``api_key`` query parameter)."""

    def dependency(
        request: Request,
        x_api_key: Annotated[
            str | None, Header(description="The channel's API key.", max_length=512)
        ] = None,
    ) -> ApiKey:
        presented = x_api_key or request.query_params.get("api_key")
        return channel_key(gateway_of(request), presented, channel)

    return dependency


def _bearer(request: Request, authorization: str | None) -> Operator:
    gw = gateway_of(request)
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
