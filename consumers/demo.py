"""``aduan demo``: one complaint through every stage, on the simulated clock, in about a minute.

Needs a worker running with ``ADUAN_CLOCK=simulated`` on the same broker and topic prefix
(``make demo`` starts one). The demo talks to the engine through the topics only, like a channel
and the actors would, and prints each domain event as ``cases.events`` shows it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from consumers.engine.clock import ClockControl
from consumers.settings import EngineSettings
from workflow.codec import encode
from workflow.commands import (
    AcceptReferral,
    CompleteFormalVerification,
    CompleteMaterialVerification,
    DisputePayload,
    DisputeResolution,
    FollowUpPlanPayload,
    MaterialVerificationPayload,
    NotePayload,
    PostFollowUpPlan,
    ProvideInformation,
    ProvideInformationPayload,
    RequestInformation,
    RequestInformationPayload,
    ResolveComplaint,
    ResolvePayload,
)
from workflow.enums import ActorRole, Channel
from workflow.intake import ComplaintPayload, ComplaintSubmitted
from workflow.reporter import Reporter
from workflow.values import Actor

VERIFIER = Actor(id="verifikator-01", role=ActorRole.VERIFIER)
REPORTER = Actor(id="pelapor", role=ActorRole.REPORTER)
AGENCY = Actor(id="pupr-admin", role=ActorRole.AGENCY, agency="PUPR")


class Demo:
    def __init__(self, settings: EngineSettings, start: datetime, out: Callable[[str], None]):
        self.settings = settings
        self.now = start
        self.out = out
        self.producer = KafkaProducer(**settings.kafka_python_client(), acks="all")
        self.consumer = KafkaConsumer(
            **settings.kafka_python_client(),
            isolation_level="read_committed",
            enable_auto_commit=False,
            group_id=None,
        )
        topic = settings.topic("cases.events")
        partitions = self.consumer.partitions_for_topic(topic) or set()
        if not partitions:
            raise RuntimeError(f"topic {topic} does not exist: run 'aduan topics' first")
        assignment = [TopicPartition(topic, p) for p in sorted(partitions)]
        self.consumer.assign(assignment)
        self.consumer.seek_to_end()
        for tp in assignment:
            self.consumer.position(tp)  # resolve the end offsets now, before we publish
        self.case_id = ""

    def close(self) -> None:
        self.producer.close()
        self.consumer.close()

    def set_clock(self, instant: datetime) -> None:
        self.now = instant
        body = ClockControl(now=instant).model_dump_json().encode()
        self.producer.send(self.settings.clock_topic, value=body, partition=0).get(timeout=10)
        self.out(f"\n-- simulated time: {instant:%a %d %b %Y %H:%M} WIT")

    def send(self, message: Any) -> None:
        topic = "complaints.intake" if message.type == "ComplaintSubmitted" else "cases.commands"
        self.producer.send(
            self.settings.topic(topic), key=self.case_id.encode(), value=encode(message)
        ).get(timeout=10)
        self.out(f"   > {message.type}")

    def command(self, cls: Any, payload: Any) -> None:
        self.send(
            cls(
                event_id=str(uuid.uuid4()),
                occurred_at=self.now,
                case_id=self.case_id,
                payload=payload,
            )
        )

    def expect(self, event_type: str, timeout: float = 20.0) -> dict[str, Any]:
        """Print events of this case until ``event_type`` shows up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in self.consumer.poll(timeout_ms=200).values():
                for record in records:
                    event = json.loads(record.value)
                    if event["case_id"] != self.case_id:
                        continue
                    self.out(f"   < {event['type']:<30} {_describe(event)}")
                    if event["type"] == event_type:
                        return dict(event)
        raise TimeoutError(f"no {event_type} within {timeout:.0f}s: is a simulated worker running?")

    def run(self) -> None:
        start = self.now
        self.set_clock(start)
        complaint = ComplaintSubmitted(
            event_id=str(uuid.uuid4()),
            occurred_at=start,
            payload=ComplaintPayload(
                channel=Channel.WHATSAPP,
                channel_message_id=f"demo-{uuid.uuid4().hex[:8]}",
                received_at=start,
                reporter=Reporter(phone="081234567890", confidentiality="confidential"),
                subject="Jalan berlubang di Amahai",
                text="Jalan utama Desa Amahai berlubang besar sejak dua bulan, membahayakan motor.",
                service="jalan",
            ),
        )
        self.case_id = complaint.derived_case_id
        self.out(f"tracking number {self.case_id} (confidential reporter: no identity on topics)")
        self.send(complaint)
        self.expect("CaseOpened")
        self.command(CompleteFormalVerification, NotePayload(actor=VERIFIER))
        self.expect("FormalVerificationCompleted")
        self.command(
            RequestInformation,
            RequestInformationPayload(actor=VERIFIER, question="Di RT/RW berapa lokasinya?"),
        )
        self.expect("InformationRequested")
        self.set_clock(start + timedelta(days=5))  # the verification clock is paused meanwhile
        self.command(ProvideInformation, ProvideInformationPayload(actor=REPORTER, text="RT 03."))
        self.expect("InformationProvided")
        self.command(
            CompleteMaterialVerification,
            MaterialVerificationPayload(actor=VERIFIER, agency="PUPR"),
        )
        self.expect("CaseReferred")
        self.out("   (the agency stays silent: watch the SLA warnings, breach and escalation)")
        self.set_clock(self.now + timedelta(days=21))
        self.expect("CaseEscalated")
        self.command(AcceptReferral, NotePayload(actor=AGENCY))
        self.expect("ReferralAccepted")
        self.command(
            PostFollowUpPlan,
            FollowUpPlanPayload(actor=AGENCY, plan="Penambalan jalan oleh tim UPTD minggu ini."),
        )
        self.expect("FollowUpPlanPosted")
        self.command(
            ResolveComplaint,
            ResolvePayload(actor=AGENCY, resolution_text="Lubang ditambal pada hari Kamis."),
        )
        self.expect("ComplaintResolved")
        self.command(
            DisputeResolution,
            DisputePayload(actor=REPORTER, reason="Masih ada satu lubang di depan sekolah."),
        )
        self.expect("ResolutionDisputed")
        self.command(
            ResolveComplaint,
            ResolvePayload(actor=AGENCY, resolution_text="Lubang depan sekolah ikut ditambal."),
        )
        self.expect("ComplaintResolved")
        self.out("   (the reporter does not answer: after 10 working days the case closes)")
        self.set_clock(self.now + timedelta(days=35))
        self.expect("ClosedForReporterSilence")
        self.out(f"\ncase {self.case_id} closed; 'aduan case history {self.case_id}' shows it all")


