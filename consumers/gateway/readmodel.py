"""The read model: case snapshots from ``cases.state`` and histories from ``cases.events``.

Held in memory. On start the reader assigns every partition of both topics, seeks to the
beginning and reads with ``isolation_level=read_committed`` (the engine writes them in
transactions); the model is *ready* once it has read up to the end offsets it saw at start. A
restarted gateway therefore rebuilds the same view by re-reading the compacted ``cases.state``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from consumers.gateway.settings import GatewaySettings
from consumers.readmodel.columns import due_at, service_code
from consumers.readmodel.queries import ListingQuery, QueueEntry, QueueQuery
from consumers.topic_reading import refresh_metadata
from workflow.case import Case
from workflow.codec import InvalidMessage, parse_event
from workflow.disclosure import public_disclosure
from workflow.events import Event
from workflow.policy import Policy
from workflow.responsibility import responsible_agency

log = logging.getLogger(__name__)


@dataclass
class ReadModel:
    """Latest snapshot per case plus a bounded event history per case; queries scan.

    Implements `consumers.readmodel.queries.CaseQueries`; ``policy`` is needed for queues
    (their deadlines come from the agencies' calendars).
    """

    history_limit: int = 500
    policy: Policy | None = None
    cases: dict[str, Case] = field(default_factory=dict)
    histories: dict[str, deque[Event]] = field(default_factory=dict)
    ready: bool = False
    skipped: int = 0

    def apply_state(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:  # a tombstone removes the case
            if key is not None:
                self.cases.pop(key.decode(errors="replace"), None)
            return
        try:
            case = Case.model_validate_json(value)
        except ValidationError:
            self.skipped += 1
            return
        known = self.cases.get(case.case_id)
        if known is None or known.version <= case.version:
            self.cases[case.case_id] = case

    def apply_event(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            event = parse_event(value)
        except InvalidMessage:
            self.skipped += 1
            return
        history = self.histories.get(event.case_id)
        if history is None:
            history = self.histories[event.case_id] = deque(maxlen=self.history_limit)
        if any(e.event_id == event.event_id for e in history):
            return
        history.append(event)

    def case(self, case_id: str) -> Case | None:
        return self.cases.get(case_id)

    def history(self, case_id: str) -> list[Event]:
        return list(self.histories.get(case_id, ()))

    def queue(self, query: QueueQuery) -> list[QueueEntry]:
        entries = [QueueEntry(c, self._due_at(c)) for c in self.cases.values() if _in(query, c)]
        entries.sort(key=_queue_order)
        return entries[query.offset : query.offset + query.limit]

    def count(self, query: QueueQuery) -> int:
        return sum(1 for c in self.cases.values() if _in(query, c))

    def listing(self, query: ListingQuery) -> list[Case]:
        listed = [c for c in self.cases.values() if _listed(query, c)]
        listed.sort(key=lambda c: (c.opened_at, c.case_id), reverse=True)
        return listed[query.offset : query.offset + query.limit]

    def _due_at(self, case: Case) -> datetime | None:
        return due_at(self.policy, case)


def _queue_order(entry: QueueEntry) -> tuple[bool, datetime, datetime, str]:
    case = entry.case
    return (entry.due_at is None, entry.due_at or case.opened_at, case.opened_at, case.case_id)


def _in(query: QueueQuery, case: Case) -> bool:
    checks = (
        query.include_final or not case.is_final,
        not query.states or case.state in query.states,
        query.agency is None or responsible_agency(case) == query.agency,
        query.min_escalation_level is None or case.escalation_level >= query.min_escalation_level,
        query.channel is None or case.channel.value == query.channel,
        query.category is None
        or (case.category is not None and case.category.value == query.category),
    )
    return all(checks)


def _listed(query: ListingQuery, case: Case) -> bool:
    status = "closed" if case.is_final else "open"
    checks = (
        public_disclosure(case).listed,
        not query.service_codes or service_code(case) in query.service_codes,
        not query.statuses or status in query.statuses,
        query.opened_from is None or case.opened_at >= query.opened_from,
        query.opened_to is None or case.opened_at <= query.opened_to,
    )
    return all(checks)


class KafkaReadModelFeeder:
    """Feeds a `ReadModel` from the two topics until stopped."""

    def __init__(self, settings: GatewaySettings, model: ReadModel) -> None:
        self.settings = settings
        self.model = model
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="read-model")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _partitions(self, consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
        while not self._stop.is_set():
            parts = consumer.partitions_for_topic(topic)
            if parts:
                return [TopicPartition(topic, p) for p in sorted(parts)]
            await refresh_metadata(consumer)
            parts = consumer.partitions_for_topic(topic)
            if parts:
                return [TopicPartition(topic, p) for p in sorted(parts)]
            log.info("read model: waiting for topic %s", topic)
            await asyncio.sleep(1.0)
        return []

    async def _run(self) -> None:
        state_topic = self.settings.topic("cases.state")
        events_topic = self.settings.topic("cases.events")
        consumer = AIOKafkaConsumer(
            **self.settings.aiokafka_client(),
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
        )
        while not self._stop.is_set():
            try:
                await consumer.start()
                break
            except Exception as exc:  # the broker may not be up yet
                log.warning("read model: cannot reach Kafka (%s); retrying", exc)
                await asyncio.sleep(2.0)
        try:
            tps = [
                *await self._partitions(consumer, state_topic),
                *await self._partitions(consumer, events_topic),
            ]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            pending = {tp for tp, end in ends.items() if end > 0}
            if not pending:
                self.model.ready = True
            while not self._stop.is_set():
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                for tp, records in batches.items():
                    for record in records:
                        if tp.topic == state_topic:
                            self.model.apply_state(record.key, record.value)
                        else:
                            self.model.apply_event(record.value)
                if pending:
                    for tp in list(pending):
                        if await consumer.position(tp) >= ends[tp]:
                            pending.discard(tp)
                    if not pending:
                        self.model.ready = True
                        log.info("read model: caught up, %d cases", len(self.model.cases))
        finally:
            await consumer.stop()
