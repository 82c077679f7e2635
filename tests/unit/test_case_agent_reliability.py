"""The case agent and issue 12: a full case refuses loudly; commands that overtake their intake
wait for it (in the case table) and are dead-lettered only when it never comes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_case_agent import COMMANDS, INTAKE, T0, Rig

from tests.e2e import builders as b
from workflow.case import APPLIED_CAP, KEY_SIZE
from workflow.codec import encode


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
