"""The engine worker's wiring: one faust app around the case agent. Nothing is built at import time.

What the agent does per message is :mod:`consumers.engine.agent`; this module declares the topics,
the case table and its changelog, the tasks (case agent, SLA timer, event relay, clock follower) and
the worker's HTTP pages, and runs the worker. The case table's changelog carries each snapshot and
the events it produced, and :mod:`consumers.engine.relay` publishes them transactionally to
``cases.events`` and ``cases.state``. Offsets are committed by faust only after the producer has
flushed (acks=all), so processing is at-least-once, and the case's memory of applied message ids
makes a redelivered message a no-op.

Topics read: ``complaints.intake`` and ``cases.commands`` (keyed by case id, co-partitioned with the
case table). Written: the table changelog, ``cases.commands`` (re-keyed intake, SLA timer messages)
and ``deadletter`` (bad input, and commands for cases that do not exist: held in the table first,
dead-lettered only when no intake comes within ``unknown_case_wait_seconds`` of engine time).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
from faust.sensors.prometheus import setup_prometheus_sensors
from faust.stores.memory import Store as MemoryStore
from prometheus_client import CollectorRegistry

from consumers.connectivity import BrokerLink
from consumers.engine.agent import CaseAgent
from consumers.engine.clock import (
    Clock,
    SimulatedClock,
    SystemClock,
    follow_clock_topic,
    replay_clock_topic_when_reachable,
)
from consumers.engine.faust_internals import (
    commit_only_finished,
    drain_fully_before_commit,
    idempotent_changelog_producer,
    memory_store_partitions,
    seek_with_flow_stopped,
    skip_commit_when_drain_times_out,
)
from consumers.engine.records import CODEC_NAME, HeldCommands, register_codec
from consumers.engine.relay import EventRelay
from consumers.engine.timer import DeadlineIndex
from consumers.engine.views import register_pages
from consumers.metrics import EngineMetrics, new_registry
from consumers.settings import EngineSettings
from consumers.stopping import StopWatchdog
from consumers.topics import CHANGELOG_MIN_COMPACTION_LAG_MS, CONTACTS, partition_for
from workflow.case import Case
from workflow.core import Workflow
from workflow.policy import Policy, load_policy

log = logging.getLogger(__name__)


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
            owned_partitions=lambda: self.owned_partitions(),
        )
        self.relay = EventRelay(settings, on_published=self.metrics.published)
        self.broker = BrokerLink(
            "worker",
            settings.kafka_bootstrap,
            registry=self.registry,
            summary_interval=settings.broker_summary_interval,
        )
        self.ready = False  # True once the case table has been recovered at least once
        # Where the simulated clock follows its control topic from (set by run_worker's replay).
        self._clock_offset = 0
        self._stop = asyncio.Event()

        self.intake_name = settings.topic("complaints.intake")
        self.commands_name = settings.topic("cases.commands")
        register_codec()
        self.app = self._new_app()
        self.agent = self._declare_agent()
        self._declare_tasks()
        register_pages(self.app, self)
        # faust's own sensor (consumer offsets and lag, commit latency, ...) on the same
        # registry; it also serves the registry at /metrics.
        setup_prometheus_sensors(
            self.app, "/metrics", registry=self.registry, name_prefix="aduan_faust"
        )

    # -- wiring --------------------------------------------------------------------------

    def _new_app(self) -> faust.App:
        s = self.settings
        app = faust.App(
            s.full_app_id,
            **s.faust_app(),
            store=s.store,
            datadir=str(s.data_dir / s.full_app_id),
            topic_partitions=s.topic_partitions,
            topic_replication_factor=s.topic_replication,
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
        # No offset commit while case-table writes of the records it covers are still buffered;
        # a commit whose writes cannot be handed over in time is skipped (retried), not hung.
        drain_fully_before_commit(app.producer.buffer)
        skip_commit_when_drain_times_out(app.consumer)
        idempotent_changelog_producer(app.producer)  # a retried write lands once
        # No offset commit past a fetched record the case agent has not finished (issue 17).
        self.finished = commit_only_finished(app.consumer, (self.intake_name, self.commands_name))
        seek_with_flow_stopped(app.consumer)  # and no record dropped at a rebalance's seek
        return app

    def _raw_topic(self, *names: str, partitions: int | None = None) -> faust.TopicT:
        """Bytes in, bytes out: the agent decodes itself, so bad input can be dead-lettered with
        its original bytes."""
        return self.app.topic(
            *names,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions,
        )

    def _declare_table(self) -> Any:
        s = self.settings
        # The changelog is built here rather than by faust, which would derive a JSON codec from
        # the value type; ours carries the framed snapshot + outbox (consumers.engine.records).
        changelog = self.app.topic(
            s.case_changelog_topic,
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
        cases = self.app.Table(
            "cases", key_type=bytes, partitions=s.topic_partitions, changelog_topic=changelog
        )
        cases.value_serializer = CODEC_NAME  # type: ignore[attr-defined]  # not in TableT
        cases.on_recover(self._on_recovered)
        return cases

    def _declare_agent(self) -> CaseAgent:
        """The case table and the agent that consumes intake and commands into it."""
        self.source = self._raw_topic(self.intake_name, self.commands_name)
        self.cases = self._declare_table()
        agent = CaseAgent(
            workflow=self.workflow,
            clock=self.clock,
            cases=self.cases,
            index=self.index,
            metrics=self.metrics,
            intake_name=self.intake_name,
            max_message_bytes=self.settings.max_message_bytes,
            commands_topic=self._raw_topic(self.commands_name),
            deadletter_topic=self._raw_topic(self.settings.topic("deadletter")),
            contacts_topic=self._raw_topic(self.settings.topic(CONTACTS)),
            memory_store=self.cases.data if isinstance(self.cases.data, MemoryStore) else None,
            unknown_case_wait=timedelta(seconds=self.settings.unknown_case_wait_seconds),
        )

        async def case_agent(stream: Any) -> None:
            async for event in stream.events():
                await agent.on_message(event)
                # Only now may a commit pass it (a record faust skipped or dropped never gets here).
                self.finished.finished(event.message.tp, event.message.offset)

        self.app.agent(self.source, name="cases", concurrency=1)(case_agent)
        return agent

    def _declare_tasks(self) -> None:
        """The SLA timer, the event relay and (simulated clock only) the clock follower."""
        s = self.settings

        async def sla_tick() -> None:
            await self.agent.tick()

        self.app.timer(interval=s.tick_interval, name="sla-timer")(sla_tick)

        async def run_relay() -> None:
            await self.relay.run(self._stop)

        self.app.task(run_relay)

        if isinstance(self.clock, SimulatedClock):
            simulated = self.clock
            clock_topic = self._raw_topic(s.clock_topic, partitions=1)

            async def follow_clock() -> None:
                await clock_topic.maybe_declare()
                await follow_clock_topic(
                    simulated, s.aiokafka_client(), s.clock_topic, self._stop, self._clock_offset
                )

            self.app.task(follow_clock)

    def owned_partitions(self) -> set[int]:
        return {
            tp.partition
            for tp in self.app.assignor.assigned_actives()
            if tp.topic in (self.intake_name, self.commands_name)
        }

    async def _on_recovered(self) -> None:
        """After every recovery (start, restart, rebalance): rebuild the SLA deadline index for
        the partitions this worker owns and recount the gauges, in one pass over the table that
        yields to the event loop now and then (a million cases take seconds)."""
        owned = self.owned_partitions()
        n = self.settings.topic_partitions
        # The memory store remembers each key's partition; other stores need the hash.
        known = memory_store_partitions(self.cases.data)
        pairs: list[tuple[int, Case]] = []
        scheduled: list[tuple[str, datetime | None]] = []
        for count, (key, record) in enumerate(list(self.cases.items()), 1):
            partition = known.get(key)
            if partition is None:
                partition = partition_for(key, n)
            if isinstance(record, HeldCommands):  # commands waiting for their intake
                if partition in owned:
                    scheduled.append((key.decode(), record.expires_at))
                continue
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
            self._clock_offset = replay_clock_topic_when_reachable(
                self.clock, s.kafka_python_client(), s.clock_topic
            )
        worker = _Worker(self.app, loglevel=self.settings.log_level)
        worker.watchdog = StopWatchdog("worker", self.settings.stop_grace)
        self.broker.start()
        try:
            worker.execute_from_commandline()
        finally:
            self._stop.set()
            self.broker.stop()


class _Worker(faust.Worker):
    """faust's worker, whose stop on SIGINT/SIGTERM ends within the grace in every state
    (its clean stop waits on the broker; see consumers.stopping)."""

    watchdog: StopWatchdog | None = None

    def _schedule_shutdown(self, signal: Any) -> None:
        if self.watchdog is not None:
            self.watchdog.requested()
        super()._schedule_shutdown(signal)


def create_engine(**overrides: Any) -> Engine:
    """The app factory: settings from defaults < config file < environment < ``overrides``."""
    return Engine(EngineSettings(**overrides))
