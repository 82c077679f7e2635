"""Issue 13's proof: a privacy scan over everything a deployment exposes.

Real processes on the test broker: an engine worker (simulated clock), ``aduan gateway`` (the
production path: security file, tracking secret, Twilio token) and ``aduan notifier`` sending
to a real SMTP sink. Public, anonymous and confidential reporters with distinctive names,
phones and e-mail addresses complain on six channels; every case is verified, referred, left
to escalate (alert mails), then accepted, planned, resolved and confirmed. Then every topic
except those declared to hold identities (read committed), every process log, every /metrics
page, every alert mail and every unauthenticated HTTP response is scanned.
"""

from __future__ import annotations

import email.policy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from consumers.gateway.security import hash_secret, twilio_signature, whatsapp_signature
from consumers.notifier.sink import start_sink
from consumers.topic_reading import read_until_end
from consumers.topics import DEADLETTER, INTAKE, TOPICS
from tests.conftest import delete_topics_with_prefix
from tests.e2e.harness import EngineHarness, free_port, wait_for
from tests.e2e.services import Process, security_file, start_gateway, start_notifier

API_KEY, VERIFIER, OFFICER, ADMIN = "scan-api-key", "scan-verifier", "scan-pupr", "scan-admin"
WA_SECRET, WA_VERIFY, TWILIO = "scan-whatsapp-secret", "scan-verify-token", "scan-twilio-token"
WIT = timedelta(hours=9)

DIRECTORY = """
case_url: "http://127.0.0.1:8080/v1/cases/{{tracking}}"
smtp: {{host: 127.0.0.1, port: {smtp}, sender: aduan@malukutengahkab.go.id, mode: insecure,
        timeout: 2}}
officers:
  - {{id: penghubung, name: Admin Penghubung, role: Admin Penghubung,
      email: penghubung@malukutengahkab.go.id}}
  - {{id: kadis, name: Kepala OPD, role: Kepala OPD, email: kadis@malukutengahkab.go.id}}
  - {{id: sekda, name: Sekretaris Daerah, role: Sekda, email: sekda@malukutengahkab.go.id}}
agencies:
  "*": {{liaison: [penghubung], levels: {{1: [kadis], 2: [sekda]}}}}
"""


@dataclass(frozen=True)
class Reporter:
    kind: str  # public | anonymous | confidential
    name: str
    phone: str  # as the reporter writes it, e.g. 0813-7002-0002
    email: str

    @property
    def digits(self) -> str:
        """The national significant number: inside every notation (+62..., 62..., 0...)."""
        return "".join(c for c in self.phone if c.isdigit()).removeprefix("0")

    def identity(self) -> list[str]:
        return [self.name, self.name.split()[-1], *self.contacts()]

    def contacts(self) -> list[str]:
        return [self.digits, self.phone, self.email]


HENDRIK = Reporter(
    "public", "Hendrik Latuconsina", "0812-7001-0001", "hendrik.latuconsina@example.id"
)
THERESIA = Reporter("anonymous", "Theresia Pattiasina", "0813-7002-0002", "theresia.p@example.id")
YAKOBUS = Reporter("confidential", "Yakobus Sahetapy", "0813-7003-0003", "yakobus.s@example.id")
MARIA = Reporter("anonymous", "Maria Tuasikal", "0852-7004-0004", "maria.tuasikal@example.id")
JOHANIS = Reporter("confidential", "Johanis Wattimena", "0813-7005-0005", "johanis.w@example.id")
YULIANA = Reporter("public", "Yuliana Souisa", "0812-7006-0006", "yuliana.souisa@example.id")
ABRAHAM = Reporter("public", "Abraham Manuputty", "0812-7007-0007", "abraham.m@example.id")
"""Abraham says "public" but blows the whistle: the core makes him confidential."""

HIDDEN = (THERESIA, YAKOBUS, MARIA, JOHANIS, ABRAHAM)
EVERYONE = (HENDRIK, THERESIA, YAKOBUS, MARIA, JOHANIS, YULIANA, ABRAHAM)


def signature(r: Reporter) -> str:
    return f"\n\nSalam,\n{r.name}\nHP {r.phone} / {r.email}"


@dataclass
class Scan:
    """Everything looked at, with where each forbidden string was found."""

    counts: dict[str, int] = field(default_factory=dict)
    found: list[str] = field(default_factory=list)

    def look(self, what: str, where: str, text: str, needles: list[str]) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1
        folded = text.casefold()
        for needle in needles:
            if needle.casefold() in folded:
                self.found.append(f"{needle!r} in {where}: ...{_around(text, needle)}...")