def _describe(event: dict[str, Any]) -> str:
    payload = event.get("payload", {})
    parts = []
    for key in ("agency", "stage", "threshold", "level", "reason", "reason_code"):
        if payload.get(key) is not None:
            parts.append(f"{key}={payload[key]}")
    return " ".join(parts)


def run_demo(settings: EngineSettings, start: datetime, out: Callable[[str], None] = print) -> None:
    demo = Demo(settings, start, out)
    try:
        demo.run()
    finally:
        demo.close()


def next_monday_morning(after: datetime) -> datetime:
    """09:00 WIT on the first Monday after ``after`` (a plain working week for the demo)."""
    from zoneinfo import ZoneInfo

    local = after.astimezone(ZoneInfo("Asia/Jayapura"))
    days = (7 - local.weekday()) % 7 or 7
    return (local + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)


def run_with_own_worker(
    settings: EngineSettings, out: Callable[[str], None] = print, ready_timeout: float = 90.0
) -> None:
    """Provision the demo topics, start a simulated-clock worker, run the demo, stop the worker."""
    import os
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    from consumers.topics import TopicSpec, provision, topic_specs

    bootstrap = ",".join(settings.kafka_bootstrap)
    clock_spec = TopicSpec(
        settings.clock_topic, 1, settings.topic_replication, {"cleanup.policy": "delete"}
    )
    provision(
        bootstrap,
        [
            *topic_specs(
                settings.topic_prefix,
                settings.topic_partitions,
                replication_factor=settings.topic_replication,
            ),
            clock_spec,
        ],
        security=settings.kafka_security,
    )
    env = {
        **os.environ,
        "ADUAN_KAFKA_BOOTSTRAP": bootstrap,
        "ADUAN_TOPIC_PREFIX": settings.topic_prefix,
        "ADUAN_CLOCK": "simulated",
        "ADUAN_WEB_PORT": str(settings.web_port),
        "ADUAN_LOG_LEVEL": "warning",
    }
    url = f"http://{settings.web_host}:{settings.web_port}"
    out(f"starting a simulated-clock worker ({url}, topic prefix {settings.topic_prefix!r})")
    worker = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "worker"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + ready_timeout
        worker_now: datetime | None = None
        while worker_now is None:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the demo worker did not become ready")
            try:
                with urllib.request.urlopen(f"{url}/stats/", timeout=2) as answer:
                    if json.load(answer).get("ready"):
                        with urllib.request.urlopen(f"{url}/clock/", timeout=2) as clock:
                            worker_now = datetime.fromisoformat(json.load(clock)["now"])
            except (urllib.error.URLError, OSError, ValueError):
                time.sleep(0.3)
        run_demo(settings, next_monday_morning(worker_now), out)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
