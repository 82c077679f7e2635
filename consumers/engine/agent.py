"""The case agent's logic: what the engine does with one message, and with one SLA timer tick.

Per message: decode -> validate -> (dead-letter | re-key | call the core) -> write the case table.
That is all it writes for a case: the table's changelog carries the snapshot and the events it
produced, and :mod:`consumers.engine.relay` publishes them.

A command for a case that does not exist yet is held in the table under the case's key (intake
and commands are separate topics, so a command can overtake its intake): the intake then opens
the case and the held commands apply right after it, in arrival order. With no intake within
``unknown_case_wait`` of engine time (the SLA timer wakes the hold) they are dead-lettered as
``unknown_case`` with their original bytes. Bounds: `HELD_PER_CASE` commands per unknown case
(more are dead-lettered at once); the number of unknown cases held at a time is what arrives in
one wait (each costs its commands' bytes plus ~200 bytes). Faust wiring (topics, table, tasks)
lives in :mod:`consumers.engine.app`; this module only sees the parts it is handed.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from consumers.deadletter import deadletter_headers
from consumers.engine.clock import Clock
from consumers.engine.records import CaseRecord, HeldCommand, HeldCommands, TableValue
from consumers.engine.timer import DeadlineIndex
from consumers.metrics import EngineMetrics
from workflow.case import Case
from workflow.codec import InvalidMessage, MessageErrorReason, encode, parse_command, parse_intake
from workflow.commands import TimerFired, TimerPayload, timer_event_id
from workflow.core import Workflow
from workflow.intake import ComplaintSubmitted

log = logging.getLogger(__name__)

#: At most this many due cases are handed to the case agent per SLA timer tick.
TIMERS_PER_TICK = 5_000
#: At most this many commands wait for one case's intake; more are dead-lettered at once.
HELD_PER_CASE = 16


class RawTopic(Protocol):
    """A faust topic of bytes (only what the agent sends with)."""

    async def send(self, *, key: bytes | None, value: bytes, headers: Any = None) -> Any: ...


@dataclass
class EngineStats:
    processed: int = 0
    deadlettered: int = 0
    rekeyed: int = 0
    duplicates: int = 0
    already_applied: int = 0
    """Non-timer messages the case had applied already (redelivered, or sent twice)."""
    timers_fired: int = 0
    held: int = 0
    """Commands kept for a case whose intake had not arrived."""
    released: int = 0
    """Held commands applied right after their intake."""
    hold_expired: int = 0
    """Held commands dead-lettered because no intake came within the wait."""
    deadletter_reasons: dict[str, int] = field(default_factory=dict)


@dataclass(eq=False)
class CaseAgent:
    """Applies messages to the case table through the pure core. One per worker."""

    workflow: Workflow
    clock: Clock
    cases: MutableMapping[bytes, TableValue]
    index: DeadlineIndex
    metrics: EngineMetrics
    intake_name: str
    max_message_bytes: int
    commands_topic: RawTopic
    deadletter_topic: RawTopic
    # With the memory store the table keeps only the case in memory, not its outbox.
    memory_store: MutableMapping[bytes, TableValue] | None = None
    #: How long (engine time) a command for an unknown case waits for the case's intake.
    unknown_case_wait: timedelta = timedelta(minutes=15)
    stats: EngineStats = field(default_factory=EngineStats)
    #: Per input (topic, partition): the first and the last offset this worker processed, so a
    #: test can see that a successor processed offsets a killed worker had processed already.
    first_offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    last_offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    async def on_message(self, event: Any) -> None:
        message = event.message
        where = (message.topic, message.partition)
        if where not in self.first_offsets:
            self.first_offsets[where] = message.offset
        self.last_offsets[where] = message.offset
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
        case_key = case_id.encode()
        now = self.clock.now()
        stored = self.cases.get(case_key)
        if isinstance(stored, CaseRecord):
            await self._apply_to_case(event, case_key, stored.case, inbound, now)
        elif isinstance(inbound, ComplaintSubmitted):
            await self._open(event, case_key, inbound, stored, now)
        elif inbound.type == "TimerFired":
            await self._expire_hold(case_id, stored, now)
        else:
            await self._hold(event, case_id, stored, now)

    async def _apply_to_case(
        self, event: Any, case_key: bytes, case: Case, inbound: Any, now: datetime
    ) -> None:
        applied = await self._through_core(event, case, inbound, now)
        if applied is None:
            return
        new_case, events = applied
        if not events:
            self.stats.duplicates += 1
            if inbound.type != "TimerFired":
                self.stats.already_applied += 1
            return
        self._store(case_key, new_case, events)
        self.stats.processed += 1
        self.metrics.applied(
            event.message.partition, case, new_case, events, inbound.occurred_at, now
        )

    async def _through_core(
        self, source: Any, case: Case | None, inbound: Any, now: datetime
    ) -> tuple[Case, list[Any]] | None:
        """The core's verdict, or None when the message went to deadletter instead."""
        try:
            new_case, events = self.workflow.handle(case, inbound, now)
        except Exception as exc:  # a bug in the core must not ack-and-lose the message
            log.exception("the core failed on %s", _where(source))
            await self._deadletter(source, "internal_error", type(exc).__name__)
            return None
        if new_case is case and events and events[0].type == "CommandRejected":
            # Refused without becoming part of the case (a case that remembers as many
            # commands as it can): loud, with the original bytes, never silently forgotten.
            payload: Any = events[0].payload
            await self._deadletter(source, payload.reason_code, payload.detail)
            return None
        if new_case is None:
            return None
        return new_case, events

    def _store(self, case_key: bytes, case: Case, events: list[Any]) -> None:
        self.cases[case_key] = CaseRecord(case, tuple(encode(e) for e in events))
        if self.memory_store is not None:
            # The outbox has gone to the changelog; the in-memory copy needs only the case.
            self.memory_store[case_key] = CaseRecord(case)
        self.index.schedule(case.case_id, case.wake_at)

    # -- commands that overtake their intake -------------------------------------------------

    async def _open(
        self,
        event: Any,
        case_key: bytes,
        intake: ComplaintSubmitted,
        held: HeldCommands | None,
        now: datetime,
    ) -> None:
        """Open the case, then apply the commands that waited for it, in arrival order: one
        table write (one snapshot, one outbox) for all of them."""
        opened = await self._through_core(event, None, intake, now)
        if opened is None:
            return
        case, outbox = opened
        partition = event.message.partition
        self.metrics.applied(partition, None, case, outbox, intake.occurred_at, now)
        for command in held.commands if held is not None else ():
            try:
                inbound = parse_command(command.raw, self.max_message_bytes)
            except InvalidMessage as exc:  # it parsed when held; a changed limit, perhaps
                await self._deadletter(command, exc.reason, str(exc))
                continue
            applied = await self._through_core(command, case, inbound, now)
            if applied is None:
                continue
            new_case, events = applied
            self.metrics.applied(partition, case, new_case, events, inbound.occurred_at, now)
            case, outbox = new_case, [*outbox, *events]
            self.stats.released += 1
        self._store(case_key, case, outbox)
        self.stats.processed += 1

    async def _hold(
        self, event: Any, case_id: str, held: HeldCommands | None, now: datetime
    ) -> None:
        """Keep a command for a case that does not exist (yet) in the case table, so a crash or
        a rebalance keeps it too; the SLA timer wakes the hold when its wait is over."""
        message = event.message
        waiting = held.commands if held is not None else ()
        if any(command.raw == message.value for command in waiting):
            self.stats.duplicates += 1  # redelivered while it waits
            return
        if len(waiting) >= HELD_PER_CASE:
            detail = f"no case {case_id}; {HELD_PER_CASE} commands already wait for its intake"
            await self._deadletter(event, "unknown_case", detail)
            return
        expires_at = held.expires_at if held is not None else now + self.unknown_case_wait
        command = HeldCommand(
            message.value, message.topic, message.partition, message.offset, message.key
        )
        self.cases[case_id.encode()] = HeldCommands(expires_at, (*waiting, command))
        if held is None:
            self.index.schedule(case_id, expires_at)
        self.stats.held += 1

    async def _expire_hold(self, case_id: str, held: HeldCommands | None, now: datetime) -> None:
        """The wake-up of a hold: past its wait, every held command goes to deadletter."""
        if held is None or now < held.expires_at:
            self.stats.duplicates += 1  # a late timer of a case that does not exist
            return
        minutes = self.unknown_case_wait.total_seconds() / 60
        detail = f"case_id: no case {case_id!r} exists (no intake within {minutes:g} minutes)"
        for command in held.commands:
            await self._deadletter(command, "unknown_case", detail)
        del self.cases[case_id.encode()]
        self.stats.hold_expired += len(held.commands)

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

    async def _deadletter(self, source: Any, reason: str, detail: str) -> None:
        """Send the original bytes, untouched, to ``deadletter``; the why travels in headers.
        ``source``: the faust event being processed, or a `HeldCommand` (held earlier)."""
        if isinstance(source, HeldCommand):
            record: Any = source
            key = source.key
            original = source.raw
        else:
            record = source.message
            key = record.key
            original = record.value if isinstance(record.value, bytes) else b""
        headers = deadletter_headers(reason, detail, record)
        await self.deadletter_topic.send(key=key, value=original, headers=headers)
        self.stats.deadlettered += 1
        self.metrics.deadlettered(str(reason))
        counts = self.stats.deadletter_reasons
        counts[str(reason)] = counts.get(str(reason), 0) + 1
        log.warning("dead-lettered %s: %s", _where(source), reason)

    async def tick(self) -> None:
        """Hand every due case to the case agent as a ``TimerFired`` command (same code path)."""
        now = self.clock.now()
        # Bounded per tick, so a jump of the clock (or a backlog after downtime) is spread over
        # ticks instead of stalling the loop; the rest stays due for the next tick.
        for case_id, _ in self.index.pop_due(now, limit=TIMERS_PER_TICK):
            stored = self.cases.get(case_id.encode())
            if isinstance(stored, HeldCommands):
                timer = hold_timer(case_id, stored.expires_at, now)
            elif stored is None or stored.case.wake_at is None:
                continue
            else:
                timer = self.workflow.timer_message(stored.case, now)
            await self.commands_topic.send(key=case_id.encode(), value=encode(timer))
            self.stats.timers_fired += 1


def hold_timer(case_id: str, expires_at: datetime, now: datetime) -> TimerFired:
    """The timer message that wakes a hold (table writes happen in the agent's stream only)."""
    return TimerFired(
        event_id=timer_event_id(case_id, expires_at),
        occurred_at=now,
        case_id=case_id,
        payload=TimerPayload(due_at=expires_at),
    )


def _where(source: Any) -> str:
    record = source if isinstance(source, HeldCommand) else source.message
    return f"{record.topic}[{record.partition}]@{record.offset}"