def _around(text: str, needle: str) -> str:
    at = text.casefold().find(needle.casefold())
    return text[max(0, at - 80) : at + len(needle) + 40].replace("\n", " ")


class Deployment:
    """The processes and the unauthenticated HTTP answers collected on the way."""

    def __init__(self, engine: EngineHarness, gateway: Process, notifier: Process) -> None:
        self.engine, self.gateway, self.notifier = engine, gateway, notifier
        self.http = httpx.Client(base_url=gateway.url, timeout=30)
        self.public_answers: list[tuple[str, str]] = []
        self.cases: dict[str, Reporter] = {}

    def intake(self, reporter: Reporter, path: str, **kwargs: Any) -> str:
        headers = {"X-API-Key": API_KEY, **kwargs.pop("headers", {})}
        answer = self.http.post(path, headers=headers, **kwargs)
        assert answer.status_code in (200, 202), answer.text
        self.public_answers.append((f"POST {path}", answer.text))
        body = answer.json()
        tracking = (
            body[0]["service_request_id"]
            if isinstance(body, list)
            else body.get("tracking_number") or body["tracking_numbers"][0]
        )
        self.cases[tracking] = reporter
        return str(tracking)

    def command(self, token: str, tracking: str, type_: str, **payload: str) -> None:
        answer = self.http.post(
            f"/v1/cases/{tracking}/commands",
            json={"type": type_, "payload": payload},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 202, answer.text

    def state(self, tracking: str) -> str:
        answer = self.http.get(
            f"/v1/cases/{tracking}", headers={"Authorization": f"Bearer {VERIFIER}"}
        )
        return str(answer.json().get("state")) if answer.status_code == 200 else ""

    def all_in(self, state: str) -> None:
        wait_for(
            lambda: all(self.state(t) == state for t in self.cases),
            90,
            f"every case {state} ({ {t: self.state(t) for t in self.cases} })",
            interval=0.5,
        )

    def public_get(self, path: str, **params: str) -> None:
        answer = self.http.get(path, params=params)
        assert answer.status_code == 200, (path, answer.text)
        self.public_answers.append((f"GET {path} {params}", answer.text))


def submit_complaints(d: Deployment, now: datetime) -> None:
    d.intake(
        HENDRIK,
        "/v1/intake/web",
        json={
            "submission_id": "scan-web-1",
            "text": "Jalan ke Desa Amahai berlubang besar sejak Oktober." + signature(HENDRIK),
            "name": HENDRIK.name,
            "phone": HENDRIK.phone,
            "email": HENDRIK.email,
            "location": {"address": "Desa Amahai", "latitude": -3.33, "longitude": 128.92},
        },
    )
    d.intake(
        THERESIA,
        "/v1/intake/web",
        json={
            "submission_id": "scan-web-2",
            "text": "Pengurusan KTP elektronik di Dukcapil ditunda tiga bulan."
            + signature(THERESIA),
            "name": THERESIA.name,
            "phone": THERESIA.phone,
            "email": THERESIA.email,
            "confidentiality": "anonymous",
        },
    )
    d.intake(
        ABRAHAM,
        "/v1/intake/web",
        json={
            "submission_id": "scan-web-3",
            "text": "Kepala seksi memotong dana bantuan sosial warga." + signature(ABRAHAM),
            "name": ABRAHAM.name,
            "phone": ABRAHAM.phone,
            "email": ABRAHAM.email,
            "report_type": "whistle_blowing",
            "category": "penyalahgunaan_wewenang",
        },
    )
    sms = {
        "MessageSid": "SMscan0003",
        "From": "+62" + YAKOBUS.digits,
        "Body": "ADUAN RAHASIA Pungli IMB#Petugas minta uang 500 ribu untuk IMB. "
        f"Hubungi {YAKOBUS.phone}",
    }
    url = f"{d.gateway.url}/v1/intake/sms"
    d.intake(
        YAKOBUS,
        "/v1/intake/sms",
        data=sms,
        headers={"X-Twilio-Signature": twilio_signature(TWILIO, url, sms.items())},
    )
    mail = (
        f'From: "{MARIA.name}" <{MARIA.email}>\r\nTo: pengaduan@malukutengahkab.go.id\r\n'
        f"Subject: [ANONIM] Guru SD jarang masuk kelas\r\nMessage-ID: <scan-0004@example.id>\r\n"
        f"Date: {now.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n\r\n"
        f"Guru kelas 3 SD Negeri Masohi sering tidak masuk.{signature(MARIA)}\r\n"
    ).encode()
    d.intake(MARIA, "/v1/intake/email", content=mail, headers={"Content-Type": "message/rfc822"})
    wa_id = "62" + JOHANIS.digits
    wa = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "1",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "contacts": [{"profile": {"name": JOHANIS.name}, "wa_id": wa_id}],
                                "messages": [
                                    {
                                        "from": wa_id,
                                        "id": "wamid.scan0005",
                                        "timestamp": str(int(now.timestamp())),
                                        "type": "text",
                                        "text": {
                                            "body": "ADUAN RAHASIA Pungli puskesmas#Petugas "
                                            "puskesmas minta uang untuk surat rujukan#Masohi"
                                        },
                                    }
                                ],
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    d.intake(
        JOHANIS,
        "/v1/intake/whatsapp",
        content=wa,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": whatsapp_signature(WA_SECRET, wa),
        },
    )
    first, last = YULIANA.name.split()
    d.intake(
        YULIANA,
        "/open311/v2/requests.json",
        data={
            "api_key": API_KEY,
            "service_code": "penundaan_berlarut",
            "description": f"Izin usaha belum selesai setelah 2 bulan. Hubungi {YULIANA.phone}.",
            "lat": "-3.2989",
            "long": "128.9584",
            "email": YULIANA.email,
            "first_name": first,
            "last_name": last,
            "phone": YULIANA.phone,
        },
    )


