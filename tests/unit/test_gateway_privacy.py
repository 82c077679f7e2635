"""Issue 13 findings 1-2: what unauthenticated callers see of a case (lookup, Open311 single
requests, Open311 listing), over HTTP with the real core behind an in-memory broker."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_gateway import KEY, Env, bearer, command, submit, web_form

from consumers.gateway.security import OperatorRole
from workflow.codec import parse_intake
from workflow.intake import case_id_for

PUNGLI = {
    "confidentiality": "confidential",
    "category": "permintaan_imbalan",
    "agency_hint": "INSPEKTORAT",
    "subject": "Petugas minta uang pelicin",
}
STATUS_AND_DATES = {
    "tracking_number",
    "state",
    "status",
    "status_note",
    "opened_at",
    "updated_at",
    "expected_at",
    "confidential",
    "history",
}
SIGNED_TEXT = (
    "Pengurusan KTP di kecamatan sudah 3 bulan tidak selesai, petugas minta transfer ke "
    "rekening 1234567890123 atas nama Pak Lurah.\n\nSalam,\nBudi Santoso\nNIK 8101012345670001\n"
    "HP 0812-3456-7890, budi.santoso@example.id"
)


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


@pytest.fixture
def client(env: Env) -> Iterator[TestClient]:
    with TestClient(env.app) as c:
        yield c


def verify(client: TestClient, env: Env, tracking: str, agency: str = "PUPR") -> None:
    for type_, payload in (
        ("CompleteFormalVerification", {}),
        ("CompleteMaterialVerification", {"agency": agency}),
    ):
        answer = command(client, tracking, OperatorRole.VERIFIER, type_, **payload)
        assert answer.status_code == 202, answer.text
    env.engine()


def listed_ids(client: TestClient, **params: Any) -> list[str]:
    answer = client.get("/open311/v2/requests.json", params=params)
    assert answer.status_code == 200, answer.text
    return [r["service_request_id"] for r in answer.json()]


# -- finding 1: confidential cases ------------------------------------------------------------


def test_confidential_open311_request_shows_only_status_and_dates(
    client: TestClient, env: Env
) -> None:
    tracking = submit(client, env, **PUNGLI)
    [request] = client.get(f"/open311/v2/requests/{tracking}.json").json()
    assert request["service_name"] is None
    assert request["service_code"] is None
    assert request["agency_responsible"] is None
    assert request["description"] is None
    assert request["lat"] is None
    assert request["address"] is None
    text = json.dumps(request)
    for telltale in ("pungli", "imbalan", "Inspektorat", "INSPEKTORAT", "pelicin"):
        assert telltale not in text


def test_confidential_public_lookup_shows_only_status_and_dates(
    client: TestClient, env: Env
) -> None:
    tracking = submit(client, env, **PUNGLI)
    verify(client, env, tracking, agency="INSPEKTORAT")
    public = client.get(f"/v1/cases/{tracking}").json()
    assert public["state"] == "referred"
    assert set(public) <= STATUS_AND_DATES
    assert "INSPEKTORAT" not in json.dumps(public)
    # the listing by tracking number shows it the same way
    [by_id] = client.get(
        "/open311/v2/requests.json", params={"service_request_id": tracking}
    ).json()
    assert by_id["agency_responsible"] is None
    # operators still see everything their role allows
    full = client.get(f"/v1/cases/{tracking}", headers=bearer(OperatorRole.VERIFIER)).json()
    assert full["agency"] == "INSPEKTORAT"
    assert full["subject"] == PUNGLI["subject"]


def test_whistle_blowing_is_forced_confidential(client: TestClient, env: Env) -> None:
    tracking = submit(client, env, report_type="whistle_blowing", confidentiality="public")
    public = client.get(f"/v1/cases/{tracking}").json()
    assert public["confidential"] is True
    assert set(public) <= STATUS_AND_DATES
    full = client.get(f"/v1/cases/{tracking}", headers=bearer(OperatorRole.VERIFIER)).json()
    assert full["case"]["reporter"]["confidentiality"] == "confidential"
    assert full["case"]["reporter"]["name"] is None
    assert "Budi" not in json.dumps(full)


# -- finding 2: the public listing ------------------------------------------------------------


def test_listing_holds_only_verified_cases_with_redacted_text(client: TestClient, env: Env) -> None:
    fresh = submit(client, env, submission_id="f-fresh", text=SIGNED_TEXT)
    verified = submit(client, env, submission_id="f-verified", text=SIGNED_TEXT)
    verify(client, env, verified)
    assert listed_ids(client) == [verified]
    [request] = client.get("/open311/v2/requests.json").json()
    text = json.dumps(request, ensure_ascii=False)
    for personal in (
        "Budi",
        "Santoso",
        "0812-3456-7890",
        "budi.santoso@example.id",
        "8101012345670001",
        "1234567890123",
    ):
        assert personal not in text, personal
    assert "[telepon]" in request["description"]
    assert "[NIK]" in request["description"]
    assert "Pengurusan KTP" in request["description"]
    assert request["lat"] == -3.33
    # an unverified case: the reporter's lookup gives no text and no exact location
    [unverified] = client.get(f"/open311/v2/requests/{fresh}.json").json()
    assert unverified["lat"] is None
    assert unverified["address"] is None
    assert "rekening" not in (unverified["description"] or "")


def test_rejected_and_withdrawn_cases_are_never_listed(client: TestClient, env: Env) -> None:
    rejected = submit(client, env, submission_id="f-rejected")
    answer = command(client, rejected, OperatorRole.VERIFIER, "RejectComplaint", reason="duplicate")
    assert answer.status_code == 202, answer.text
    withdrawn = submit(client, env, submission_id="f-withdrawn")
    verify(client, env, withdrawn)
    answer = command(client, withdrawn, OperatorRole.ADMIN, "WithdrawComplaint", note="selesai")
    assert answer.status_code == 202, answer.text
    env.engine()
    states = {t: client.get(f"/v1/cases/{t}").json()["state"] for t in (rejected, withdrawn)}
    assert states == {rejected: "rejected", withdrawn: "withdrawn"}
    assert listed_ids(client) == []
    assert listed_ids(client, status="closed") == []


def test_listing_can_be_turned_off_and_lookups_stay(tmp_path: Path) -> None:
    env = Env(tmp_path, gateway_public_listing=False)
    with TestClient(env.app) as client:
        tracking = submit(client, env)
        verify(client, env, tracking)
        off = client.get("/open311/v2/requests.json")
        assert off.status_code == 403
        assert "turned off" in off.json()[0]["description"]
        assert listed_ids(client, service_request_id=tracking) == [tracking]
        assert client.get(f"/open311/v2/requests/{tracking}.json").status_code == 200
        assert client.get(f"/v1/cases/{tracking}").status_code == 200


# -- finding 5: tracking numbers nobody can compute ------------------------------------------


def test_tracking_numbers_are_keyed_by_the_deployment_secret(tmp_path: Path) -> None:
    secret = "a-long-random-deployment-secret"
    numbers = []
    for run, key in enumerate((secret, secret, "another-deployments-secret")):
        env = Env(tmp_path / str(run), gateway_tracking_secret=key)
        with TestClient(env.app) as client:
            answer = client.post("/v1/intake/web", json=web_form(), headers=KEY)
            assert answer.status_code == 202, answer.text
            numbers.append(answer.json()["tracking_number"])
            [(_, published_key, value)] = env.publisher.sent
            assert published_key == numbers[-1].encode()
            assert parse_intake(value).case_id == numbers[-1]
    # what anyone can compute from the channel and the form's id is not the number
    assert case_id_for("web", "dev:form-123") not in numbers
    assert numbers[0] == case_id_for("web", "dev:form-123", secret.encode())
    # deterministic under one secret (a resubmitted form finds its case), different under another
    assert numbers[0] == numbers[1] != numbers[2]
