"""Mass complaints become one incident, on the real broker: the engine worker and the incident
detector worker (``python -m consumers.incidents``) as processes, topics only."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.e2e import builders as b
from tests.e2e.conftest import MONDAY_0900_WIT
from tests.e2e.harness import EngineHarness, Worker, free_port
from tests.e2e.test_reporter_e2e import Reporters
from tests.reporter_providers import MailServer, ProviderServer
from workflow.commands import UnlinkFromIncident, UnlinkIncidentPayload
from workflow.enums import ActorRole, Channel
from workflow.intake import ComplaintSubmitted
from workflow.values import Actor

pytestmark = [pytest.mark.kafka]

OFFICER = Actor(id="officer-01", role=ActorRole.OFFICER)


def start_detector(engine: EngineHarness, metrics_port: int = 0) -> Worker:
    log_path = engine.workdir / "incidents.log"
    env = {**engine.env(free_port()), "ADUAN_INCIDENTS_METRICS_PORT": str(metrics_port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "consumers.incidents"],
        env=env,
        cwd=engine.workdir,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    worker = Worker("incidents", process, 0, log_path)
    engine.workers.append(worker)
    return worker


def with_subject(message: ComplaintSubmitted, subject: str) -> ComplaintSubmitted:
    return message.model_copy(
        update={"payload": message.payload.model_copy(update={"subject": subject})}
    )


def detector_alive(detector: Worker) -> bool:
    if not detector.alive():
        raise AssertionError(f"the incident detector exited:\n{detector.log_tail()}")
    return True


def linked(events: list[dict[str, Any]]) -> dict[str, int]:
    """Case -> the highest reporter count of its IncidentLinked events."""
    out: dict[str, int] = {}
    for e in events:
        if e["type"] == "IncidentLinked":
            out[e["case_id"]] = max(out.get(e["case_id"], 0), e["payload"]["reporters"])
    return out


def test_three_reporters_of_one_outage_become_one_incident_and_one_is_unlinked(
    engine: EngineHarness,
) -> None:
    engine.start_worker()
    detector = start_detector(engine)
    t = MONDAY_0900_WIT
    texts = [
        (
            Channel.SMS,
            "Listrik padam",
            "listrik PLN padam di Haria sejak kemarin sore, blm menyala",
        ),
        (Channel.WHATSAPP, "Listrik mati", "Listrik di negeri Haria padam total, sudah 20 jam"),
        (Channel.WEB, "PLN Haria", "PLN Haria: listrik padam terus, kulkas warga rusak"),
        (Channel.WEB, "Biaya surat sehat", "Petugas puskesmas Haria meminta biaya tambahan"),
    ]
    complaints = [
        with_subject(b.complaint(f"m-{n}", t + timedelta(minutes=n), channel=ch, text=text), subj)
        for n, (ch, subj, text) in enumerate(texts)
    ]
    for message in complaints:
        key, value = b.wire(message)
        engine.publish("complaints.intake", value, key)
    cases = [c.derived_case_id for c in complaints]
    events = engine.reader("cases.events")
    try:
        events.wait(
            lambda es: detector_alive(detector) and all(linked(es).get(c) == 3 for c in cases[:3]),
            240,
            "three linked cases",
        )
    except AssertionError as exc:
        dead = engine.reader("deadletter")
        dead.poll()
        seen = [(e["type"], e["case_id"][-4:]) for e in events.values()]
        why = [r.headers for r in dead.records]
        stats = engine.workers[0].stats()
        raise AssertionError(f"{exc}\n{seen}\n{why}\n{stats}\n{detector.log_tail(8)}") from None
    assert cases[3] not in linked(events.values())
    incidents = {
        e["payload"]["incident_id"] for e in events.values() if e["type"] == "IncidentLinked"
    }
    (incident,) = incidents  # one, named after whichever case the detector saw first
    assert incident in {f"INC-{c}" for c in cases[:3]}

    unlink = UnlinkFromIncident(
        event_id=b.new_id(),
        occurred_at=t + timedelta(hours=1),
        case_id=cases[2],
        payload=UnlinkIncidentPayload(actor=OFFICER, incident_id=incident, reason="lain kejadian"),
    )
    key, value = b.wire(unlink)
    engine.publish("cases.commands", value, key)
    events.wait(
        lambda es: any(e["type"] == "IncidentUnlinked" and e["case_id"] == cases[2] for e in es),
        120,
        "the unlink on the audit trail",
    )


OUTAGE = [
    ("081200000001", "Listrik padam", "listrik PLN padam di Haria sejak kemarin sore, blm menyala"),
    ("081200000002", "Listrik mati", "Listrik di negeri Haria padam total, sudah 20 jam"),
    ("081200000003", "PLN Haria", "PLN Haria: listrik padam terus, kulkas warga rusak"),
]


LATE_PHONE = "081200000004"


def referred(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["case_id"]: e for e in events if e["type"] == "CaseReferred"}


def texts_to(providers: ProviderServer, phone: str) -> list[str]:
    wanted = "+62" + phone[1:]
    return [m["Body"] for m in providers.recorded.sms if m["To"] == wanted]


async def _told(providers: ProviderServer, phones: list[str], *marks: str) -> None:
    """Until every phone got a text with each of ``marks``."""
    for _ in range(900):
        if all(any(m in t for t in texts_to(providers, p)) for p in phones for m in marks):
            return
        await asyncio.sleep(0.2)
    got = {p: texts_to(providers, p) for p in phones}
    raise AssertionError(f"not every reporter was told {marks}: {got}")


async def _follow_flow(
    engine: EngineHarness,
    detector: Worker,
    reporters: Reporters,
    providers: ProviderServer,
    metrics_port: int,
) -> None:
    await reporters.start()
    t = MONDAY_0900_WIT
    complaints = [
        with_subject(
            b.complaint(
                f"f-{n}", t + timedelta(minutes=n), channel=Channel.SMS, text=text, phone=p
            ),
            subject,
        )
        for n, (p, subject, text) in enumerate(OUTAGE)
    ]
    for message in complaints:
        key, value = b.wire(message)
        engine.publish("complaints.intake", value, key)
    cases = [c.derived_case_id for c in complaints]
    events = engine.reader("cases.events")
    await asyncio.to_thread(
        events.wait,
        lambda es: detector_alive(detector) and all(linked(es).get(c) == 3 for c in cases),
        240,
        "three linked cases",
    )
    (incident,) = {
        e["payload"]["incident_id"] for e in events.values() if e["type"] == "IncidentLinked"
    }
    lead = incident.removeprefix("INC-")
    # One verification and one referral, on the incident's first case only.
    for command in (
        b.formal(lead, t + timedelta(hours=1)),
        b.material(lead, t + timedelta(hours=2)),
    ):
        key, value = b.wire(command)
        engine.publish("cases.commands", value, key)
    await asyncio.to_thread(
        events.wait,
        lambda es: detector_alive(detector) and set(referred(es)) >= set(cases),
        240,
        "every linked case referred",
    )
    done = referred(events.values())
    assert {done[c]["payload"]["agency"] for c in cases} == {"DINKES"}
    for case in set(cases) - {lead}:
        assert done[case]["causation_id"] == f"incident-follow:{incident}:{case}:material"
    # A reporter who complains after the referral joins and catches up.
    late = b.complaint(
        "f-late",
        t + timedelta(hours=3),
        channel=Channel.SMS,
        text="Listrik PLN di Haria masih padam, belum menyala",
        phone=LATE_PHONE,
    )
    key, value = b.wire(late)
    engine.publish("complaints.intake", value, key)
    cases.append(late.derived_case_id)
    await asyncio.to_thread(
        events.wait,
        lambda es: detector_alive(detector) and late.derived_case_id in referred(es),
        240,
        "the late case referred",
    )
    done = referred(events.values())
    assert done[late.derived_case_id]["payload"]["agency"] == "DINKES"
    rejected = [e for e in events.values() if e["type"] == "CommandRejected"]
    assert rejected == []
    phones = [*(p for p, _, _ in OUTAGE), LATE_PHONE]
    await _told(providers, phones, "laporan tentang kejadian ini", "diteruskan ke")
    for phone, case in zip(phones, cases, strict=True):
        joined = [t for t in texts_to(providers, phone) if "kejadian ini" in t]
        assert len(joined) == 1  # once, though the count rose for the first ones
        assert case in joined[0]
        assert not any(other in joined[0] for other in cases if other != case)
    await reporters.stop()
    sent = await asyncio.to_thread(_scrape, metrics_port)
    assert sent['aduan_incident_commands_total{kind="formal"}'] == 3
    assert sent['aduan_incident_commands_total{kind="material"}'] == 3


def _scrape(port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("aduan_")
    }


def test_linked_reporters_follow_one_verification_and_referral_a_late_one_catches_up(
    engine: EngineHarness,
) -> None:
    engine.start_worker()
    metrics_port = free_port()
    detector = start_detector(engine, metrics_port)
    with ProviderServer() as providers, MailServer() as mail:
        reporters = Reporters(engine, providers, mail)
        asyncio.run(_follow_flow(engine, detector, reporters, providers, metrics_port))
