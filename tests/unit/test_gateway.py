"""The gateway over HTTP with an in-memory publisher and read model (no broker)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from consumers.gateway.app import create_app, openapi_json
from consumers.gateway.publisher import MemoryPublisher
from consumers.gateway.readmodel import ReadModel
from consumers.gateway.security import (
    DEV_API_KEY,
    DEV_TOKENS,
    DEV_WHATSAPP,
    ApiKey,
    GatewayChannel,
    OperatorRole,
    SecurityConfig,
    dev_security,
    hash_secret,
    whatsapp_signature,
)
from consumers.gateway.settings import GatewaySettings
from workflow.codec import encode, parse_command, parse_intake
from workflow.core import Workflow
from workflow.policy import load_policy

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
KEY = {"X-API-Key": DEV_API_KEY}
SMS_ONLY = "sms-only-key"


def bearer(role: OperatorRole) -> dict[str, str]:
    return {"Authorization": f"Bearer {DEV_TOKENS[role]}"}


class Env:
    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        self.publisher = MemoryPublisher()
        self.model = ReadModel()
        self.model.ready = True
        self.workflow = Workflow(load_policy(), reporter_key=b"k" * 32)
        security = dev_security()
        security = security.model_copy(
            update={
                "api_keys": (
                    *security.api_keys,
                    ApiKey(id="sms", channels=(GatewayChannel.SMS,), sha256=hash_secret(SMS_ONLY)),
                )
            }
        )
        self.settings = GatewaySettings(
            gateway_store_dir=tmp_path / "store", gateway_dev_mode=True, **settings
        )
        self.app = create_app(
            self.settings,
            security=security,
            publisher=self.publisher,
            read_model=self.model,
            clock=lambda: NOW,
        )

    def engine(self, *commands: dict[str, Any]) -> None:
        """Run the published intake (and given commands) through the real core into the model."""
        for _, _, raw in self.publisher.sent:
            message = parse_intake(raw) if b'"ComplaintSubmitted"' in raw else parse_command(raw)
            self.apply(message)
        self.publisher.sent.clear()

    def apply(self, message: Any) -> None:
        case = self.model.case(message.case_id or message.derived_case_id)
        case, events = self.workflow.handle(case, message, NOW)
        for event in events:
            self.model.apply_event(encode(event))
        if case is not None:
            self.model.apply_state(case.case_id.encode(), encode(case))


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


@pytest.fixture
def client(env: Env) -> Iterator[TestClient]:
    with TestClient(env.app) as c:
        yield c


def web_form(**extra: Any) -> dict[str, Any]:
    return {
        "submission_id": "form-123",
        "text": "Jalan di Desa Amahai berlubang besar dan membahayakan pengendara motor.",
        "name": "Budi Santoso",
        "phone": "081234567890",
        "location": {"address": "Desa Amahai", "latitude": -3.33, "longitude": 128.92},
        **extra,
    }


# -- intake, auth, limits ----------------------------------------------------------------------


def test_web_json_is_published_keyed_by_tracking_number(client: TestClient, env: Env) -> None:
    answer = client.post("/v1/intake/web", json=web_form(), headers=KEY)
    assert answer.status_code == 202, answer.text
    tracking = answer.json()["tracking_number"]
    [(topic, key, value)] = env.publisher.sent
    assert (topic, key) == ("complaints.intake", tracking.encode())
    assert parse_intake(value).derived_case_id == tracking
    again = client.post("/v1/intake/web", json=web_form(), headers=KEY)
    assert again.json()["tracking_number"] == tracking  # a resubmitted form: same case


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ({}, 401, "missing_api_key"),
        ({"X-API-Key": "wrong"}, 401, "invalid_api_key"),
        ({"X-API-Key": SMS_ONLY}, 403, "channel_not_allowed"),
    ],
)
def test_api_key_rejections(
    client: TestClient, env: Env, headers: dict[str, str], status: int, reason: str
) -> None:
    answer = client.post("/v1/intake/web", json=web_form(), headers=headers)
    assert (answer.status_code, answer.json()["error"]) == (status, reason)
    assert env.publisher.sent == []


def test_wrong_content_type_and_bad_json(client: TestClient) -> None:
    answer = client.post(
        "/v1/intake/web",
        content=b"text=x",
        headers={**KEY, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (answer.status_code, answer.json()["error"]) == (415, "unsupported_media_type")
    answer = client.post(
        "/v1/intake/web", content=b"{nope", headers={**KEY, "Content-Type": "application/json"}
    )
    assert (answer.status_code, answer.json()["error"]) == (422, "invalid_payload")
    answer = client.post("/v1/intake/web", json=web_form(phone="12"), headers=KEY)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail.startswith("phone: not an Indonesian phone number")  # the field, not the value
    assert "12" not in detail


def test_oversize_body_is_413(client: TestClient, env: Env) -> None:
    big = web_form(text="x" * (env.settings.gateway_max_json_bytes + 10))
    answer = client.post("/v1/intake/web", json=big, headers=KEY)
    assert (answer.status_code, answer.json()["error"]) == (413, "payload_too_large")


def test_rate_limit_per_key(tmp_path: Path) -> None:
    env = Env(tmp_path, gateway_rate_per_minute=1, gateway_rate_burst=2)
    with TestClient(env.app) as client:
        codes = [
            client.post("/v1/intake/web", json=web_form(submission_id=f"s{i}"), headers=KEY)
            for i in range(3)
        ]
        assert [c.status_code for c in codes] == [202, 202, 429]
        assert codes[2].json()["error"] == "rate_limited"
        assert "Retry-After" in codes[2].headers
        # another key has its own bucket
        sms = {"message_id": "m1", "from": "081234567890", "text": "Lampu jalan mati"}
        assert (
            client.post("/v1/intake/sms", json=sms, headers={"X-API-Key": SMS_ONLY}).status_code
            == 202
        )


def test_broker_outage_is_503_and_no_tracking_number(client: TestClient, env: Env) -> None:
    env.publisher.fail = True
    answer = client.post("/v1/intake/web", json=web_form(), headers=KEY)
    assert answer.status_code == 503
    assert answer.json()["error"] == "broker_unavailable"
    assert "tracking_number" not in answer.json()


def test_multipart_files_go_to_the_store_not_to_kafka(client: TestClient, env: Env) -> None:
    photo = b"\xff\xd8\xff\xe0" + b"JPEGDATA" * 1000
    answer = client.post(
        "/v1/intake/web/multipart",
        data={
            "submission_id": "mp-1",
            "text": "Drainase tersumbat",
            "confidentiality": "anonymous",
        },
        files=[("attachments", ("../../etc/foto jalan.jpg", photo, "image/jpeg"))],
        headers=KEY,
    )
    assert answer.status_code == 202, answer.text
    [(_, _, value)] = env.publisher.sent
    assert photo not in value
    assert len(value) < 2000
    [attachment] = parse_intake(value).payload.attachments
    assert attachment.size_bytes == len(photo)
    assert attachment.content_type == "image/jpeg"
    assert attachment.name == "foto jalan.jpg"
    assert env.app.state.gateway.store.open_uri(attachment.uri) == photo


def test_a_form_field_given_twice_is_refused(client: TestClient, env: Env) -> None:
    # The schema says one string; picking one of two names would accept an invalid body.
    answer = client.post(
        "/v1/intake/web/multipart",
        data={"submission_id": "mp-2", "text": "Drainase tersumbat", "name": ["Budi", "Ani"]},
        files=[("attachments", ("foto.jpg", b"\xff\xd8", "image/jpeg"))],
        headers=KEY,
    )
    assert answer.status_code == 422, answer.text
    assert "name: give this field once" in answer.text
    assert env.publisher.sent == []


def test_sms_json_form_and_wrong_type(client: TestClient, env: Env) -> None:
    sms = {
        "message_id": "m1",
        "from": "081234567890",
        "text": "ADUAN #DINKES Puskesmas tutup#Puskesmas Amahai tutup jam 10",
    }
    first = client.post("/v1/intake/sms", json=sms, headers=KEY)
    assert first.status_code == 202
    assert parse_intake(env.publisher.sent[0][2]).payload.agency_hint == "DINKES"
    # (Twilio-style form posts need a signature: tests/unit/test_gateway_twilio.py)
    xml = client.post(
        "/v1/intake/sms", content=b"<sms/>", headers={**KEY, "Content-Type": "text/xml"}
    )
    assert xml.status_code == 415
    bad = client.post("/v1/intake/sms", json={"from": "0812"}, headers=KEY)
    assert bad.status_code == 422
    assert "message_id" in bad.json()["detail"]


def wa_body(message_id: str = "wamid.ABC") -> bytes:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "contacts": [{"profile": {"name": "Siti"}, "wa_id": "6281298765432"}],
                            "messages": [
                                {
                                    "from": "6281298765432",
                                    "id": message_id,
                                    "timestamp": "1772442000",
                                    "type": "text",
                                    "text": {"body": "Jalan ke Tehoru putus"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(payload).encode()


def test_whatsapp_handshake(client: TestClient) -> None:
    ok = client.get(
        "/v1/intake/whatsapp",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": DEV_WHATSAPP.verify_token,
            "hub.challenge": "1158201444",
        },
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    bad = client.get(
        "/v1/intake/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": "nope-nope", "hub.challenge": "1"},
    )
    assert (bad.status_code, bad.json()["error"]) == (403, "invalid_verify_token")


def test_whatsapp_signature(client: TestClient, env: Env) -> None:
    body = wa_body()
    good = whatsapp_signature(DEV_WHATSAPP.app_secret, body)
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": good}
    first = client.post("/v1/intake/whatsapp", content=body, headers=headers)
    assert first.status_code == 200, first.text
    again = client.post("/v1/intake/whatsapp", content=body, headers=headers)
    assert first.json() == again.json()  # Meta redelivers: same case
    assert len(first.json()["tracking_numbers"]) == 1
    tampered = body.replace(b"Tehoru", b"Tehorx")
    for sig, reason in (
        (None, "missing_signature"),
        (good, "invalid_signature"),
        ("sha256=" + "0" * 64, "invalid_signature"),
    ):
        h = {"Content-Type": "application/json"} | ({"X-Hub-Signature-256": sig} if sig else {})
        answer = client.post("/v1/intake/whatsapp", content=tampered, headers=h)
        assert (answer.status_code, answer.json()["error"]) == (401, reason)


def test_email_upload(client: TestClient, env: Env) -> None:
    raw = (REPO / "tests" / "unit" / "test_adapters.py").read_text()
    mail = raw.split('QP_MAIL = b"""', 1)[1].split('"""', 1)[0].encode()
    answer = client.post(
        "/v1/intake/email", content=mail, headers={**KEY, "Content-Type": "message/rfc822"}
    )
    assert answer.status_code == 202, answer.text
    broken = b"From: a@example.id\r\nContent-Type: multipart/mixed\r\n\r\nx\r\n"
    answer = client.post(
        "/v1/intake/email", content=broken, headers={**KEY, "Content-Type": "message/rfc822"}
    )
    assert (answer.status_code, answer.json()["error"]) == (422, "broken_mime")
    answer = client.post("/v1/intake/email", json={"x": 1}, headers=KEY)
    assert answer.status_code == 415


def test_operator_intake_needs_a_token(client: TestClient, env: Env) -> None:
    form = {
        "submission_id": "cc-1",
        "text": "Penelepon mengeluhkan antrean RSUD",
        "channel": "call_centre",
    }
    assert client.post("/v1/intake/operator", json=form).json()["error"] == "missing_token"
    bad = client.post("/v1/intake/operator", json=form, headers={"Authorization": "Bearer x"})
    assert bad.status_code == 401
    ok = client.post("/v1/intake/operator", json=form, headers=bearer(OperatorRole.VERIFIER))
    assert ok.status_code == 202
    assert parse_intake(env.publisher.sent[0][2]).payload.channel_message_id == "dev-verifier:cc-1"


def test_social_and_lapor(client: TestClient, env: Env) -> None:
    mention = {
        "platform": "instagram",
        "post_id": "C4xYz",
        "author_handle": "@warga",
        "text": "Sampah di Pantai Masohi menumpuk",
        "posted_at": "2026-03-01T10:00:00+09:00",
    }
    assert client.post("/v1/intake/social", json=mention, headers=KEY).status_code == 202
    lapor = {
        "tracking_id": "8123456",
        "title": "Bansos",
        "content": "BLT belum diterima",
        "created_at": "2026-03-01T08:00:00+07:00",
    }
    answer = client.post("/v1/intake/lapor", json=lapor, headers=KEY)
    assert answer.status_code == 202
    assert parse_intake(env.publisher.sent[-1][2]).payload.external_reference == "8123456"


# -- lookup, views, commands -------------------------------------------------------------------


def submit(client: TestClient, env: Env, **extra: Any) -> str:
    answer = client.post("/v1/intake/web", json=web_form(**extra), headers=KEY)
    assert answer.status_code == 202, answer.text
    env.engine()
    tracking: str = answer.json()["tracking_number"]
    return tracking


def command(
    client: TestClient, tracking: str, role: OperatorRole, type_: str, **payload: Any
) -> Any:
    return client.post(
        f"/v1/cases/{tracking}/commands",
        json={"type": type_, "payload": payload},
        headers=bearer(role),
    )


def test_public_view_has_no_reporter_data(client: TestClient, env: Env) -> None:
    tracking = submit(client, env)
    public = client.get(f"/v1/cases/{tracking}")
    assert public.status_code == 200
    text = public.text
    assert "Budi" not in text
    assert "+6281234567890" not in text
    assert "reporter" not in text
    assert public.json()["state"] == "received"
    assert public.json()["expected_at"]
    full = client.get(f"/v1/cases/{tracking}", headers=bearer(OperatorRole.VERIFIER)).json()
    assert full["case"]["reporter"]["name"] == "Budi Santoso"
    assert full["history"][0]["type"] == "CaseOpened"


def test_confidential_case_public_view_and_agency_officer(client: TestClient, env: Env) -> None:
    tracking = submit(client, env, confidentiality="confidential", agency_hint="PUPR")
    public = client.get(f"/v1/cases/{tracking}").json()
    assert public["confidential"]
    assert "subject" not in public
    verifier = client.get(f"/v1/cases/{tracking}", headers=bearer(OperatorRole.VERIFIER)).json()
    assert verifier["case"]["reporter"]["name"] is None
    assert verifier["case"]["reporter"]["pseudonym"]
    # not referred yet: the agency officer may not look
    officer = client.get(f"/v1/cases/{tracking}", headers=bearer(OperatorRole.AGENCY_OFFICER))
    assert (officer.status_code, officer.json()["error"]) == (403, "not_your_agency")
    for type_, payload in (
        ("CompleteFormalVerification", {}),
        ("CompleteMaterialVerification", {"agency": "PUPR"}),
    ):
        assert command(client, tracking, OperatorRole.VERIFIER, type_, **payload).status_code == 202
    env.engine()
    seen = client.get(f"/v1/cases/{tracking}", headers=bearer(OperatorRole.AGENCY_OFFICER)).json()
    assert seen["case"]["state"] == "referred"
    assert seen["case"]["reporter"]["pseudonym"] is None
    assert seen["history"][0]["payload"]["reporter"]["pseudonym"] is None
    listing = client.get("/open311/v2/requests.json").json()
    assert tracking not in json.dumps(listing)


def test_a_command_body_is_exactly_its_schema(client: TestClient, env: Env) -> None:
    """The body had one free-form schema (any type, any payload; unknown keys ignored): now one
    schema per operator command, and what it does not allow is refused (issue 12, defect 8)."""
    tracking = submit(client, env)
    url, verifier = f"/v1/cases/{tracking}/commands", bearer(OperatorRole.VERIFIER)
    extra_key = {"type": "TakeOver", "payload": {}, "urgent": True}
    answer = client.post(url, json=extra_key, headers=bearer(OperatorRole.ADMIN))
    assert (answer.status_code, answer.json()["error"]) == (422, "invalid_command")
    as_someone_else = {"type": "CompleteFormalVerification", "payload": {"actor": {"id": "x"}}}
    answer = client.post(url, json=as_someone_else, headers=verifier)
    assert (answer.status_code, answer.json()["error"]) == (422, "invalid_command")
    missing = client.post(url, json={"type": "RejectComplaint"}, headers=verifier)
    assert (missing.status_code, missing.json()["error"]) == (422, "invalid_command")
    assert "payload" in missing.json()["detail"]
    body = client.get("/openapi.json").json()["paths"]["/v1/cases/{case_id}/commands"]["post"]
    mapping = body["requestBody"]["content"]["application/json"]["schema"]["discriminator"]
    assert "RejectComplaint" in mapping["mapping"]
    assert "TimerFired" not in mapping["mapping"]
    assert "LinkToIncident" not in mapping["mapping"]


def test_commands_roles_and_validation(client: TestClient, env: Env) -> None:
    tracking = submit(client, env)
    forbidden = command(client, tracking, OperatorRole.AGENCY_OFFICER, "CompleteFormalVerification")
    assert (forbidden.status_code, forbidden.json()["error"]) == (403, "forbidden_command")
    unknown = command(client, tracking, OperatorRole.ADMIN, "Explode")
    assert (unknown.status_code, unknown.json()["error"]) == (422, "unknown_command")
    timer = command(client, tracking, OperatorRole.ADMIN, "TimerFired", due_at=NOW.isoformat())
    assert timer.status_code == 422
    invalid = command(client, tracking, OperatorRole.VERIFIER, "RejectComplaint", reason="bosan")
    assert (invalid.status_code, invalid.json()["error"]) == (422, "invalid_command")
    assert (
        client.post(f"/v1/cases/{tracking}/commands", json={"type": "TakeOver"}).status_code == 401
    )
    ok = client.post(
        f"/v1/cases/{tracking}/commands",
        json={"type": "CompleteFormalVerification", "payload": {"note": "lengkap"}},
        headers={**bearer(OperatorRole.VERIFIER), "Idempotency-Key": "k-1"},
    )
    assert ok.status_code == 202
    assert ok.json()["command_id"] == "cmd:dev-verifier:k-1"
    [(topic, key, value)] = env.publisher.sent
    assert (topic, key) == ("cases.commands", tracking.encode())
    assert parse_command(value).payload.actor.role == "verifier"


def test_commands_to_unknown_cases_and_retries_without_a_key(client: TestClient, env: Env) -> None:
    unknown = command(
        client, "ADU-AAAA-BBBB-CCCC", OperatorRole.VERIFIER, "CompleteFormalVerification"
    )
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_case")
    tracking = submit(client, env)
    body = {"type": "CompleteFormalVerification", "payload": {"note": "lengkap"}}
    first = client.post(
        f"/v1/cases/{tracking}/commands", json=body, headers=bearer(OperatorRole.VERIFIER)
    )
    retry = client.post(
        f"/v1/cases/{tracking}/commands", json=body, headers=bearer(OperatorRole.VERIFIER)
    )
    assert first.status_code == retry.status_code == 202
    # A client retrying after a timeout sends the same command: the engine applies it once.
    assert first.json()["command_id"] == retry.json()["command_id"]


def test_unknown_and_malformed_tracking(client: TestClient, env: Env) -> None:
    assert client.get("/v1/cases/ADU-AAAA-BBBB-CCCC").json()["error"] == "unknown_case"
    assert client.get("/v1/cases/not-a-number").status_code == 404
    env.model.ready = False
    assert client.get("/v1/cases/ADU-AAAA-BBBB-CCCC").status_code == 503
    assert client.get("/readyz").status_code == 503


# -- Open311 -----------------------------------------------------------------------------------


def test_open311_round_trip(client: TestClient, env: Env) -> None:
    services = client.get("/open311/v2/services.json").json()
    assert {"service_code": "umum"}.items() <= services[0].items()
    form = {
        "api_key": DEV_API_KEY,
        "service_code": "penundaan_berlarut",
        "description": "Izin usaha tidak selesai setelah 2 bulan",
        "lat": "-3.2989",
        "long": "128.9584",
        "email": "pemohon@example.id",
        "first_name": "Yohanis",
    }
    created = client.post("/open311/v2/requests.json", data=form)
    assert created.status_code == 200, created.text
    [ticket] = created.json()
    tracking = ticket["service_request_id"]
    env.engine()
    [request] = client.get(f"/open311/v2/requests/{tracking}.json").json()
    assert request["status"] == "open"
    assert request["service_code"] == "penundaan_berlarut"
    assert request["agency_responsible"]
    assert request["expected_datetime"]
    assert request["lat"] is None  # not verified yet: no exact location (issue 13)
    assert "pemohon" not in json.dumps(request)
    assert client.get("/open311/v2/requests.json", params={"status": "open"}).json() == []
    for type_, payload in (
        ("CompleteFormalVerification", {}),
        ("CompleteMaterialVerification", {"agency": "DPMPTSP"}),
    ):
        assert command(client, tracking, OperatorRole.VERIFIER, type_, **payload).status_code == 202
    env.engine()
    listed = client.get("/open311/v2/requests.json", params={"status": "open"}).json()
    assert [r["service_request_id"] for r in listed] == [tracking]
    assert listed[0]["lat"] == -3.2989
    assert client.get("/open311/v2/requests.json", params={"status": "closed"}).json() == []
    missing = client.get("/open311/v2/requests/ADU-AAAA-BBBB-CCCC.json")
    assert missing.status_code == 404
    assert missing.json()[0]["code"] == 404
    bad = client.post("/open311/v2/requests.json", data={**form, "service_code": "nope"})
    assert bad.status_code == 400
    assert bad.json()[0]["code"] == 400
    nokey = client.post("/open311/v2/requests.json", data={**form, "api_key": ""})
    assert nokey.status_code == 401


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["ready"] is True


def test_committed_openapi_is_current() -> None:
    committed = (REPO / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert committed == openapi_json(), (
        "regenerate: python -m consumers.gateway.app > docs/openapi.json"
    )


def test_empty_security_rejects_everything(tmp_path: Path) -> None:
    app = create_app(
        GatewaySettings(gateway_store_dir=tmp_path, gateway_dev_mode=True),
        security=SecurityConfig(),
        publisher=MemoryPublisher(),
        read_model=ReadModel(),
    )
    with TestClient(app) as client:
        assert client.post("/v1/intake/web", json=web_form(), headers=KEY).status_code == 401
        wa = client.post(
            "/v1/intake/whatsapp", content=wa_body(), headers={"Content-Type": "application/json"}
        )
        assert wa.status_code == 404


def test_anonymous_lookups_are_rate_limited_per_address(tmp_path: Path) -> None:
    # Tracking numbers are the only credential of the public view: guessing them must be slow.
    # (A slow refill, so a loaded machine serving the 60 requests slowly still sees the limit.)
    env = Env(tmp_path, gateway_rate_per_minute=6)
    client = TestClient(env.app)
    answers = [client.get("/v1/cases/ADU-AAAA-BBBB-CCCC").status_code for _ in range(60)]
    assert 429 in answers
    assert set(answers) <= {404, 429}
    limited = client.get("/open311/v2/requests/ADU-AAAA-BBBB-CCCC.json")
    assert limited.status_code == 429
