"""Issue 13 finding 6: Twilio-style SMS form posts must carry a valid ``X-Twilio-Signature``."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from test_gateway import KEY, Env

from consumers.gateway.security import twilio_signature
from workflow.codec import parse_intake

TOKEN = "twilio-auth-token-0123456789"
FORM = {"MessageSid": "SM1", "From": "+6281234567890", "Body": "Air PDAM mati", "To": "+6289"}


def test_signature_matches_twilios_documented_example() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def post(client: TestClient, url: str, signature: str | None) -> tuple[int, str]:
    headers = {**KEY, **({"X-Twilio-Signature": signature} if signature else {})}
    answer = client.post(url, data=FORM, headers=headers)
    return answer.status_code, answer.json().get("error", "")


def test_form_posts_need_a_valid_signature(tmp_path: Path) -> None:
    env = Env(tmp_path, gateway_twilio_auth_token=TOKEN)
    url = "http://testserver/v1/intake/sms?src=twilio"
    good = twilio_signature(TOKEN, url, FORM.items())
    with TestClient(env.app) as client:
        assert post(client, url, None) == (403, "missing_signature")
        assert post(client, url, twilio_signature("wrong-token", url, FORM.items())) == (
            403,
            "invalid_signature",
        )
        # signed for another URL (a replay to another endpoint) or with a changed body
        other = twilio_signature(TOKEN, "http://testserver/v1/intake/sms", FORM.items())
        assert post(client, url, other) == (403, "invalid_signature")
        assert not env.publisher.sent
        assert post(client, url, good) == (202, "")
    assert parse_intake(env.publisher.sent[0][2]).payload.channel_message_id == "SM1"


def test_signature_over_the_public_url_behind_a_proxy(tmp_path: Path) -> None:
    env = Env(
        tmp_path,
        gateway_twilio_auth_token=TOKEN,
        gateway_public_url="https://aduan.malukutengahkab.go.id",
    )
    public = "https://aduan.malukutengahkab.go.id/v1/intake/sms"
    with TestClient(env.app) as client:
        local = twilio_signature(TOKEN, "http://testserver/v1/intake/sms", FORM.items())
        assert post(client, "/v1/intake/sms", local)[0] == 403
        assert post(client, "/v1/intake/sms", twilio_signature(TOKEN, public, FORM.items())) == (
            202,
            "",
        )


def test_form_posts_are_refused_without_an_auth_token(tmp_path: Path) -> None:
    env = Env(tmp_path)
    with TestClient(env.app) as client:
        answer = client.post("/v1/intake/sms", data=FORM, headers=KEY)
        assert answer.status_code == 403
        assert "ADUAN_GATEWAY_TWILIO_AUTH_TOKEN" in answer.json()["detail"]
        json_sms = {"message_id": "m1", "from": "081234567890", "text": "Air PDAM mati"}
        assert client.post("/v1/intake/sms", json=json_sms, headers=KEY).status_code == 202
