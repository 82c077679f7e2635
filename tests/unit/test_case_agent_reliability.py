"""The case agent and issue 12: a full case refuses loudly; commands that overtake their intake
wait for it (in the case table) and are dead-lettered only when it never comes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from test_case_agent import COMMANDS, INTAKE, T0, Rig

from consumers.engine.agent import HELD_PER_CASE
from consumers.engine.records import (
    CaseRecord,
    CaseRecordCodec,
    HeldCommand,
    HeldCommands,
    encode_record,
    is_held,
)
from tests.e2e import builders as b
from workflow.case import APPLIED_CAP, KEY_SIZE
from workflow.codec import encode, parse_event
from workflow.core import Workflow
from workflow.policy import load_policy


@pytest.fixture
def rig() -> Rig:
    return Rig()


async def test_a_command_to_a_full_case_is_deadlettered_with_its_bytes(rig: Rig) -> None:
    complaint = b.complaint("m-1", T0)
    key = complaint.derived_case_id.encode()
    await rig.deliver(INTAKE, key, encode(complaint))
    record = rig.cases[key]
    full = record.case.model_copy(update={"applied_keys": b"\x01" * KEY_SIZE * APPLIED_CAP})
    rig.cases[key] = replace(record, case=full)
    command = b.formal(complaint.derived_case_id, T0)
    await rig.deliver(COMMANDS, key, encode(command))
    [dead] = rig.deadletter.sent
    assert dead["value"] == encode(command)
    assert dead["headers"]["aduan.error.reason"] == b"command_limit"
    assert str(APPLIED_CAP).encode() in dead["headers"]["aduan.error.detail"]
    assert rig.cases[key].case == full
    reason = {"reason": "command_limit"}
    assert rig.registry.get_sample_value("aduan_messages_deadlettered_total", reason) == 1


# -- commands that overtake their intake (defect 2) ----------------------------------------------


def types_in(outbox: tuple[bytes, ...]) -> list[str]:
    return [parse_event(raw).type for raw in outbox]


async def expire_holds(rig: Rig, after: timedelta) -> None:
    """Move the engine clock on and let the SLA timer wake the holder (through commands)."""
    rig.clock.set(rig.clock.now() + after)
    rig.commands.sent.clear()
    await rig.agent.tick()
    for sent in list(rig.commands.sent):
        await rig.deliver(COMMANDS, sent["key"], sent["value"])


async def test_commands_before_their_intake_are_applied_right_after_it_in_order(rig: Rig) -> None:
    complaint = b.complaint("m-1", T0)
    case_id = complaint.derived_case_id
    key = case_id.encode()
    formal, material = b.formal(case_id, T0), b.material(case_id, T0)
    await rig.deliver(COMMANDS, key, encode(formal))
    await rig.deliver(COMMANDS, key, encode(material))
    assert rig.deadletter.sent == []
    assert rig.agent.stats.held == 2
    await rig.deliver(INTAKE, key, encode(complaint))
    record = rig.cases[key]
    assert isinstance(record, CaseRecord)
    assert types_in(record.outbox) == [
        "CaseOpened",
        "FormalVerificationCompleted",
        "CaseVerified",
        "CaseReferred",
    ]
    assert record.case.state.value == "referred"
    assert rig.memory[key] == CaseRecord(record.case)
    assert rig.deadletter.sent == []
    # the released commands are remembered: redelivered, they do nothing
    await rig.deliver(COMMANDS, key, encode(formal))
    assert rig.cases[key] is record
    # and the hold's wake-up, if it still comes, finds nothing to expire
    await expire_holds(rig, timedelta(minutes=16))
    assert rig.deadletter.sent == []


async def test_a_held_command_whose_intake_never_comes_is_deadlettered_after_the_wait(
    rig: Rig,
) -> None:
    command = b.formal("ADU-NOPE-NOPE-NOPE", T0)
    await rig.deliver(COMMANDS, b"ADU-NOPE-NOPE-NOPE", encode(command))
    source_offset = rig.offset
    await expire_holds(rig, timedelta(minutes=14))
    assert rig.deadletter.sent == []  # 14 minutes: still waiting
    await expire_holds(rig, timedelta(minutes=2))
    [dead] = rig.deadletter.sent
    assert dead["key"] == b"ADU-NOPE-NOPE-NOPE"
    assert dead["value"] == encode(command)
    headers = dead["headers"]
    assert headers["aduan.error.reason"] == b"unknown_case"
    assert b"15" in headers["aduan.error.detail"]  # says how long it waited
    assert headers["aduan.source.topic"] == COMMANDS.encode()
    assert headers["aduan.source.offset"] == str(source_offset).encode()
    assert b"ADU-NOPE-NOPE-NOPE" not in rig.cases
    # an intake that comes later still opens the case, without the expired command
    complaint = b.complaint("m-late", T0)
    key = complaint.derived_case_id.encode()
    await rig.deliver(INTAKE, key, encode(complaint))
    assert types_in(rig.cases[key].outbox) == ["CaseOpened"]


async def test_the_wait_is_a_setting(rig: Rig) -> None:
    rig.agent.unknown_case_wait = timedelta(minutes=1)
    await rig.deliver(COMMANDS, b"ADU-X", encode(b.formal("ADU-X", T0)))
    await expire_holds(rig, timedelta(minutes=2))
    assert [d["headers"]["aduan.error.reason"] for d in rig.deadletter.sent] == [b"unknown_case"]


async def test_holding_is_bounded_per_case_and_a_duplicate_is_held_once(rig: Rig) -> None:
    case_id = "ADU-WAIT-WAIT-WAIT"
    first = encode(b.formal(case_id, T0))
    await rig.deliver(COMMANDS, case_id.encode(), first)
    await rig.deliver(COMMANDS, case_id.encode(), first)  # redelivered
    assert rig.agent.stats.held == 1
    extra = [encode(b.formal(case_id, T0)) for _ in range(HELD_PER_CASE)]
    for raw in extra:
        await rig.deliver(COMMANDS, case_id.encode(), raw)
    [dead] = rig.deadletter.sent  # the one past the bound, at once
    assert dead["value"] == extra[-1]
    assert dead["headers"]["aduan.error.reason"] == b"unknown_case"
    assert str(HELD_PER_CASE).encode() in dead["headers"]["aduan.error.detail"]
    held = rig.cases[case_id.encode()]
    assert isinstance(held, HeldCommands)
    assert [c.raw for c in held.commands] == [first, *extra[:-1]]


def test_held_commands_travel_on_the_changelog_and_recover() -> None:
    held = HeldCommands(
        expires_at=T0 + timedelta(minutes=15),
        commands=(
            HeldCommand(raw=b'{"a": 1}', topic=COMMANDS, partition=3, offset=41, key=b"ADU-1"),
            HeldCommand(raw=b"\x00\xff", topic=COMMANDS, partition=3, offset=42, key=None),
        ),
    )
    codec = CaseRecordCodec()
    data = codec.dumps(held)
    assert codec.loads(data) == held
    assert is_held(data)
    assert not is_held(encode_record(CaseRecord(_a_case())))


def _a_case() -> Any:
    case, _ = Workflow(load_policy()).handle(None, b.complaint("m-9", T0), T0)
    return case
