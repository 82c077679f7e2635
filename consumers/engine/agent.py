"""The case agent's logic: what the engine does with one message, and with one SLA timer tick.

Per message: decode -> validate -> (dead-letter | re-key | call the core) -> write the case table.
That is all it writes for a case: the table's changelog carries the snapshot and the events it
produced, and :mod:`consumers.engine.relay` publishes them. Faust wiring (topics, table, tasks)
lives in :mod:`consumers.engine.app`; this module only sees the parts it is handed.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from consumers.deadletter import deadletter_headers
from consumers.engine.clock import Clock
from consumers.engine.records import CaseRecord
from consumers.engine.timer import DeadlineIndex
from consumers.metrics import EngineMetrics
from workflow.codec import InvalidMessage, MessageErrorReason, encode, parse_command, parse_intake
from workflow.core import Workflow
from workflow.intake import ComplaintSubmitted

log = logging.getLogger(__name__)

#: At most this many due cases are handed to the case agent per SLA timer tick.
TIMERS_PER_TICK = 5_000


class RawTopic(Protocol):
    """A faust topic of bytes (only what the agent sends with)."""

    async def send(self, *, key: bytes | None, value: bytes, headers: Any = None) -> Any: ...


@dataclass
class EngineStats:
    processed: int = 0
    deadlettered: int = 0
    rekeyed: int = 0
    duplicates: int = 0
    timers_fired: int = 0
    deadletter_reasons: dict[str, int] = field(default_factory=dict)


@dataclass(eq=False)
class CaseAgent:
    """Applies messages to the case table through the pure core. One per worker."""

    workflow: Workflow
    clock: Clock
    cases: MutableMapping[bytes, CaseRecord]
    index: DeadlineIndex
    metrics: EngineMetrics
    intake_name: str
    max_message_bytes: int
    commands_topic: RawTopic
    deadletter_topic: RawTopic
    # With the memory store the table keeps only the case in memory, not its outbox.
    memory_store: MutableMapping[bytes, CaseRecord] | None = None
    stats: EngineStats = field(default_factory=EngineStats)

    async def on_message(self, event: Any) -> None:
        message = event.message
        key: bytes | None = event.key
        raw: bytes | None = event.value
        if raw is None:
            await self._deadletter(event, MessageErrorReason.NOT_JSON, "empty message (no value)")
            return
        try:
            inbound = self._parse(message.topic, raw)
        except InvalidMessage as exc:
            await self._deadletter(event, exc.reason, str(exc))
            return
        if isinstance(inbound, ComplaintSubmitted):
            case_id = inbound.derived_case_id
        elif inbound.case_id is None:
            await self._deadletter(event, MessageErrorReason.INVALID_FIELD, "case_id: missing")
            return
        else:
            case_id = inbound.case_id
        case_key = case_id.encode()
        if key != case_key:
            # Keyed by something else (or nothing): send it on to the partition that owns the
            # case. The core dedupes if it ever arrives twice.
            await self.commands_topic.send(key=case_key, value=raw)
            self.stats.rekeyed += 1
            return
        await self._apply(event, case_id, inbound)

    async def _apply(self, event: Any, case_id: str, inbound: Any) -> None:
        message = event.message
        case_key = case_id.encode()
        now = self.clock.now()
        record = self.cases.get(case_key)
        case = record.case if record is not None else None
        if case is None and not isinstance(inbound, ComplaintSubmitted):
            # No such case. cases.events is the exactly-once audit trail of cases that exist, so
            # the rejection is recorded on deadletter (reason, original bytes, source offset).
            rejection = self.workflow.decide(None, inbound, now)
            detail = getattr(rejection[0].payload, "detail", "") if rejection else ""
            await self._deadletter(event, "unknown_case", detail or f"no case {case_id}")
            return
        try:
            new_case, events = self.workflow.handle(case, inbound, now)
        except Exception as exc:  # a bug in the core must not ack-and-lose the message
            log.exception(
                "the core failed on %s[%s]@%s", message.topic, message.partition, message.offset
            )
            await self._deadletter(event, "internal_error", type(exc).__name__)
            return
        if new_case is case and events and events[0].type == "CommandRejected":
            # Refused without becoming part of the case (a case that remembers as many
            # commands as it can): loud, with the original bytes, never silently forgotten.
            payload: Any = events[0].payload
            await self._deadletter(event, payload.reason_code, payload.detail)
            return
        if not events or new_case is None:
            self.stats.duplicates += 1
            return
        self.cases[case_key] = CaseRecord(new_case, tuple(encode(e) for e in events))
        if self.memory_store is not None:
            # The outbox has gone to the changelog; the in-memory copy needs only the case.
            self.memory_store[case_key] = CaseRecord(new_case)
        self.index.schedule(case_id, new_case.wake_at)
        self.stats.processed += 1
        self.metrics.applied(message.partition, case, new_case, events, inbound.occurred_at, now)

    def _parse(self, topic: str, raw: bytes) -> Any:
        limit = self.max_message_bytes
        if topic == self.intake_name:
            return parse_intake(raw, limit)
        try:
            return parse_command(raw, limit)
        except InvalidMessage as exc:
            # A re-keyed intake message travels on cases.commands.
            if exc.reason != MessageErrorReason.UNKNOWN_TYPE:
                raise
            return parse_intake(raw, limit)

    async def _deadletter(self, event: Any, reason: str, detail: str) -> None:
        """Send the original bytes, untouched, to ``deadletter``; the why travels in headers."""
        message = event.message
        original = message.value if isinstance(message.value, bytes) else b""
        headers = deadletter_headers(reason, detail, message)
        await self.deadletter_topic.send(key=message.key, value=original, headers=headers)
        self.stats.deadlettered += 1
        self.metrics.deadlettered(str(reason))
        counts = self.stats.deadletter_reasons
        counts[str(reason)] = counts.get(str(reason), 0) + 1
        log.warning(
            "dead-lettered %s[%s]@%s: %s", message.topic, message.partition, message.offset, reason
        )

    async def tick(self) -> None:
        """Hand every due case to the case agent as a ``TimerFired`` command (same code path)."""
        now = self.clock.now()
        # Bounded per tick, so a jump of the clock (or a backlog after downtime) is spread over
        # ticks instead of stalling the loop; the rest stays due for the next tick.
        for case_id, _ in self.index.pop_due(now, limit=TIMERS_PER_TICK):
            record = self.cases.get(case_id.encode())
            if record is None or record.case.wake_at is None:
                continue
            timer = self.workflow.timer_message(record.case, now)
            await self.commands_topic.send(key=case_id.encode(), value=encode(timer))
            self.stats.timers_fired += 1
