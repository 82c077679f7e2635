"""One chaos run: own broker, workers, traffic, clock, faults; then the oracle's verdict."""

from __future__ import annotations

import logging
import random
import time
import uuid
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from chaos import seam
from chaos.cluster import REPO, Broker, Worker, worker_env
from chaos.cluster_faults import ALL_STEPS, ClusterFaults
from chaos.cluster_report import ClusterOutcome, step_reports
from chaos.faults import FaultLog, Faults
from chaos.gateway_probe import Gateway, Probe, judge
from chaos.kafka_cluster import KafkaCluster
from chaos.monitor import Monitor
from chaos.oracle import Oracle, Verdict
from chaos.readback import RunTopics, collect
from chaos.traffic import COMMANDS, INTAKE, Traffic, TrafficCounts

#: Monday 7 December 2026, 09:00 in Masohi (WIT): the simulated start of every run.
SIMULATED_START = datetime.fromisoformat("2026-12-07T09:00:00+09:00")


@dataclass
class RunConfig:
    seed: int
    messages: int = 100_000
    cases: int | None = None  # default: messages / 5
    workers: int = 3
    worker_kills: int = 24
    broker_restarts: int = 3
    rate: float = 400.0  # messages per second while publishing
    simulated_days: float = 45.0  # how far the simulated clock moves during publishing
    clock_steps: int = 150
    partitions: int = 6
    port: int = 19692
    controller_port: int = 19693
    var: Path = REPO / "var" / "chaos"
    quiet_seconds: float = 10.0
    # cluster_nodes > 0: a KRaft cluster of that many nodes on cluster_port.. (replication 3,
    # min.insync 2) instead of the one broker, the scripted failures of cluster_faults, and a
    # gateway probed all through the run
    cluster_nodes: int = 0
    cluster_port: int = 19800
    cluster_steps: tuple[str, ...] = ALL_STEPS
    cluster_down_seconds: float = 8.0
    gateway_publish_timeout: float = 15.0
    drain_timeout: float | None = None  # default: 180 s + 1 s per 200 messages

    @property
    def case_count(self) -> int:
        return self.cases if self.cases is not None else max(self.messages // 5, 1)


@dataclass
class RunResult:
    config: RunConfig
    prefix: str
    traffic: TrafficCounts
    faults: FaultLog
    topics: RunTopics
    verdict: Verdict
    duplicates_skipped: int
    worker_crashes: int
    longest_stall: float
    stall_in_outage: bool
    longest_stall_outside_outages: float
    lateness: list[float]
    drained: bool
    seconds: float
    clock_end: datetime
    crash_lines: list[str] = field(default_factory=list)
    cluster: ClusterOutcome | None = None

    @property
    def ok(self) -> bool:
        v = self.verdict
        cluster_ok = self.cluster is None or self.cluster.ok
        quiet = not v.mismatched and not v.duplicate_events and not v.missing_events
        return quiet and not v.timers_not_acted_on and cluster_ok


class SimulatedTime:
    """The run's simulated clock: every move goes to ``control.clock`` and into a timeline."""

    def __init__(self, producer: KafkaProducer, topic: str, start: datetime) -> None:
        self.producer = producer
        self.topic = topic
        self.now = start
        self.timeline: list[tuple[float, float]] = []  # (simulated ts, wall ts), both increasing
        self.set(start)

    def set(self, instant: datetime) -> None:
        body = seam.ClockControl(now=instant).model_dump_json().encode()
        self.producer.send(self.topic, value=body, partition=0).get(timeout=120)
        self.now = instant
        self.timeline.append((instant.timestamp(), time.time()))

    def wall_time_reaching(self, simulated_ts: float) -> float | None:
        """When the clock was first set at or past ``simulated_ts`` (None: never)."""
        index = bisect_left([s for s, _ in self.timeline], simulated_ts)
        return self.timeline[index][1] if index < len(self.timeline) else None


def run(config: RunConfig, say: Any = print) -> RunResult:
    """The whole run; whatever happens, the workers and the broker it started are stopped."""
    chaos = _Run(config, say)
    # This process's own clients reconnect loudly while the broker is down on purpose.
    kafka_log = logging.getLogger("kafka")
    level = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL)
    try:
        return chaos.execute()
    finally:
        chaos.cleanup()
        kafka_log.setLevel(level)


