"""Who is calling: a channel's API key (``X-API-Key``) or an operator's bearer token -> role.

Each successful check also takes one token from the caller's rate-limit bucket. Both are
declared as OpenAPI security schemes (``ApiKey``, ``OperatorToken``), so generated clients send
them as credentials rather than as ordinary header parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from consumers.gateway.context import Gateway, gateway_of
from consumers.gateway.errors import ApiError
from consumers.gateway.security import ApiKey, GatewayChannel, Operator, check_twilio_signature


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


API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKey",
    description="A channel's API key (`aduan keygen`).",
    auto_error=False,
)
BEARER = HTTPBearer(
    scheme_name="OperatorToken",
    description="An operator's token; its role decides what the operator may see and send.",
    auto_error=False,
)


def api_key_for(channel: GatewayChannel) -> Callable[..., ApiKey]:
    """A dependency: the channel's key from ``X-API-Key`` (or the ``api_key`` query parameter)."""

    def dependency(
        request: Request, x_api_key: Annotated[str | None, Depends(API_KEY_HEADER)]
    ) -> ApiKey:
        presented = x_api_key or request.query_params.get("api_key")
        return channel_key(gateway_of(request), presented, channel)

    return dependency


def _bearer(request: Request) -> Operator:
    gw = gateway_of(request)
    authorization = request.headers.get("authorization")
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


_Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def operator_required(request: Request, _declared: _Credentials) -> Operator:
    # The scheme is declared for the OpenAPI document; the header is read here so that a
    # malformed one answers with our own 401 reason.
    return _bearer(request)


def operator_optional(request: Request, _declared: _Credentials) -> Operator | None:
    return _bearer(request) if request.headers.get("authorization") else None


def signed_url(gw: Gateway, request: Request) -> str:
    """The full URL the provider called (behind a proxy: rebuilt on the public base URL)."""
    if gw.settings.gateway_public_url is None:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{gw.settings.gateway_public_url}{request.url.path}{query}"


def require_twilio_signature(gw: Gateway, request: Request, params: list[tuple[str, str]]) -> None:
    """403 unless a Twilio auth token is configured and ``X-Twilio-Signature`` signs this
    URL and form: without it anyone knowing the URL could file complaints as any number."""
    token = gw.settings.gateway_twilio_auth_token
    if token is None:
        raise ApiError(
            403,
            "twilio_not_configured",
            "Twilio-style form posts need ADUAN_GATEWAY_TWILIO_AUTH_TOKEN on the gateway (to "
            "check X-Twilio-Signature); send the JSON shape otherwise",
        )
    header = request.headers.get("x-twilio-signature")
    if not header:
        raise ApiError(403, "missing_signature", "X-Twilio-Signature header is required")
    url = signed_url(gw, request)
    if not check_twilio_signature(token.get_secret_value(), url, params, header):
        raise ApiError(
            403,
            "invalid_signature",
            "X-Twilio-Signature does not match this URL and form (check the auth token and "
            "ADUAN_GATEWAY_PUBLIC_URL)",
        )
