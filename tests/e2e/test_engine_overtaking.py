"""Commands that overtake their intake (issue 12, defect 2), on the real broker and a real worker.

``complaints.intake`` and ``cases.commands`` are two topics; faust interleaves them, so a command
can reach the worker before the intake of its case. The worker holds it for the case and applies
it right after the intake; only when no intake comes within the wait (engine time) is it
dead-lettered as ``unknown_case``.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from kafka import KafkaAdminClient

from tests.e2e import builders as b
from tests.e2e.conftest import MONDAY_0900_WIT
from tests.e2e.harness import EngineHarness, EventLog, Worker, wait_for
from workflow.case import Case
from workflow.core import Workflow
from workflow.policy import load_policy

T = MONDAY_0900_WIT


def flow(n: int) -> list[Any]:
    complaint = b.complaint(f"overtake-{n:05d}", T)
    case_id = complaint.derived_case_id
    return [complaint, b.formal(case_id, T), b.material(case_id, T), b.accept(case_id, T)]


def interleaved(flows: list[list[Any]], rng: random.Random) -> list[Any]:
    """All messages in one random order that keeps each case's commands in their order; the
    intake goes anywhere among them (often after its commands)."""
    positions = [rng.random() for _ in range(sum(len(f) for f in flows))]
    slots = iter(sorted(range(len(positions)), key=positions.__getitem__))
    placed: list[tuple[int, Any]] = []
    for messages in flows:
        intake, *commands = messages
        order = sorted(next(slots) for _ in commands)  # commands keep their order
        placed += list(zip(order, commands, strict=True))
        placed.append((next(slots), intake))
    return [message for _, message in sorted(placed, key=lambda p: p[0])]


def publish_one_by_one(engine: EngineHarness, messages: list[Any]) -> None:
    """Publish in the given order, one producer, no rounds (sent as fast as the producer goes)."""
    futures = []
    for message in messages:
        key, value = b.wire(message)
        topic = "complaints.intake" if message.type == "ComplaintSubmitted" else "cases.commands"
        futures.append(engine.producer.send(engine.topic(topic), key=key, value=value))
    engine.producer.flush(timeout=60)
    for future in futures:
        future.get(timeout=10)


def replayed(flows: list[list[Any]]) -> tuple[dict[str, Case], int]:
    """The pure core applied to each case's messages in per-case order (intake first)."""
    workflow = Workflow(load_policy())
    cases: dict[str, Case] = {}
    events = 0
    for messages in flows:
        case: Case | None = None
        for message in messages:
            case, produced = workflow.handle(case, message, T)
            events += len(produced)
        assert case is not None
        cases[case.case_id] = case
    return cases, events


def committed(engine: EngineHarness, topic: str) -> int:
    """How many records of ``topic`` the engine's consumer group has committed, all partitions."""
    admin = KafkaAdminClient(bootstrap_servers=engine.bootstrap)
    try:
        group = engine.topic("aduan")
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return sum(o.offset for tp, o in offsets.items() if tp.topic == engine.topic(topic))


def held(worker: Worker) -> int:
    return int((worker.stats() or {}).get("held", 0))


def latest_snapshots(states: EventLog) -> dict[str, Case]:
    return {r.key.decode(): Case.model_validate_json(r.value) for r in states.records}


def poll_for(log: EventLog, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        log.poll()


def test_commands_published_before_their_intakes_in_random_order_are_all_applied(
    engine: EngineHarness,
) -> None:
    worker = engine.start_worker()
    rng = random.Random(1207)
    flows = [flow(n) for n in range(300)]
    messages = interleaved(flows, rng)
    first_seen: dict[str, int] = {}
    for position, message in enumerate(messages):
        case_id = getattr(message, "case_id", None) or message.derived_case_id
        first_seen.setdefault(case_id, position)
    where = {id(message): position for position, message in enumerate(messages)}
    overtaking = sum(1 for f in flows if where[id(f[0])] > first_seen[f[0].derived_case_id])
    assert overtaking > 100, "the random order must put many commands before their intake"
    orphan = b.formal("ADU-NOPE-NOPE-NOPE", T)  # its intake never comes
    publish_one_by_one(engine, [*messages[:150], orphan, *messages[150:]])

    expected, expected_events = replayed(flows)
    events = engine.reader("cases.events")
    events.wait(lambda vs: len(vs) >= expected_events, 120, f"{expected_events} events")
    poll_for(events, 2)  # anything beyond would be a duplicate
    ids = Counter(v["event_id"] for v in events.values())
    assert len(events.records) == expected_events
    assert [i for i, n in ids.items() if n > 1] == []
    states = engine.reader("cases.state")
    wait_for(
        lambda: (states.poll() or True) and latest_snapshots(states) == expected,
        60,
        "every case's snapshot to equal the core's replay",
    )
    stats = worker.stats() or {}
    counts = {k: stats[k] for k in ("processed", "held", "released", "deadlettered")}
    print(f"overtaking: {overtaking} cases published commands first; worker {counts}")
    assert stats["held"] > 0, "no command overtook its intake: the test proved nothing"
    assert stats["released"] == stats["held"] - 1  # all but the orphan
    dead = engine.reader("deadletter")
    poll_for(dead, 1)
    assert dead.records == []  # the orphan is still waiting

    # 14 minutes of engine time: still waiting; 16: dead-lettered, original bytes.
    engine.set_clock(T + timedelta(minutes=14))
    poll_for(dead, 1)
    assert dead.records == []
    engine.set_clock(T + timedelta(minutes=16))
    wait_for(lambda: dead.poll() or dead.records, 30, "the orphan on deadletter")
    [record] = dead.records
    key, value = b.wire(orphan)
    assert (record.key, record.value) == (key, value)
    headers = {k: v.decode() for k, v in record.headers}
    assert headers["aduan.error.reason"] == "unknown_case"
    assert headers["aduan.source.topic"] == engine.topic("cases.commands")
    assert worker.alive()


def test_held_commands_survive_a_sigkill_of_the_worker(engine: EngineHarness) -> None:
    first = engine.start_worker("w1")
    complaint, *commands = flow(9000)
    for command in commands:
        engine.publish("cases.commands", b.wire(command)[1], b.wire(command)[0])
    wait_for(lambda: held(first) == len(commands), 60, "the commands to be held")
    # Once their offsets are committed they are not redelivered: the hold must come back from
    # the case table's changelog.
    wait_for(lambda: committed(engine, "cases.commands") >= len(commands), 60, "the offset commit")
    first.kill()
    second = engine.start_worker("w2")
    engine.publish("complaints.intake", b.wire(complaint)[1], b.wire(complaint)[0])
    expected, expected_events = replayed([[complaint, *commands]])
    events = engine.reader("cases.events")
    events.wait(lambda vs: len(vs) >= expected_events, 60, "the case and its held commands")
    poll_for(events, 1)
    assert len(events.records) == expected_events
    stats = second.stats() or {}
    assert stats["released"] == len(commands)
    assert stats["held"] == 0, "the commands were redelivered, not recovered from the table"
    states = engine.reader("cases.state")
    wait_for(
        lambda: (states.poll() or True) and latest_snapshots(states) == expected,
        30,
        "the snapshot to equal the core's replay",
    )