class _Run:
    def __init__(self, config: RunConfig, say: Any) -> None:
        self.config = config
        self.say = say
        self.started = time.monotonic()
        self.rng = random.Random(config.seed)
        self.prefix = f"chaos-{config.seed}-{uuid.uuid4().hex[:6]}"
        self.broker: Broker | KafkaCluster = (
            KafkaCluster(config.cluster_port, config.var, config.cluster_nodes)
            if config.cluster_nodes
            else Broker(config.port, config.controller_port, config.var)
        )
        self.workers: list[Worker] = []
        self.producer: KafkaProducer | None = None
        self.gateway: Gateway | None = None
        self.probe: Probe | None = None

    def topic(self, name: str) -> str:
        return seam.topic_name(name, self.prefix)

    def execute(self) -> RunResult:
        config, say = self.config, self.say
        say(f"chaos: seed {config.seed}, prefix {self.prefix}, broker {self.broker.bootstrap}")
        clock = self._start_cluster()
        bootstrap = self.broker.bootstrap
        monitor = Monitor(
            bootstrap,
            seam.topic_name("aduan", self.prefix),
            [self.topic(INTAKE), self.topic(COMMANDS)],
            [self.topic("cases.events"), self.topic("cases.state")],
            self.workers,
        )
        monitor.start()
        duration = config.messages / config.rate
        faults = self._faults(duration)
        faults.start()
        traffic = Traffic(
            self.rng.getrandbits(64), config.messages, config.case_count, lambda: clock.now
        )
        assert self.producer is not None
        overtaking = _publish(config, traffic, self.producer, clock, self.topic, say)
        faults.finish(timeout=duration + 120)
        if self.probe is not None:  # its intakes would keep the engine from ever draining
            self.probe.finish()
        say(f"chaos: published {config.messages} messages; waiting for the engine to drain")
        drain_timeout = config.drain_timeout or 180 + config.messages / 200
        drained = monitor.quiet_for(config.quiet_seconds, drain_timeout)
        monitor.finish()
        crashes = sum(w.crashes for w in self.workers)
        crashes += sum(1 for w in self.workers if not w.alive())
        for worker in self.workers:
            worker.scrape()
            worker.stop()
        say("chaos: reading the topics back and replaying every case through the core")
        topics = collect(bootstrap, self.topic)
        for case_id, message_ids in overtaking.items():
            if case_id in topics.inputs:
                topics.inputs[case_id].overtaking |= message_ids
        oracle = Oracle()
        verdict = oracle.judge(topics.inputs, topics.output, clock.now)
        suspects = [m.case_id for m in verdict.mismatched[:20]] + verdict.timers_not_acted_on[:20]
        if suspects:
            story = [
                line for c in suspects for line in oracle.trace(c, topics.inputs[c], topics.output)
            ]
            (config.var / self.prefix / "mismatches.txt").write_text("\n".join(story) + "\n")
        lateness = [
            written - reached
            for deadline, written in topics.breaches
            if (reached := clock.wall_time_reaching(deadline)) is not None
        ]
        stall_end = monitor.progress.longest_stall_at
        stall_start = stall_end - monitor.progress.longest_stall
        in_outage = any(a <= stall_end and stall_start <= b for a, b in faults.log.outages)
        outside = [
            end - start
            for start, end in monitor.progress.stalls
            if not any(a <= end and start <= b for a, b in faults.log.outages)
        ]
        cluster = None
        if isinstance(self.broker, KafkaCluster) and isinstance(faults, ClusterFaults):
            assert self.probe is not None
            on_intake = {case for case, given in topics.inputs.items() if given.intake}
            gateway = judge(
                self.probe.answers, self.broker, on_intake, config.gateway_publish_timeout
            )
            steps = step_reports(faults.log.steps, monitor.progress.stalls, self.probe.answers)
            cluster = ClusterOutcome(config.cluster_nodes, steps, gateway, config.cluster_steps)
        return RunResult(
            config=config,
            prefix=self.prefix,
            traffic=traffic.counts,
            faults=faults.log,
            topics=topics,
            verdict=verdict,
            duplicates_skipped=sum(w.counter("duplicates") for w in self.workers),
            worker_crashes=crashes,
            longest_stall=monitor.progress.longest_stall,
            stall_in_outage=in_outage,
            longest_stall_outside_outages=max(outside, default=0.0),
            lateness=lateness,
            drained=drained,
            seconds=time.monotonic() - self.started,
            clock_end=clock.now,
            crash_lines=[line for w in self.workers for line in w.crash_lines],
            cluster=cluster,
        )

    def _faults(self, duration: float) -> Faults | ClusterFaults:
        config, rng = self.config, random.Random(self.rng.getrandbits(64))
        if isinstance(self.broker, KafkaCluster):
            return ClusterFaults(
                rng,
                self.broker,
                self.workers,
                duration,
                config.worker_kills,
                config.cluster_steps,
                config.cluster_down_seconds,
                quorum_loss_seconds=2 * config.gateway_publish_timeout + 5,
            )
        return Faults(
            rng, self.broker, self.workers, duration, config.worker_kills, config.broker_restarts
        )

    def _start_cluster(self) -> SimulatedTime:
        config = self.config
        self.broker.fresh_start()
        bootstrap = self.broker.bootstrap
        replication = self.broker.replication if isinstance(self.broker, KafkaCluster) else 1
        clock_spec = seam.TopicSpec(
            self.topic("control.clock"), 1, replication, {"cleanup.policy": "delete"}
        )
        topics = seam.topic_specs(self.prefix, config.partitions, None, replication)
        specs = [*topics, clock_spec]
        seam.provision(bootstrap, specs)
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            linger_ms=5,
            delivery_timeout_ms=600_000,
            max_block_ms=120_000,
        )
        clock = SimulatedTime(self.producer, self.topic("control.clock"), SIMULATED_START)
        workdir = config.var / self.prefix
        workdir.mkdir(parents=True, exist_ok=True)
        # The run is about nothing lost: a held command must outlive the whole simulated span
        # (the clock steps hours at a time, past the 15-minute default between a command and
        # its intake). The expiry path is tests/e2e/test_engine_overtaking.py's.
        hold_wait = timedelta(days=config.simulated_days + 30)
        for n in range(1, config.workers + 1):
            data_dir = workdir / f"data-w{n}"
            env = worker_env(bootstrap, self.prefix, SIMULATED_START, data_dir, hold_wait)
            env["ADUAN_TOPIC_REPLICATION"] = str(replication)
            self.workers.append(Worker(f"w{n}", env, workdir / f"w{n}.log"))
        for worker in self.workers:
            worker.start()
        _wait_ready(self.workers, self.say)
        if isinstance(self.broker, KafkaCluster):
            env = worker_env(bootstrap, self.prefix, SIMULATED_START, workdir / "gateway")
            timeout = config.gateway_publish_timeout
            self.gateway = Gateway(env, workdir / "gateway.log", timeout)
            self.gateway.start()
            self.probe = Probe(self.gateway, config.seed)
            self.probe.start()
            self.say(f"chaos: gateway on {self.gateway.url}, probed with web intakes")
        return clock

    def cleanup(self) -> None:
        if self.probe is not None:
            self.probe.finish()
        if self.gateway is not None:
            self.gateway.stop()
        for worker in self.workers:
            worker.stop()
        if self.producer is not None:
            self.producer.close(timeout=5)
        self.broker.stop()


