"""Issue 13 finding 3, the production credentials path end to end: ``aduan keygen`` -> a
security file -> ``aduan gateway`` (its own process, real HTTP, the test broker, an engine
worker) -> the new key and tokens work, unknown ones and the development ones are refused, and
each token's role is enforced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from consumers.gateway.security import DEV_API_KEY, DEV_TOKENS, OperatorRole
from tests.e2e.harness import REPO, EngineHarness, wait_for
from tests.e2e.services import security_file, start_gateway


def keygen() -> tuple[str, str]:
    """(secret, hex) as `aduan keygen` prints them."""
    out = subprocess.run(
        [sys.executable, "-m", "consumers.cli", "keygen"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        timeout=60,
    )
    printed = dict(line.split(": ", 1) for line in out.stdout.splitlines())
    return printed["secret"], printed["sha256"]


def test_keygen_security_file_gateway(engine: EngineHarness, tmp_path: Path) -> None:
    engine.start_worker()
    (portal, portal_hash), (verifier, verifier_hash), (officer, officer_hash) = (
        keygen(),
        keygen(),
        keygen(),
    )
    path = security_file(
        tmp_path / "security.yaml",
        api_keys=[{"id": "portal", "channels": ["web"], "sha256": portal_hash}],
        operators=[
            {"id": "op-verifier", "role": "verifier", "sha256": verifier_hash},
            {"id": "op-pupr", "role": "agency_officer", "agency": "PUPR", "sha256": officer_hash},
        ],
    )
    tracking_secret, _ = keygen()
    gateway = start_gateway(
        engine,
        ADUAN_GATEWAY_SECURITY_FILE=str(path),
        ADUAN_GATEWAY_TRACKING_SECRET=tracking_secret,
    )
    try:
        with httpx.Client(base_url=gateway.url, timeout=20) as http:
            form = {
                "submission_id": "prod-1",
                "text": "Jalan di Desa Amahai berlubang besar.",
                "name": "Budi Santoso",
            }

            def submit(key: str, path: str = "/v1/intake/web") -> httpx.Response:
                return http.post(path, json=form, headers={"X-API-Key": key})

            accepted = submit(portal)
            assert accepted.status_code == 202, accepted.text
            tracking = accepted.json()["tracking_number"]
            assert submit("not-a-key").json()["error"] == "invalid_api_key"
            assert submit(DEV_API_KEY).json()["error"] == "invalid_api_key"
            assert submit(verifier).status_code == 401  # a token is not an API key
            wrong_channel = submit(portal, "/v1/intake/lapor")
            assert (wrong_channel.status_code, wrong_channel.json()["error"]) == (
                403,
                "channel_not_allowed",
            )

            def as_(token: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {token}"}

            def command(token: str, type_: str, **payload: str) -> httpx.Response:
                body = {"type": type_, "payload": payload}
                return http.post(f"/v1/cases/{tracking}/commands", json=body, headers=as_(token))

            def state() -> str:
                answer = http.get(f"/v1/cases/{tracking}", headers=as_(verifier))
                return str(answer.json().get("state")) if answer.status_code == 200 else ""

            wait_for(lambda: state() == "received", 60, "the case in the gateway's read model")
            # the verifier's token: sees the reporter, may verify; the officer's may not
            assert http.get(f"/v1/cases/{tracking}", headers=as_(verifier)).json()["case"][
                "reporter"
            ]["name"] == ("Budi Santoso")
            forbidden = command(officer, "CompleteFormalVerification")
            assert (forbidden.status_code, forbidden.json()["error"]) == (403, "forbidden_command")
            not_yours = http.get(f"/v1/cases/{tracking}", headers=as_(officer))
            assert (not_yours.status_code, not_yours.json()["error"]) == (403, "not_your_agency")
            assert command(verifier, "CompleteFormalVerification").status_code == 202
            assert (
                command(verifier, "CompleteMaterialVerification", agency="PUPR").status_code == 202
            )
            wait_for(lambda: state() == "referred", 60, "the referral")
            # the agency officer's token: now sees the case (no reporter name), may accept it
            seen = http.get(f"/v1/cases/{tracking}", headers=as_(officer)).json()
            assert seen["case"]["agency"] == "PUPR"
            assert command(officer, "AcceptReferral").status_code == 202
            assert command(verifier, "AcceptReferral").json()["error"] == "forbidden_command"
            wait_for(lambda: state() == "in_progress", 60, "the agency's acceptance")
            for unknown in ("not-a-token", DEV_TOKENS[OperatorRole.ADMIN]):
                refused = http.get(f"/v1/cases/{tracking}", headers=as_(unknown))
                assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")
        assert "DEVELOPMENT" not in gateway.log()
    finally:
        gateway.stop()
