"""Schemathesis against the gateway's own OpenAPI document (issue 12 defect 8).

Every operation is fuzzed with data the schema calls valid and data it calls invalid, and each
answer is checked: no 5xx, a documented status code and media type, a body that conforms to
the documented response schema, valid data accepted and invalid data rejected. The gateway runs
without rate limits here (the limits have their own test in test_gateway_limits.py).

``ADUAN_API_FUZZ_EXAMPLES`` sets the examples per operation and generation mode (default 25 in
``make test``; ``make api-fuzz``, part of the chaos run, uses 200).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from consumers.gateway.app import create_app
from consumers.gateway.publisher import MemoryPublisher
from consumers.gateway.readmodel import ReadModel
from consumers.gateway.security import DEV_API_KEY, DEV_TOKENS, OperatorRole, dev_security
from consumers.gateway.settings import GatewaySettings
from tests.unit import api_formats

pytestmark = pytest.mark.filterwarnings("ignore")

EXAMPLES = int(os.environ.get("ADUAN_API_FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    positive_data_acceptance,
    negative_data_rejection,
]


def _app() -> Any:
    model = ReadModel()
    model.ready = True
    store = Path(tempfile.mkdtemp(prefix="aduan-st-"))
    return create_app(
        GatewaySettings(gateway_store_dir=store, gateway_rate_per_minute=0, gateway_dev_mode=True),
        security=dev_security(),
        publisher=MemoryPublisher(),
        read_model=model,
    )


api_formats.register()
APP = _app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# Credentials are the real development ones (HEADERS), so schemathesis neither generates nor
# mutates the security schemes: a "missing X-API-Key" mutation would be masked by HEADERS.
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES,
    with_security_parameters=False,
)
HEADERS = {"X-API-Key": DEV_API_KEY, "Authorization": f"Bearer {DEV_TOKENS[OperatorRole.ADMIN]}"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_gateway_does_what_its_schema_says(case: Any) -> None:
    checks = CHECKS
    if case.path == MULTIPART_INTAKE:
        # Its negative cases are unreliable: schemathesis calls a body "violating `required`" inside
        # one branch of the coordinates' anyOf while another branch admits it (seen in CI with both
        # coordinates sent). The JSON web form, the same model, keeps the check.
        checks = [c for c in CHECKS if c is not negative_data_rejection]
    case.call_and_validate(headers=HEADERS, checks=checks)


MULTIPART_INTAKE = "/v1/intake/web/multipart"