def _publish(
    config: RunConfig,
    traffic: Traffic,
    producer: KafkaProducer,
    clock: SimulatedTime,
    topic: Any,
    say: Any,
) -> dict[str, set[str]]:
    """Publish the stream at ``config.rate``, moving the clock in even steps as it goes."""
    step = timedelta(days=config.simulated_days / config.clock_steps)
    per_step = max(config.messages // config.clock_steps, 1)
    overtaking: dict[str, set[str]] = {}
    began = time.monotonic()
    for sent, item in enumerate(traffic, 1):
        producer.send(topic(item.topic), key=item.key, value=item.value)
        if item.kind == "overtaking":
            overtaking.setdefault(item.case_id, set()).add(item.message_id)
        if sent % per_step == 0:
            producer.flush(timeout=600)
            clock.set(clock.now + step)
        if sent % 10_000 == 0:
            say(f"chaos: {sent} messages published, simulated {clock.now.isoformat()}")
        ahead = began + sent / config.rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    producer.flush(timeout=600)
    return overtaking


def _wait_ready(workers: list[Worker], say: Any, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    for worker in workers:
        while True:
            if not worker.alive():
                raise RuntimeError(f"worker {worker.name} exited:\n{worker.log_tail()}")
            stats = worker.scrape()
            if stats and stats.get("ready"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker {worker.name} not ready:\n{worker.log_tail()}")
            time.sleep(0.3)
    say(f"chaos: {len(workers)} workers ready")
