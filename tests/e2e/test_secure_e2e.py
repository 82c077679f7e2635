"""The whole flow on the secured broker (SASL_SSL, SCRAM-SHA-512, ACLs of deploy/kafka/acls.json),
each process logged in as its own principal, exactly as ``make run-secure`` runs them: the gateway
(``gateway``) takes a complaint over HTTP, the engine worker (``engine``) opens and refers the case,
the operator (the test) reads ``cases.events``, the clock moves on, and the notifier (``notifier``)
mails the silent agency's head. No process may log an authorization failure on the way: what the
real clients need is in the ACLs, and nothing more is (tests/integration/test_kafka_secure.py
shows what each principal is refused).

Uses the session's secured broker (tests/secure_broker.py: prefix ``sec``, one partition per topic).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from consumers.gateway.security import DEV_API_KEY, DEV_TOKENS, DEV_TRACKING_SECRET, OperatorRole
from consumers.notifier.sink import start_sink
from tests.e2e import builders as b
from tests.e2e.harness import EngineHarness, free_port, wait_for
from tests.e2e.services import Process, start_gateway, start_notifier
from tests.e2e.test_cli import aduan, one_line_error
from tests.e2e.test_engine_flows import has
from tests.e2e.test_notifier_e2e import DIRECTORY
from tests.secure_broker import PREFIX, SecureBroker
from workflow.intake import with_tracking_number

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(300)]

VERIFIER = {"Authorization": f"Bearer {DEV_TOKENS[OperatorRole.VERIFIER]}"}
#: What Kafka clients log when the broker refuses them (aiokafka, kafka-python, faust).
REFUSALS = ("AuthorizationFailed", "AUTHORIZATION_FAILED", "SaslAuthenticationFailed")


@pytest.fixture
def secured(secure_broker: SecureBroker, tmp_path: Path) -> Iterator[EngineHarness]:
    """The test drives the deployment as the operator principal; topics exist already."""
    now = datetime.now(UTC).replace(microsecond=0)
    harness = EngineHarness(
        secure_broker.bootstrap, PREFIX, tmp_path, now, security=secure_broker.security("operator")
    )
    try:
        yield harness
    finally:
        harness.close()


def no_refusals(name: str, log: str) -> None:
    refused = [line for line in log.splitlines() if any(r in line for r in REFUSALS)]
    assert not refused, f"{name} was refused by the broker:\n" + "\n".join(refused[:10])


def test_intake_to_referral_to_alert_with_one_principal_per_process(
    secure_broker: SecureBroker, secured: EngineHarness, tmp_path: Path
) -> None:
    started = time.monotonic()
    one_partition = {"ADUAN_TOPIC_PARTITIONS": "1"}
    worker = secured.start_worker(**secure_broker.client_env("engine"), **one_partition)
    controller, sink = start_sink(port=free_port(), echo=False)
    directory = tmp_path / "officers.yaml"
    directory.write_text(DIRECTORY.format(smtp=controller.port))
    processes: list[Process] = []
    try:
        notifier = start_notifier(
            secured,
            directory,
            ADUAN_NOTIFIER_GROUP_ID="aduan-notifier",  # the group its ACL names
            **secure_broker.client_env("notifier"),
        )
        processes.append(notifier)
        gateway = start_gateway(
            secured,
            ADUAN_GATEWAY_DEV_MODE="true",
            ADUAN_GATEWAY_RATE_PER_MINUTE="0",
            **secure_broker.client_env("gateway"),
        )
        processes.append(gateway)
        events = secured.reader("cases.events")
        with httpx.Client(base_url=gateway.url, timeout=20) as http:
            form = {
                "submission_id": f"secure-{time.time_ns()}",
                "text": "Puskesmas Amahai tutup sejak pagi, pasien menunggu di luar.",
                "name": "Yohanis Tuhuteru",
                "phone": "081299887766",
                "confidentiality": "confidential",
            }
            accepted = http.post("/v1/intake/web", json=form, headers={"X-API-Key": DEV_API_KEY})
            assert accepted.status_code == 202, accepted.text
            tracking = accepted.json()["tracking_number"]
            mine = lambda evs: [e for e in evs if e.get("case_id") == tracking]  # noqa: E731
            events.wait(lambda evs: has("CaseOpened")(mine(evs)), 60, "CaseOpened (operator)")

            def state() -> str:
                answer = http.get(f"/v1/cases/{tracking}", headers=VERIFIER)
                return str(answer.json().get("state")) if answer.status_code == 200 else ""

            wait_for(lambda: state() == "received", 60, "the case in the gateway's read model")
            for type_, payload in (
                ("CompleteFormalVerification", {}),
                ("CompleteMaterialVerification", {"agency": "DINKES"}),
            ):
                body = {"type": type_, "payload": payload}
                sent = http.post(f"/v1/cases/{tracking}/commands", json=body, headers=VERIFIER)
                assert sent.status_code == 202, sent.text
            events.wait(lambda evs: has("CaseReferred")(mine(evs)), 60, "CaseReferred")
            wait_for(lambda: state() == "referred", 60, "the referral in the read model")
        # two weeks of silence: the follow-up plan is late, the agency's head is alerted
        secured.set_clock(secured.start + timedelta(days=14))
        events.wait(lambda evs: has("CaseEscalated", level=1)(mine(evs)), 30, "the escalation")

        def head_alerted() -> bool:
            return any("kadis.dinkes@malukutengahkab.go.id" in r for _, r, _ in sink.messages)

        wait_for(head_alerted, 60, "the Kepala OPD's email from the notifier", interval=0.2)
        print(f"\nsecured e2e flow: {time.monotonic() - started:.1f}s")
        the_operator_cli_works(secure_broker, secured, tracking)
        for process in processes:
            assert process.alive(), f"{process.name} exited:\n{process.log()[-3000:]}"
        assert worker.alive(), worker.log_tail()
        no_refusals("the engine worker", worker.log_path.read_text(errors="replace"))
        for process in processes:
            no_refusals(process.name, process.log())
    finally:
        for process in processes:
            process.stop()
        controller.stop()


def the_operator_cli_works(broker: SecureBroker, secured: EngineHarness, tracking: str) -> None:
    """The CLI as the operator principal: reads the case and its events, submits; as the notifier
    it may not submit, and only the super user creates topics (one line, non-zero exit)."""
    operator = broker.client_env("operator")
    shown = aduan(secured, "case", "show", tracking, "--json", **operator)
    assert shown.returncode == 0, shown.stderr
    snapshot = json.loads(shown.stdout)
    assert (snapshot["case_id"], snapshot["state"]) == (tracking, "referred")
    tail = aduan(secured, "events", "tail", "-n", "1", "--case", tracking, **operator)
    assert tail.returncode == 0, tail.stderr
    assert tail.stdout.strip()
    path = secured.workdir / "complaint.json"
    complaint = b.complaint(f"cli-secure-{time.time_ns()}", secured.start)
    path.write_bytes(b.wire(complaint)[1])
    submitted = aduan(secured, "submit", str(path), **operator, ADUAN_GATEWAY_DEV_MODE="true")
    assert submitted.returncode == 0, submitted.stderr
    keyed = with_tracking_number(complaint, DEV_TRACKING_SECRET).case_id  # as the gateway
    assert submitted.stdout.strip().splitlines()[-1] == keyed
    notifier = {**broker.client_env("notifier"), "ADUAN_GATEWAY_DEV_MODE": "true"}
    refused = one_line_error(aduan(secured, "submit", str(path), **notifier))
    assert "uthoriz" in refused, refused
    provisioned = aduan(secured, "topics", ADUAN_TOPIC_PARTITIONS="1", **broker.client_env("admin"))
    assert provisioned.returncode == 0, provisioned.stdout + provisioned.stderr
    assert "0 created" in provisioned.stdout
    assert "0 drift" in provisioned.stdout
    elsewhere = aduan(secured, "topics", **{**operator, "ADUAN_TOPIC_PREFIX": "not-sec"})
    assert "TopicAuthorizationFailed" in one_line_error(elsewhere)
