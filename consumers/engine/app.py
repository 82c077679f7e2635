"""The engine worker: one faust app wiring the pure core to Kafka. Nothing is built at import time.

Per message the case agent does: decode -> validate -> (dead-letter | re-key | call the core) ->
write the case table. That is all it writes for a case: the table's changelog carries the snapshot
and the events it produced, and :mod:`consumers.engine.relay` publishes them transactionally to
``cases.events`` and ``cases.state``. Offsets are committed by faust only after the producer has
flushed (acks=all), so processing is at-least-once, and the case's memory of applied message ids
makes a redelivered message a no-op.

Topics read: ``complaints.intake`` and ``cases.commands`` (keyed by case id, co-partitioned with the
case table). Written: the table changelog, ``cases.commands`` (re-keyed intake, SLA timer messages)
and ``deadletter`` (bad input, and commands for cases that do not exist).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from faust.stores.memory import Store as MemoryStore
from faust.web import Request, Response, View
from prometheus_client import CollectorRegistry

from consumers.engine.clock import (
    Clock,
    SimulatedClock,
    SystemClock,
    follow_clock_topic,
    replay_clock_topic,
)
from consumers.engine.records import CODEC_NAME, CaseRecord, register_codec
from consumers.engine.relay import EventRelay
from consumers.engine.timer import DeadlineIndex
from consumers.metrics import EngineMetrics, new_registry
from consumers.settings import EngineSettings
from consumers.topics import partition_for
from workflow.case import Case
from workflow.core import Workflow
from workflow.messages import (
    ComplaintSubmitted,
    InvalidMessage,
    MessageErrorReason,
    encode,
    parse_command,
    parse_intake,
)
from workflow.policy import Policy, load_policy

log = logging.getLogger(__name__)

#: Changelog records younger than this are never compacted away, so the relay (which reads the
#: changelog as a stream) sees every intermediate case change even when it lags behind.
CHANGELOG_MIN_COMPACTION_LAG_MS = 24 * 60 * 60 * 1000

#: At most this many due cases are handed to the case agent per SLA timer tick.
TIMERS_PER_TICK = 5_000


@dataclass
class EngineStats:
    processed: int = 0
    deadlettered: int = 0
    rekeyed: int = 0
    duplicates: int = 0
    timers_fired: int = 0
    deadletter_reasons: dict[str, int] = field(default_factory=dict)


class Engine:
    """One worker process: the faust app, case table, SLA deadline index, event relay and clock."""

    def __init__(
        self,
        settings: EngineSettings,
        *,
        policy: Policy | None = None,
        clock: Clock | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.policy = policy if policy is not None else load_policy(settings.policy_file)
        self.workflow = Workflow(self.policy)
        if clock is not None:
            self.clock: Clock = clock
        elif settings.clock == "simulated":
            self.clock = SimulatedClock(settings.initial_simulated_now(datetime.now(UTC)))
        else:
            self.clock = SystemClock()
        self.index = DeadlineIndex()
        # Metrics observe the engine (consumers.metrics); /metrics serves this registry.
        self.registry = registry if registry is not None else new_registry()
        self.metrics = EngineMetrics(
            self.registry,
            self.policy,
            calendar=self.workflow.calendar,
            owned_partitions=lambda: self._owned_partitions(),
        )
        self.relay = EventRelay(settings, on_published=self.metrics.published)
        self.stats = EngineStats()
        self.ready = False  # True once the case table has been recovered at least once
        # Where the simulated clock follows its control topic from (set by run_worker's replay).
        self._clock_offset = 0
        self._stop = asyncio.Event()

        self.intake_name = settings.topic("complaints.intake")
        self.commands_name = settings.topic("cases.commands")
        register_codec()
        self.app = self._build_app()

    # -- wiring --------------------------------------------------------------------------

    def _build_app(self) -> faust.App:
        s = self.settings
        app = faust.App(
            s.full_app_id,
            broker=s.broker_url,
            store=s.store,
            datadir=str(s.data_dir / s.full_app_id),
            topic_partitions=s.topic_partitions,
            topic_replication_factor=1,
            topic_allow_declare=True,
            table_standby_replicas=0,
            producer_acks=-1,
            processing_guarantee="at_least_once",
            consumer_auto_offset_reset="earliest",
            broker_commit_every=1000,
            broker_commit_interval=0.5,
            # A killed worker's partitions move to the others after this long.
            broker_session_timeout=10.0,
            broker_heartbeat_interval=2.0,
            web_enabled=True,
            web_bind=s.web_host,
            web_host=s.web_host,
            web_port=s.web_port,
            autodiscover=False,
        )

        def raw_topic(*names: str, partitions: int | None = None) -> faust.TopicT:
            """Bytes in, bytes out: the agent decodes itself, so bad input can be dead-lettered
            with its original bytes."""
            return app.topic(
                *names,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=partitions,
            )

        self.source = raw_topic(self.intake_name, self.commands_name)
        self.commands_topic = raw_topic(self.commands_name)
        self.deadletter_topic = raw_topic(s.topic("deadletter"))
        # The changelog is built here rather than by faust, which would derive a JSON codec from
        # the value type; ours carries the framed snapshot + outbox (consumers.engine.records).
        changelog = app.topic(
            f"{s.full_app_id}-cases-changelog",
            key_type=bytes,
            key_serializer="raw",
            value_serializer=CODEC_NAME,
            partitions=s.topic_partitions,
            compacting=True,
            deleting=False,
            acks=False,
            internal=True,
            config={"min.compaction.lag.ms": str(CHANGELOG_MIN_COMPACTION_LAG_MS)},
            maxsize=131_072,
            allow_empty=True,
        )
        self.cases = app.Table(
            "cases", key_type=bytes, partitions=s.topic_partitions, changelog_topic=changelog
        )
        self.cases.value_serializer = CODEC_NAME  # type: ignore[attr-defined]  # not in TableT
        self.cases.on_recover(self._on_recovered)
        # With the memory store the case agent keeps only the case in memory, not its outbox.
        self._memory_store: Any = (
            self.cases.data if isinstance(self.cases.data, MemoryStore) else None
        )

        async def case_agent(stream: Any) -> None:
            async for event in stream.events():
                await self.on_message(event)

        app.agent(self.source, name="cases", concurrency=1)(case_agent)

        async def sla_tick() -> None:
            await self.tick()

        app.timer(interval=s.tick_interval, name="sla-timer")(sla_tick)

        async def run_relay() -> None:
            await self.relay.run(self._stop)

        app.task(run_relay)

        if isinstance(self.clock, SimulatedClock):
            simulated = self.clock
            clock_topic = raw_topic(s.clock_topic, partitions=1)

            async def follow_clock() -> None:
                await clock_topic.maybe_declare()
                await follow_clock_topic(
                    simulated, s.kafka_bootstrap, s.clock_topic, self._stop, self._clock_offset
                )

            app.task(follow_clock)

        engine = self

        class ClockView(View):
            async def get(self, request: Request) -> Response:
                return self.json(
                    {
                        "now": engine.clock.now().isoformat(),
                        "mode": engine.settings.clock,
                        "scheduled": len(engine.index),
                    }
                )

        class StatsView(View):
            async def get(self, request: Request) -> Response:
                return self.json(
                    {
                        **engine.stats.__dict__,
                        "ready": engine.ready,
                        "owned_partitions": sorted(engine._owned_partitions()),
                        "relayed_events": engine.relay.published_events,
                        "relayed_snapshots": engine.relay.published_snapshots,
                        "relay_failures": engine.relay.failures,
                        "consumer": engine._consumer_state(),
                    }
                )

        app.page("/clock/")(ClockView)
        app.page("/stats/")(StatsView)

        class TasksView(View):
            """Where every asyncio task of the worker is waiting (for diagnosing a stall)."""

            async def get(self, request: Request) -> Response:
                import io

                out = io.StringIO()
                for task in asyncio.all_tasks():
                    out.write(f"--- {task.get_name()}\n")
                    awaited: Any = task.get_coro()
                    while awaited is not None:  # follow the chain of awaits to the innermost
                        frame = getattr(awaited, "cr_frame", None) or getattr(
                            awaited, "gi_frame", None
                        )
                        if frame is not None:
                            code = frame.f_code
                            out.write(f"  {code.co_filename}:{frame.f_lineno} {code.co_name}\n")
                        awaited = getattr(awaited, "cr_await", None) or getattr(
                            awaited, "gi_yieldfrom", None
                        )
                return self.text(out.getvalue())

        app.page("/debug/tasks/")(TasksView)
        # faust's own sensor (consumer offsets and lag, commit latency, ...) on the same
        # registry; it also serves the registry at /metrics.
        setup_prometheus_sensors(app, "/metrics", registry=self.registry, name_prefix="aduan_faust")
        return app

    # -- the case agent ------------------------------------------------------------------

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
        if not events or new_case is None:
            self.stats.duplicates += 1
            return
        self.cases[case_key] = CaseRecord(new_case, tuple(encode(e) for e in events))
        if self._memory_store is not None:
            # The outbox has gone to the changelog; the in-memory copy needs only the case.
            self._memory_store[case_key] = CaseRecord(new_case)
        self.index.schedule(case_id, new_case.wake_at)
        self.stats.processed += 1
        self.metrics.applied(message.partition, case, new_case, events, inbound.occurred_at, now)

    def _parse(self, topic: str, raw: bytes) -> Any:
        limit = self.settings.max_message_bytes
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
        headers = [
            ("aduan.error.reason", str(reason).encode()),
            ("aduan.error.detail", detail.encode()[:4096]),
            ("aduan.source.topic", message.topic.encode()),
            ("aduan.source.partition", str(message.partition).encode()),
            ("aduan.source.offset", str(message.offset).encode()),
            ("aduan.deadlettered_at", datetime.now(UTC).isoformat().encode()),
        ]
        original = message.value if isinstance(message.value, bytes) else b""
        await self.deadletter_topic.send(key=message.key, value=original, headers=headers)
        self.stats.deadlettered += 1
        self.metrics.deadlettered(str(reason))
        counts = self.stats.deadletter_reasons
        counts[str(reason)] = counts.get(str(reason), 0) + 1
        log.warning(
            "dead-lettered %s[%s]@%s: %s", message.topic, message.partition, message.offset, reason
        )

    # -- the SLA timer -------------------------------------------------------------------

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

    def _consumer_state(self) -> dict[str, Any]:
        """faust's view of its source partitions (diagnosing a worker that stops consuming)."""
        consumer = self.app.consumer
        return {
            "flow_active": bool(getattr(consumer, "flow_active", True)),
            "paused": sorted(
                f"{tp.topic}:{tp.partition}" for tp in getattr(consumer, "_paused_partitions", ())
            ),
            "buffered": sorted(
                f"{tp.topic}:{tp.partition}" for tp in getattr(consumer, "_buffered_partitions", ())
            ),
            "active": sorted(
                f"{tp.topic}:{tp.partition}"
                for tp in (getattr(consumer, "_active_partitions", None) or ())
            ),
            "in_recovery": bool(self.app.in_recovery),
        }

    def _owned_partitions(self) -> set[int]:
        return {
            tp.partition
            for tp in self.app.assignor.assigned_actives()
            if tp.topic in (self.intake_name, self.commands_name)
        }

    async def _on_recovered(self) -> None:
        """After every recovery (start, restart, rebalance): rebuild the SLA deadline index for
        the partitions this worker owns and recount the gauges, in one pass over the table that
        yields to the event loop now and then (a million cases take seconds)."""
        owned = self._owned_partitions()
        n = self.settings.topic_partitions
        # The memory store remembers each key's partition; other stores need the hash.
        known = getattr(self.cases.data, "_key_partition", None) or {}
        pairs: list[tuple[int, Case]] = []
        scheduled: list[tuple[str, datetime | None]] = []
        for count, (key, record) in enumerate(list(self.cases.items()), 1):
            partition = known.get(key)
            if partition is None:
                partition = partition_for(key, n)
            case = record.case
            pairs.append((partition, case))
            if partition in owned and not case.is_final and case.wake_at is not None:
                scheduled.append((key.decode(), case.wake_at))
            if count % 10_000 == 0:
                await asyncio.sleep(0)
        self.metrics.recount(pairs)
        self.index.rebuild(scheduled)
        self.ready = True
        log.info("SLA deadline index rebuilt: %d cases scheduled", len(self.index))

    # -- running ---------------------------------------------------------------------------

    def run_worker(self) -> None:
        """Run until SIGINT/SIGTERM (blocking)."""
        (self.settings.data_dir / self.settings.full_app_id).mkdir(parents=True, exist_ok=True)
        if isinstance(self.clock, SimulatedClock):
            # Before anything is consumed: a restarted worker must not act on its start instant
            # while the deployment's simulated time is elsewhere.
            s = self.settings
            self._clock_offset = replay_clock_topic(self.clock, s.kafka_bootstrap, s.clock_topic)
        worker = faust.Worker(self.app, loglevel=self.settings.log_level)
        try:
            worker.execute_from_commandline()
        finally:
            self._stop.set()


def create_engine(**overrides: Any) -> Engine:
    """The app factory: settings from defaults < config file < environment < ``overrides``."""
    return Engine(EngineSettings(**overrides))
