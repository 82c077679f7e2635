"""The case agent's decisions per message, with the real core, index and metrics (no broker).

The faust table is a dict here and each topic an in-memory list of what was sent; the wiring of
the real ones is covered end to end by tests/e2e/test_engine_flows.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from consumers.engine.agent import CaseAgent
from consumers.engine.clock import SimulatedClock
from consumers.engine.records import CaseRecord
from consumers.engine.timer import DeadlineIndex
from consumers.metrics import EngineMetrics
from tests.e2e import builders as b
from workflow.codec import encode, parse_command
from workflow.core import Workflow
from workflow.policy import load_policy

T0 = datetime.fromisoformat("2026-12-07T09:00:00+09:00")  # a Monday in Masohi (WIT)
INTAKE, COMMANDS = "t.complaints.intake", "t.cases.commands"


@dataclass
class SentRecords:
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, *, key: bytes | None, value: bytes, headers: Any = None) -> None:
        self.sent.append({"key": key, "value": value, "headers": dict(headers or [])})


class Rig:
    def __init__(self) -> None:
        policy = load_policy()
        workflow = Workflow(policy)
        self.registry = CollectorRegistry()
        self.clock = SimulatedClock(T0)
        self.cases: dict[bytes, CaseRecord] = {}
        self.memory: dict[bytes, CaseRecord] = {}
        self.commands, self.deadletter = SentRecords(), SentRecords()
        self.agent = CaseAgent(
            workflow=workflow,
            clock=self.clock,
            cases=self.cases,
            index=DeadlineIndex(),
            metrics=EngineMetrics(
                self.registry, policy, calendar=workflow.calendar, owned_partitions=lambda: {0}
            ),
            intake_name=INTAKE,
            max_message_bytes=256 * 1024,
            commands_topic=self.commands,
            deadletter_topic=self.deadletter,
            memory_store=self.memory,
        )
        self.offset = 0

    async def deliver(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        self.offset += 1
        message = SimpleNamespace(
            topic=topic, partition=0, offset=self.offset, key=key, value=value
        )
        await self.agent.on_message(SimpleNamespace(message=message, key=key, value=value))


@pytest.fixture
def rig() -> Rig:
    return Rig()


async def test_bad_bytes_go_to_deadletter_untouched_with_the_reason(rig: Rig) -> None:
    await rig.deliver(INTAKE, b"k", b"{not json")
    [record] = rig.deadletter.sent
    assert record["key"] == b"k"
    assert record["value"] == b"{not json"
    headers = record["headers"]
    assert headers["aduan.error.reason"] == b"not_json"
    assert (headers["aduan.source.topic"], headers["aduan.source.offset"]) == (
        INTAKE.encode(),
        b"1",
    )
    assert rig.agent.stats.deadletter_reasons == {"not_json": 1}
    assert (
        rig.registry.get_sample_value("aduan_messages_deadlettered_total", {"reason": "not_json"})
        == 1
    )
    assert rig.cases == {}
    assert rig.commands.sent == []


async def test_a_complaint_keyed_otherwise_is_rekeyed_to_its_case(rig: Rig) -> None:
    complaint = b.complaint("m-1", T0)
    await rig.deliver(INTAKE, None, encode(complaint))
    assert rig.commands.sent == [
        {"key": complaint.derived_case_id.encode(), "value": encode(complaint), "headers": {}}
    ]
    assert rig.agent.stats.rekeyed == 1
    assert rig.cases == {}


async def test_a_complaint_opens_a_case_and_its_timer_fires_through_commands(rig: Rig) -> None:
    complaint = b.complaint("m-1", T0)
    key = complaint.derived_case_id.encode()
    await rig.deliver(INTAKE, key, encode(complaint))
    record = rig.cases[key]
    assert record.outbox
    assert rig.memory[key] == CaseRecord(record.case)
    assert len(rig.agent.index) == 1
    assert rig.agent.stats.processed == 1

    await rig.deliver(INTAKE, key, encode(complaint))  # redelivered: a no-op
    assert rig.agent.stats.duplicates == 1

    assert record.case.wake_at is not None
    rig.clock.set(record.case.wake_at + timedelta(seconds=1))
    await rig.agent.tick()
    [timer] = rig.commands.sent
    assert timer["key"] == key
    assert parse_command(timer["value"]).type == "TimerFired"
    assert rig.agent.stats.timers_fired == 1


# Commands for cases that do not exist (yet): tests/unit/test_case_agent_reliability.py.
