"""The gateway's OpenAPI contract (issue 12 defect 8), beside the schemathesis run: the patterns
that stand for libphonenumber's and email_validator's rules admit only what those accept, the
document declares what the fuzz run found missing, and the rate limits (off in the fuzz run)
answer 429 with Retry-After after the burst."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.adapters.fields import EMAIL_PATTERN, PHONE_PATTERN
from consumers.gateway.app import create_app, openapi_document
from consumers.gateway.publisher import MemoryPublisher
from consumers.gateway.readmodel import ReadModel
from consumers.gateway.security import DEV_API_KEY, dev_security
from consumers.gateway.settings import GatewaySettings
from workflow.reporter import Reporter

SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")


@settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.from_regex(PHONE_PATTERN, fullmatch=True).filter(lambda s: 0 < len(s) <= 40))
def test_every_phone_the_pattern_admits_is_a_valid_number(phone: str) -> None:
    assert Reporter(phone=phone).phone is not None


@settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.from_regex(EMAIL_PATTERN, fullmatch=True).filter(lambda s: 0 < len(s) <= 254))
def test_every_email_the_pattern_admits_is_accepted(email: str) -> None:
    if email.rsplit(".", 1)[-1].lower() in SPECIAL_USE:
        return  # refused by email_validator, as the field's description says
    assert Reporter(email=email).email is not None


@pytest.mark.parametrize(
    ("phone", "admitted"),
    [
        ("0812-3456-7890", True),
        ("+62 812 3456 7890", True),
        ("081234567890", True),
        ("0914 21234", True),  # Masohi, fixed line
        ("", True),
        ("12", False),
        ("+1 202 555 0100", False),
        ("0812-3456-7890 ext. 5", False),
    ],
)
def test_phone_notations(phone: str, admitted: bool) -> None:
    assert bool(re.match(PHONE_PATTERN, phone)) is admitted


def _operation(path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = openapi_document()["paths"][path][method]
    return operation


def test_the_document_declares_what_each_operation_reads() -> None:
    verify = _operation("/v1/intake/whatsapp", "get")
    params = {p["name"]: p for p in verify["parameters"]}
    assert {n for n, p in params.items() if p["required"]} == {
        "hub.mode",
        "hub.verify_token",
        "hub.challenge",
    }
    assert set(verify["responses"]["403"]["content"]) == {"application/json"}
    email = _operation("/v1/intake/email", "post")["requestBody"]["content"]
    assert set(email) == {"message/rfc822", "application/octet-stream", "text/plain"}
    georeport = _operation("/open311/v2/requests.json", "post")["requestBody"]["content"]
    form = georeport["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["service_code", "description"]
    assert "anyOf" in form  # a location: lat and long, or address_string
    assert "null" not in str(form)  # a form cannot send null
    multipart = _operation("/v1/intake/web/multipart", "post")["requestBody"]["content"]
    assert multipart["multipart/form-data"]["schema"]["properties"]["attachments"]["type"] == (
        "array"
    )
    schemes = openapi_document()["components"]["securitySchemes"]
    assert set(schemes) == {"ApiKey", "OperatorToken"}


def test_rate_limits_answer_429_with_retry_after_after_the_burst(tmp_path: Path) -> None:
    burst = 3
    settings_ = GatewaySettings(
        gateway_store_dir=tmp_path,
        gateway_rate_per_minute=6,
        gateway_rate_burst=burst,
        gateway_dev_mode=True,
    )
    model = ReadModel()
    model.ready = True
    app = create_app(
        settings_, security=dev_security(), publisher=MemoryPublisher(), read_model=model
    )
    mention = {
        "platform": "x",
        "author_handle": "warga",
        "text": "Jalan putus",
        "posted_at": "2026-03-01T10:00:00+09:00",
    }
    with TestClient(app) as client:
        codes = []
        for n in range(burst + 1):
            answer = client.post(
                "/v1/intake/social",
                json={**mention, "post_id": str(n)},
                headers={"X-API-Key": DEV_API_KEY},
            )
            codes.append(answer.status_code)
        assert codes == [202] * burst + [429]
        assert answer.json()["error"] == "rate_limited"
        assert int(answer.headers["Retry-After"]) >= 1
