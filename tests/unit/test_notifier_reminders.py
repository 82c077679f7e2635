"""Reminders past the top level are paced per (case, agency): issue 14 moved escalation to the
agency that is late, so each agency's top level is reminded on its own ladder's schedule; a
reminder to the triage desk's top level must not silence the first reminder to the late agency.
Real parts: an aiosmtpd server through apprise, the real receipt store, an in-memory log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from consumers.notifier.directory import load_directory
from consumers.notifier.service import Notifier
from consumers.notifier.settings import NotifierSettings
from consumers.notifier.sink import SinkHandler, start_sink
from consumers.settings import EngineSettings
from tests.e2e.harness import free_port
from tests.unit.notifier_memory import MemoryClients, MemoryLog
from workflow.codec import encode
from workflow.events import EscalationReminderIssued, EscalationReminderPayload
from workflow.policy import load_policy
from workflow.sla import DayType, SlaClock, Stage
from workflow.values import Timers

POLICY = load_policy()
ENGINE = EngineSettings(topic_prefix="unit")
CASE = "ADU-2026-12-0077"
T0 = datetime.fromisoformat("2026-12-07T09:00:00+09:00")
LATE = datetime.fromisoformat("2026-12-28T10:00:00+09:00")

DIRECTORY = """
smtp: {{host: 127.0.0.1, port: {smtp}, sender: aduan@malukutengahkab.go.id, mode: insecure,
        timeout: 2}}
officers:
  - {{id: asisten, name: Asisten Pemerintahan, role: Asisten,
      email: asisten@malukutengahkab.go.id}}
  - {{id: sekda, name: Sekretaris Daerah, role: Sekretaris Daerah,
      email: sekda@malukutengahkab.go.id}}
agencies:
  "*": {{levels: {{3: [sekda]}}}}
  SETDA-TRIASE: {{levels: {{3: [asisten]}}}}
"""


def reminder(agency: str, n: int, at: datetime) -> bytes:
    clock = SlaClock(
        stage=Stage.FOLLOW_UP_PLAN,
        unit=DayType.WORKING,
        started_at=T0,
        budget_seconds=47.5 * 3600,
        running_since=T0,
    )
    event = EscalationReminderIssued(
        event_id=f"{CASE}-rem-{agency}-{n}",
        occurred_at=at,
        case_id=CASE,
        payload=EscalationReminderPayload(level=3, timers=Timers(clock=clock), agency=agency),
    )
    return encode(event)


@pytest.fixture
def sink() -> Iterator[tuple[int, SinkHandler]]:
    controller, handler = start_sink(port=free_port(), echo=False)
    yield controller.port, handler
    controller.stop()


async def started(log: MemoryLog, smtp_port: int, tmp_path: Path) -> Notifier:
    path = tmp_path / "officers.yaml"
    path.write_text(DIRECTORY.format(smtp=smtp_port))
    directory = load_directory(path, POLICY)
    settings = NotifierSettings(reminder_min_interval_hours=24)
    notifier = Notifier(ENGINE, settings, directory, POLICY, clients=MemoryClients.on(log))
    await notifier.side.load()
    return notifier


@pytest.fixture
def log() -> MemoryLog:
    log = MemoryLog()
    log.topics[ENGINE.topic("notifications.receipts")] = []
    snapshot = {"agency": "PUPR", "triage_agency": "SETDA-TRIASE", "escalation_level": 3}
    log.append(ENGINE.topic("cases.state"), CASE.encode(), json.dumps(snapshot).encode())
    return log


async def test_a_reminder_to_one_agency_does_not_silence_the_late_agencys_own_reminder(
    log: MemoryLog, sink: tuple[int, SinkHandler], tmp_path: Path
) -> None:
    port, mail = sink
    notifier = await started(log, port, tmp_path)
    events = ENGINE.topic("cases.events")

    async def remind(agency: str, n: int, at: datetime) -> None:
        record = log.append(events, CASE.encode(), reminder(agency, n, at))
        await notifier.handler.handle(record)

    await remind("SETDA-TRIASE", 1, LATE)
    await remind("PUPR", 1, LATE + timedelta(hours=2))  # another agency's ladder: sent
    await remind("PUPR", 2, LATE + timedelta(hours=5))  # PUPR again within 24 h: paced
    assert sorted(to[0] for _, to, _ in mail.messages) == [
        "asisten@malukutengahkab.go.id",
        "sekda@malukutengahkab.go.id",
    ]
    assert notifier.stats.reminders_suppressed == 1

    # The pacing is read back from the receipts: after a restart too, per agency.
    again = await started(log, port, tmp_path)
    record = log.append(
        events, CASE.encode(), reminder("SETDA-TRIASE", 2, LATE + timedelta(hours=6))
    )
    await again.handler.handle(record)
    assert again.stats.reminders_suppressed == 1
    record = log.append(events, CASE.encode(), reminder("PUPR", 3, LATE + timedelta(hours=27)))
    await again.handler.handle(record)
    assert len(mail.messages) == 3
