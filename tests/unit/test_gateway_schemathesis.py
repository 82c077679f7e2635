"""Schemathesis against the gateway's own OpenAPI document: no generated input gets a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from consumers.gateway.app import create_app
from consumers.gateway.publisher import MemoryPublisher
from consumers.gateway.readmodel import ReadModel
from consumers.gateway.security import DEV_API_KEY, DEV_TOKENS, OperatorRole, dev_security
from consumers.gateway.settings import GatewaySettings

pytestmark = pytest.mark.filterwarnings("ignore")


def _app() -> Any:
    model = ReadModel()
    model.ready = True
    store = Path(__import__("tempfile").mkdtemp(prefix="aduan-st-"))
    return create_app(
        GatewaySettings(gateway_store_dir=store, gateway_rate_per_minute=0, gateway_dev_mode=True),
        security=dev_security(),
        publisher=MemoryPublisher(),
        read_model=model,
    )


@schemathesis.serializer("message/rfc822")
def _rfc822(ctx: Any, value: Any) -> bytes:
    """Generated e-mail bodies: bytes as they come, anything else as its UTF-8 text."""
    if isinstance(value, bytes):
        return value
    return str(value).encode()


APP = _app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
HEADERS = {"X-API-Key": DEV_API_KEY, "Authorization": f"Bearer {DEV_TOKENS[OperatorRole.ADMIN]}"}


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: Any) -> None:
    for headers in (HEADERS, None):
        response = case.call(headers=headers)
        assert response.status_code < 500, (response.status_code, response.text[:500])
