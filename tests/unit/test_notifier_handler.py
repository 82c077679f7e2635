"""`AlertHandler.handle`, one event at a time, on real parts: a real SMTP server (aiosmtpd, the
project's sink) reached through apprise, the real receipt store, and an in-memory log standing in
for the broker (tests/unit/notifier_memory.py). No broker, no mocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from consumers.notifier.clients import _Follower
from consumers.notifier.directory import load_directory
from consumers.notifier.service import Notifier
from consumers.notifier.settings import NotifierSettings
from consumers.notifier.sink import SinkHandler, start_sink
from consumers.settings import EngineSettings
from tests.e2e.harness import free_port
from tests.unit.notifier_memory import MemoryClients, MemoryLog, MemoryRecord
from workflow.codec import encode
from workflow.events import CaseEscalated, CaseEscalatedPayload
from workflow.policy import load_policy
from workflow.sla import DayType, SlaClock, Stage
from workflow.values import Timers

POLICY = load_policy()
ENGINE = EngineSettings(topic_prefix="unit")
EVENTS = ENGINE.topic("cases.events")
STATE = ENGINE.topic("cases.state")
RECEIPTS = ENGINE.topic("notifications.receipts")
DEADLETTER = ENGINE.topic("deadletter")
T0 = datetime.fromisoformat("2026-12-07T09:00:00+09:00")
LATE = datetime.fromisoformat("2026-12-21T16:00:00+09:00")
CASE = "ADU-2026-12-0042"

DIRECTORY = """
case_url: "http://127.0.0.1:8080/v1/cases/{{tracking}}"
smtp: {{host: 127.0.0.1, port: {smtp}, sender: aduan@malukutengahkab.go.id, mode: insecure,
        timeout: 2}}
officers:
  - {{id: penghubung, name: Admin Penghubung Dinkes, role: Admin Penghubung,
      email: penghubung.dinkes@malukutengahkab.go.id}}
  - {{id: kadis, name: Kepala Dinas Kesehatan, role: Kepala OPD,
      email: kadis.dinkes@malukutengahkab.go.id}}
agencies:
  "*": {{liaison: [penghubung]}}
  DINKES: {{levels: {{1: [kadis]}}}}
"""


def escalation(level: int = 1) -> bytes:
    clock = SlaClock(
        stage=Stage.FOLLOW_UP_PLAN,
        unit=DayType.WORKING,
        started_at=T0,
        budget_seconds=47.5 * 3600,
        running_since=T0,
    )
    event = CaseEscalated(
        event_id=f"{CASE}-esc-{level}",
        occurred_at=LATE,
        case_id=CASE,
        payload=CaseEscalatedPayload(
            level=level, automatic=True, stage=Stage.FOLLOW_UP_PLAN, timers=Timers(clock=clock)
        ),
    )
    return encode(event)


@pytest.fixture
def sink() -> Iterator[tuple[int, SinkHandler]]:
    controller, handler = start_sink(port=free_port(), echo=False)
    yield controller.port, handler
    controller.stop()


@pytest.fixture
def log() -> MemoryLog:
    """The broker's topics as the notifier finds them: one snapshot of the case, no receipts."""
    log = MemoryLog()
    log.topics[RECEIPTS] = []
    snapshot = {"agency": "DINKES", "triage_agency": "SETDA-TRIASE", "escalation_level": 1}
    log.append(STATE, CASE.encode(), json.dumps(snapshot).encode())
    return log


async def started(log: MemoryLog, smtp_port: int, tmp_path: Path) -> Notifier:
    """A notifier as `run` leaves it before its first batch (side topics loaded)."""
    path = tmp_path / "officers.yaml"
    path.write_text(DIRECTORY.format(smtp=smtp_port))
    settings = NotifierSettings()
    directory = load_directory(path, POLICY)
    notifier = Notifier(ENGINE, settings, directory, POLICY, clients=MemoryClients.on(log))
    await notifier.side.load()
    return notifier


def event_record(log: MemoryLog, value: bytes) -> MemoryRecord:
    return log.append(EVENTS, CASE.encode(), value)


def receipts(log: MemoryLog) -> list[dict[str, object]]:
    return [json.loads(r.value or b"") for r in log.on(RECEIPTS)]