def run_the_cases(d: Deployment, engine: EngineHarness, sink: Any) -> None:
    d.all_in("received")
    for tracking in d.cases:
        d.command(VERIFIER, tracking, "CompleteFormalVerification")
        d.command(VERIFIER, tracking, "CompleteMaterialVerification", agency="PUPR")
    d.all_in("referred")
    # The agency stays silent past the follow-up plan's deadline: escalation, alert mails.
    engine.set_clock(engine.start + timedelta(days=14))
    wait_for(
        lambda: any("kadis@" in ",".join(rcpts) for _, rcpts, _ in sink.messages),
        60,
        "an escalation mail to the Kepala OPD",
        interval=0.5,
    )
    for tracking in d.cases:
        d.command(OFFICER, tracking, "AcceptReferral")
        d.command(OFFICER, tracking, "PostFollowUpPlan", plan="Petugas diperiksa Inspektorat.")
        d.command(OFFICER, tracking, "ResolveComplaint", resolution_text="Sudah ditindaklanjuti.")
    d.all_in("resolved")
    for tracking in d.cases:
        d.command(ADMIN, tracking, "ConfirmResolution")
    d.all_in("closed")


def read_topics(engine: EngineHarness) -> Iterator[tuple[str, Any]]:
    admin = KafkaAdminClient(bootstrap_servers=engine.bootstrap)
    try:
        names = sorted(t for t in admin.list_topics() if engine.prefix in t)
    finally:
        admin.close()
    # Where identities live by design (intake, deadletter, the reporter contact store and the
    # reporters' replies; all read only by their own service and the operator): not scanned.
    skipped = {engine.topic(t.name) for t in TOPICS if t.holds_identities}
    assert {engine.topic(INTAKE), engine.topic(DEADLETTER)} <= skipped
    consumer = KafkaConsumer(
        bootstrap_servers=engine.bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        group_id=None,
    )
    try:
        partitions = [
            TopicPartition(name, p)
            for name in names
            if name not in skipped
            for p in sorted(consumer.partitions_for_topic(name) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        for record in read_until_end(consumer, consumer.end_offsets(partitions)):
            yield record.topic, record
    finally:
        consumer.close()


def record_text(record: Any) -> str:
    parts = [record.key or b"", record.value or b""]
    parts += [k.encode() + b"=" + (v or b"") for k, v in record.headers or []]
    return "\n".join(p.decode("utf-8", errors="replace") for p in parts)


def mail_text(message: Any) -> str:
    parts = [message.as_string(policy=email.policy.default)]
    parts += [p.get_content() for p in message.walk() if p.get_content_maintype() == "text"]
    return "\n".join(parts)


@pytest.fixture
def engine(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> Iterator[EngineHarness]:
    # The gateway stamps complaints with the real time: the simulated clock starts there.
    now = datetime.now(UTC).replace(microsecond=0)
    harness = EngineHarness(kafka_bootstrap, topic_prefix, tmp_path, start=now)
    harness.provision()
    try:
        yield harness
    finally:
        harness.close()
        delete_topics_with_prefix(kafka_bootstrap, [topic_prefix])


def test_privacy_scan(engine: EngineHarness, tmp_path: Path) -> None:
    worker = engine.start_worker()
    controller, sink = start_sink(port=free_port(), echo=False)
    directory = tmp_path / "officers.yaml"
    directory.write_text(DIRECTORY.format(smtp=controller.port))
    path = security_file(
        tmp_path / "security.yaml",
        api_keys=[
            {
                "id": "channels",
                "channels": ["web", "sms", "email", "open311"],
                "sha256": hash_secret(API_KEY),
            }
        ],
        operators=[
            {"id": "op-verifier", "role": "verifier", "sha256": hash_secret(VERIFIER)},
            {
                "id": "op-pupr",
                "role": "agency_officer",
                "agency": "PUPR",
                "sha256": hash_secret(OFFICER),
            },
            {"id": "op-admin", "role": "admin", "sha256": hash_secret(ADMIN)},
        ],
    )
    with path.open("a") as extra:
        extra.write(f"whatsapp: {{app_secret: {WA_SECRET}, verify_token: {WA_VERIFY}}}\n")
    gateway = start_gateway(
        engine,
        ADUAN_GATEWAY_SECURITY_FILE=str(path),
        ADUAN_GATEWAY_TRACKING_SECRET="scan-tracking-secret-0123456789",
        ADUAN_GATEWAY_TWILIO_AUTH_TOKEN=TWILIO,
        ADUAN_GATEWAY_RATE_PER_MINUTE="0",
    )
    notifier = start_notifier(engine, directory)
    d = Deployment(engine, gateway, notifier)
    try:
        submit_complaints(d, engine.start)
        assert len(d.cases) == len(EVERYONE)
        run_the_cases(d, engine, sink)
        for tracking in d.cases:
            d.public_get(f"/v1/cases/{tracking}")
            d.public_get(f"/v1/cases/{tracking.lower()}")
            d.public_get(f"/open311/v2/requests/{tracking}.json")
        d.public_get("/open311/v2/requests.json")
        d.public_get("/open311/v2/requests.json", status="closed")
        d.public_get("/open311/v2/requests.json", service_request_id=",".join(d.cases))
        d.public_get("/open311/v2/services.json")
        assert notifier.alive(), notifier.log()[-3000:]

        scan = Scan()
        hidden = [s for r in HIDDEN for s in r.identity()]
        contacts = [s for r in EVERYONE for s in r.contacts()]
        for topic, record in read_topics(engine):
            scan.look(
                "records",
                f"{topic}@{record.partition}:{record.offset}",
                record_text(record),
                hidden,
            )
        for process in (worker, gateway, notifier):
            # The gateway's access log names the client: a tracking number beside it would
            # say who looked up which case (all of them were looked up above).
            needles = [*hidden, *d.cases] if process is gateway else hidden
            for number, line in enumerate(
                Path(process.log_path).read_text(errors="replace").splitlines()
            ):
                scan.look("log lines", f"{process.name}.log:{number + 1}", line, needles)
        for name, url in (
            ("gateway", f"{gateway.url}/metrics"),
            ("notifier", f"{notifier.url}/metrics"),
            ("worker", f"http://127.0.0.1:{worker.port}/metrics"),
        ):
            page = httpx.get(url, timeout=10)
            assert page.status_code == 200, (name, page.status_code)
            scan.look("metrics pages", f"{name} /metrics", page.text, hidden)
        for number, (_, rcpts, message) in enumerate(sink.messages):
            scan.look("mails", f"mail {number} to {rcpts}", mail_text(message), hidden)
        for where, body in d.public_answers:
            public_names = [r.name.split()[-1] for r in EVERYONE]
            scan.look("responses", where, body, [*hidden, *contacts, *public_names])
        print(f"privacy scan: {scan.counts}, {len(scan.found)} findings")
        assert scan.counts["mails"] > 0
        assert scan.counts["records"] > 0
        assert not scan.found, "\n".join(scan.found[:30])
    finally:
        d.http.close()
        notifier.stop()
        gateway.stop()
        controller.stop()
