"""Reading the run's topics back (read committed): the oracle's inputs, the engine's output."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from chaos.oracle import CaseInput, EngineOutput


def read_topic(bootstrap: str, topic: str, timeout_s: float = 120) -> Iterator[Any]:
    """Every record of ``topic`` up to its end at the start of the call, per partition in order."""
    import time

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        request_timeout_ms=30_000,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"reading {topic}: no progress for {timeout_s:g} s, {len(pending)} partitions "
                    "not at their end"
                )
            for records in consumer.poll(timeout_ms=500, max_records=5000).values():
                # ``timeout_s`` bounds a read that stopped moving, not a slow one (a loaded
                # machine took more than 120 s for 130k snapshots)
                deadline = time.monotonic() + timeout_s
                yield from records
            for tp in list(pending):
                if consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        consumer.close()


@dataclass
class RunTopics:
    inputs: dict[str, CaseInput] = field(default_factory=dict)
    output: EngineOutput = field(default_factory=EngineOutput)
    input_records: int = 0
    timer_commands: int = 0
    events_records: int = 0
    deadletter_reasons: Counter[str] = field(default_factory=Counter)
    deadletter_by_case: dict[str, Counter[str]] = field(default_factory=dict)
    breaches: list[tuple[float, float]] = field(default_factory=list)  # (deadline ts, written ts)


def collect(bootstrap: str, topic: Any) -> RunTopics:
    """``topic(logical)`` gives the broker-side name."""
    run = RunTopics()
    for record in read_topic(bootstrap, topic("complaints.intake")):
        case_id = record.key.decode(errors="replace") if record.key else ""
        run.inputs.setdefault(case_id, CaseInput()).intake.append(record.value)
        run.input_records += 1
    for record in read_topic(bootstrap, topic("cases.commands")):
        case_id = record.key.decode(errors="replace") if record.key else ""
        run.inputs.setdefault(case_id, CaseInput()).commands.append(record.value)
        run.input_records += 1
        if b'"TimerFired"' in record.value:
            run.timer_commands += 1
    for record in read_topic(bootstrap, topic("cases.events")):
        run.events_records += 1
        event = run.output.add_event(record.value)
        if event.type == "SlaBreached":
            deadline = event.payload.deadline.timestamp()
            run.breaches.append((deadline, record.timestamp / 1000))
    for record in read_topic(bootstrap, topic("cases.state")):
        if record.value is not None and record.key is not None:
            run.output.snapshots[record.key.decode()] = record.value
    for record in read_topic(bootstrap, topic("deadletter")):
        headers = dict(record.headers or [])
        reason = headers.get("aduan.error.reason", b"?").decode()
        run.deadletter_reasons[reason] += 1
        if record.key:
            case_id = record.key.decode(errors="replace")
            run.deadletter_by_case.setdefault(case_id, Counter())[reason] += 1
    return run