async def test_an_escalation_is_mailed_to_the_level_officer_once_with_a_receipt(
    log: MemoryLog, sink: tuple[int, SinkHandler], tmp_path: Path
) -> None:
    port, mail = sink
    notifier = await started(log, port, tmp_path)
    await notifier.handler.handle(event_record(log, escalation()))

    [(_, to, message)] = mail.messages
    assert to == ["kadis.dinkes@malukutengahkab.go.id"]
    assert CASE in str(message["subject"])
    [receipt] = receipts(log)
    assert (receipt["key"], receipt["target"], receipt["outcome"]) == (
        f"{CASE}|escalation|L1",
        "kadis/email",
        "delivered",
    )
    assert notifier.stats.delivered == 1
    assert log.on(DEADLETTER) == []


async def test_a_redelivered_event_is_not_mailed_twice_not_even_after_a_restart(
    log: MemoryLog, sink: tuple[int, SinkHandler], tmp_path: Path
) -> None:
    port, mail = sink
    first = await started(log, port, tmp_path)
    record = event_record(log, escalation())
    await first.handler.handle(record)
    await first.handler.handle(record)  # the same event id again (a redelivery)
    assert len(mail.messages) == 1
    assert first.stats.duplicates_skipped == 1

    again = await started(log, port, tmp_path)  # a restart reads the receipts back
    await again.handler.handle(log.append(EVENTS, CASE.encode(), escalation()))
    assert len(mail.messages) == 1
    assert again.stats.duplicates_skipped == 1
    assert len(receipts(log)) == 1


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not json", "not_json"),
        (b'{"type": "CaseEscalated", "schema_version": 1, "case_id": 7}', "invalid_field"),
        (b'{"type": "NoSuchEvent", "schema_version": 1}', "unknown_type"),
    ],
)
async def test_a_malformed_event_is_deadlettered_with_its_reason_and_its_bytes(
    log: MemoryLog, sink: tuple[int, SinkHandler], tmp_path: Path, value: bytes, reason: str
) -> None:
    port, mail = sink
    notifier = await started(log, port, tmp_path)
    record = event_record(log, value)
    await notifier.handler.handle(record)

    [letter] = log.on(DEADLETTER)
    headers = dict(letter.headers)
    assert headers["aduan.error.reason"] == reason.encode()
    assert headers["aduan.error.detail"].startswith(reason.encode())
    assert headers["aduan.source.topic"] == EVENTS.encode()
    assert headers["aduan.source.offset"] == str(record.offset).encode()
    assert (letter.key, letter.value) == (CASE.encode(), value)
    assert mail.messages == []
    assert receipts(log) == []
    assert notifier.stats.invalid_events == 1


async def test_an_alert_nobody_is_listed_for_is_deadlettered_once(
    log: MemoryLog, sink: tuple[int, SinkHandler], tmp_path: Path
) -> None:
    port, mail = sink
    notifier = await started(log, port, tmp_path)
    record = event_record(log, escalation(level=2))  # DINKES and '*' list no level 2
    await notifier.handler.handle(record)
    await notifier.handler.handle(record)

    [letter] = log.on(DEADLETTER)
    assert dict(letter.headers)["aduan.error.reason"] == b"no_recipients"
    assert [r["outcome"] for r in receipts(log)] == ["no_recipients"]
    assert mail.messages == []
    assert notifier.stats.duplicates_skipped == 1


async def test_the_follower_still_has_aiokafkas_private_metadata_refresh() -> None:
    # `_Follower.refresh_metadata` calls aiokafka's private client (no public call serves):
    # this fails loudly if an aiokafka upgrade renames it.
    follower = _Follower(bootstrap_servers="127.0.0.1:1")
    assert callable(follower._client.force_metadata_update)


async def test_a_receipt_another_notifier_wrote_counts_after_the_catch_up(
    log: MemoryLog, sink: tuple[int, SinkHandler], tmp_path: Path
) -> None:
    # Two notifiers of one group: the partition moved here after the other one delivered.
    port, mail = sink
    here = await started(log, port, tmp_path)
    other = await started(log, port, tmp_path)
    await other.handler.handle(event_record(log, escalation()))
    assert len(mail.messages) == 1

    await here.side.catch_up()  # what each batch starts with
    await here.handler.handle(log.append(EVENTS, CASE.encode(), escalation()))
    assert len(mail.messages) == 1
    assert here.stats.duplicates_skipped == 1
