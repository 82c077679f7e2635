"""Benchmarks on a real broker: throughput, latency, recovery, and the broker's own ceiling.

Every run uses a fresh topic prefix, so runs never see each other's data. The engine worker is
the real one (``python -m consumers.cli worker`` through `tests.e2e.harness.EngineHarness`).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import REPO, VAR, Figure, mixed_messages, spread
from consumers.topics import TopicSpec, provision
from tests.e2e.harness import EngineHarness, free_port, wait_for

_FAUST_NOOP = r"""
import os, sys, faust
src, dst, app_id, datadir = sys.argv[1:5]
app = faust.App(app_id, broker="kafka://" + os.environ["ADUAN_KAFKA_BOOTSTRAP"], store="memory://",
                web_enabled=False, datadir=datadir, consumer_auto_offset_reset="earliest",
                producer_acks=-1, autodiscover=False)
source = app.topic(src, key_serializer="raw", value_serializer="raw")
sink = app.topic(dst, key_serializer="raw", value_serializer="raw")

@app.agent(source)
async def forward(stream):
    async for event in stream.events():
        await sink.send(key=event.key, value=event.value)

faust.Worker(app, loglevel="warning").execute_from_commandline()
"""


def _end_offsets(bootstrap: str, topic: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in parts])
        return sum(ends.values())
    finally:
        consumer.close()


def _harness(bootstrap: str, tag: str) -> EngineHarness:
    workdir = Path(tempfile.mkdtemp(prefix=f"aduan-bench-{tag}-", dir=VAR))
    from bench.common import START

    return EngineHarness(bootstrap, f"bench-{tag}-{uuid.uuid4().hex[:6]}", workdir, START)


# -- 1. throughput ---------------------------------------------------------------------------------


async def _raw_passthrough(bootstrap: str, src: str, dst: str, total: int) -> float:
    """aiokafka consume -> produce, acks=all, commit per batch; messages/s."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    consumer = AIOKafkaConsumer(
        src,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await consumer.start()
    await producer.start()
    seen = 0
    start = None
    try:
        while seen < total:
            batches = await consumer.getmany(timeout_ms=200, max_records=1000)
            for records in batches.values():
                if start is None:
                    start = time.perf_counter()
                futures = [await producer.send(dst, key=r.key, value=r.value) for r in records]
                await asyncio.gather(*futures)
                seen += len(records)
            if batches:
                await consumer.commit()
        assert start is not None
        return total / (time.perf_counter() - start)
    finally:
        await consumer.stop()
        await producer.stop()


def _count_rate(count: Any, total: int, timeout: float) -> float:
    """Poll ``count()`` until it reaches ``total``; messages/s from the first to the last."""
    first = None
    deadline = time.monotonic() + timeout
    while True:
        n = count()
        now = time.perf_counter()
        if n and first is None:
            first = (now, n)
        if n >= total:
            assert first is not None
            t0, n0 = first
            return (total - n0) / (now - t0) if now > t0 else float("inf")
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {n} of {total} after {timeout:.0f}s")
        time.sleep(0.1)


def throughput(bootstrap: str, runs: int, total: int) -> Figure:
    """``total`` mixed messages (1 intake : 3 commands, keyed by case id, all on
    cases.commands so each case's messages stay in order) pre-published, then drained by (a)
    one engine worker (done when the relay has published every snapshot), (b) a raw aiokafka
    consume->produce loop, (c) a faust agent forwarding without work; same broker, same 6
    partition input topic."""
    engine_rates, faust_rates, raw_rates = [], [], []
    for run in range(runs):
        h = _harness(bootstrap, f"tp{run}")
        try:
            h.provision()
            src = h.topic("cases.commands")
            extra = [TopicSpec(h.topic(n), 6, 1, {}) for n in ("bench.raw", "bench.faust")]
            provision(bootstrap, extra)
            messages = mixed_messages(total, h.prefix)
            h.publish_many("cases.commands", messages)
            # (a) the engine
            worker = h.start_worker("engine")

            def relayed(w: Any = worker) -> int:
                s = w.stats() or {}
                return (
                    int(s.get("relayed_snapshots", 0))
                    + int(s.get("duplicates", 0))
                    + int(s.get("deadlettered", 0))
                )

            engine_rates.append(_count_rate(relayed, total, timeout=900))
            worker.stop()
            # (b) raw aiokafka
            raw_rates.append(
                asyncio.run(_raw_passthrough(bootstrap, src, h.topic("bench.raw"), total))
            )
            # (c) faust no-op
            log = (h.workdir / "faust.log").open("ab")
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _FAUST_NOOP,
                    src,
                    h.topic("bench.faust"),
                    f"{h.prefix}-noop",
                    str(h.workdir / "faust"),
                ],
                env={**h.env(free_port())},
                cwd=h.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                faust_rates.append(
                    _count_rate(lambda: _end_offsets(bootstrap, h.topic("bench.faust")), total, 900)
                )
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        finally:
            h.close()
            shutil.rmtree(h.workdir, ignore_errors=True)
    median = spread(engine_rates)["median"]
    ratio = spread([e / f for e, f in zip(engine_rates, faust_rates, strict=True)])["median"]
    return Figure(
        "throughput, one worker",
        "msgs/s",
        engine_rates,
        "faust no-op forward agent",
        faust_rates,
        target=">= 5,000 msgs/s and >= 0.5x faust no-op",
        met=median >= 5000 and ratio >= 0.5,
        note=f"{total:,} mixed messages (1 intake : 3 commands)",
        extra={"raw_aiokafka_runs": raw_rates, "raw_aiokafka_stats": spread(raw_rates)},
    )


# -- 2. latency ------------------------------------------------------------------------------------


async def _paced(
    bootstrap: str, h: EngineHarness, rate: int, seconds: float, out_topic: str, in_topic: str
) -> list[float]:
    """Publish intake at ``rate``/s to ``in_topic``; latency (ms) until the message's event
    (matched by causation_id, or the value itself for a passthrough) is read, read_committed,
    on ``out_topic``."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from bench.common import START, intake_json

    consumer = AIOKafkaConsumer(
        out_topic,
        bootstrap_servers=bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="latest",
        group_id=None,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await consumer.start()
    await producer.start()
    await asyncio.sleep(1.0)  # let the consumer settle at the end
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    total = int(rate * seconds)
    tag = uuid.uuid4().hex[:6]

    async def read() -> None:
        while len(got) < total:
            batches = await consumer.getmany(timeout_ms=100)
            now = time.perf_counter()
            for records in batches.values():
                for r in records:
                    body = json.loads(r.value)
                    ident = body.get("causation_id") or body.get("event_id")
                    if ident in sent and ident not in got:
                        got[ident] = now

    reader = asyncio.create_task(read())
    t0 = time.perf_counter()
    for n in range(total):
        due = t0 + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        case_id, body = intake_json(n, START, tag)
        value = json.dumps(body, separators=(",", ":")).encode()
        sent[body["event_id"]] = time.perf_counter()
        await producer.send(in_topic, key=case_id.encode(), value=value)
    try:
        await asyncio.wait_for(reader, timeout=60)
    except TimeoutError:
        reader.cancel()
    await producer.stop()
    await consumer.stop()
    return sorted((got[k] - sent[k]) * 1e3 for k in got)


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def latency(bootstrap: str, runs: int, rate: int, seconds: float) -> list[Figure]:
    """p50/p95/p99 publish -> event on cases.events (read_committed) at ``rate`` msgs/s, one
    engine worker; baseline: the same paced load through the raw aiokafka passthrough."""
    p50, p95, p99, b99 = [], [], [], []
    counts = []
    for run in range(runs):
        h = _harness(bootstrap, f"lat{run}")
        try:
            h.provision()
            provision(bootstrap, [TopicSpec(h.topic("bench.raw"), 6, 1, {})])
            h.start_worker("engine")
            lat = asyncio.run(
                _paced(
                    bootstrap,
                    h,
                    rate,
                    seconds,
                    h.topic("cases.events"),
                    h.topic("complaints.intake"),
                )
            )
            counts.append(len(lat))
            p50.append(_pct(lat, 50))
            p95.append(_pct(lat, 95))
            p99.append(_pct(lat, 99))

            async def baseline() -> list[float]:
                src, dst = h.topic("bench.in"), h.topic("bench.raw")
                provision(bootstrap, [TopicSpec(src, 6, 1, {})])
                task = asyncio.create_task(
                    _raw_passthrough(bootstrap, src, dst, int(rate * seconds))
                )
                result = await _paced(bootstrap, h, rate, seconds, dst, src)
                task.cancel()
                return result

            base = asyncio.run(baseline())
            b99.append(_pct(base, 99) if base else float("nan"))
        finally:
            h.close()
            shutil.rmtree(h.workdir, ignore_errors=True)
    return [
        Figure(
            "latency p99 publish -> cases.events",
            "ms",
            p99,
            "raw aiokafka passthrough p99",
            b99,
            target="<= 50 ms",
            met=spread(p99)["median"] <= 50,
            note=f"{rate} msgs/s offered for {seconds:.0f} s; read_committed; "
            f"events seen per run {counts}",
            extra={"p50": spread(p50), "p95": spread(p95), "p50_runs": p50, "p95_runs": p95},
        )
    ]


# -- 5. recovery -----------------------------------------------------------------------------------


def recovery(bootstrap: str, runs: int, cases: int) -> list[Figure]:
    """Time from starting a worker whose case table holds ``cases`` until it processes a new
    message, with the memory store (rebuilt from the changelog) and rocksdb (restarted on its
    own data dir, after a first start that restored it). The changelog is written directly
    (framed records, as the case agent writes them). Baseline: reading the same changelog
    with a plain aiokafka consumer."""
    from kafka import KafkaProducer

    from bench.common import START, intake_json
    from bench.inprocess import _template_record
    from consumers.engine.records import frame

    figures = []
    snapshot, outbox = _template_record()
    marker = b"ADU-XXXX-XXXX-XXXX"
    mem_runs, rocks_runs, raw_runs = [], [], []
    for run in range(runs):
        h = _harness(bootstrap, f"rec{run}")
        try:
            h.provision()
            changelog = f"{h.prefix}.aduan-cases-changelog"
            provision(
                bootstrap,
                [TopicSpec(changelog, 6, 1, {"cleanup.policy": "compact"})],
            )
            producer = KafkaProducer(
                bootstrap_servers=bootstrap,
                acks=1,
                linger_ms=20,
                batch_size=512 * 1024,
                compression_type=None,
            )
            from consumers.topics import partition_for

            for i in range(cases):
                cid = b"ADU-%04d-%04d-%04d" % (i // 100000000, (i // 10000) % 10000, i % 10000)
                value = frame([p.replace(marker, cid) for p in (snapshot, *outbox)])
                producer.send(changelog, key=cid, value=value, partition=partition_for(cid, 6))
            producer.flush()
            producer.close()

            async def raw_read() -> float:
                from aiokafka import AIOKafkaConsumer

                c = AIOKafkaConsumer(
                    changelog,
                    bootstrap_servers=bootstrap,
                    group_id=None,
                    auto_offset_reset="earliest",
                )
                t0 = time.perf_counter()
                await c.start()
                n = 0
                while n < cases:
                    for recs in (await c.getmany(timeout_ms=200, max_records=5000)).values():
                        n += len(recs)
                await c.stop()
                return time.perf_counter() - t0

            raw_runs.append(asyncio.run(raw_read()))
            probe_n = 0

            def until_processes(store: str, name: str) -> float:
                nonlocal probe_n
                t0 = time.perf_counter()
                w = h.start_worker(name, wait_ready=False, ADUAN_STORE=store)
                h.wait_ready(w, timeout=1200)
                before = int((w.stats() or {}).get("processed", 0))
                probe_n += 1
                case_id, body = intake_json(10_000_000 + probe_n, START, h.prefix)
                h.publish("complaints.intake", json.dumps(body).encode(), case_id.encode())
                wait_for(
                    lambda: int((w.stats() or {}).get("processed", 0)) > before,
                    600,
                    "the probe to be processed",
                    interval=0.05,
                )
                elapsed = time.perf_counter() - t0
                w.stop()
                return elapsed

            mem_runs.append(until_processes("memory://", "mem"))
            until_processes("rocksdb://", "rocks-first")  # restores into its data dir
            rocks_runs.append(until_processes("rocksdb://", "rocks-restart"))
        finally:
            h.close()
            shutil.rmtree(h.workdir, ignore_errors=True)
    per_million = 1_000_000 / cases
    for name, values in (("memory store", mem_runs), ("rocksdb restart", rocks_runs)):
        med = spread(values)["median"]
        figures.append(
            Figure(
                f"recovery, {name}",
                "s",
                values,
                "plain aiokafka read of the same changelog",
                raw_runs,
                target="<= 30 s at 1,000,000 cases",
                met=None if cases < 1_000_000 else med <= 30,
                note=f"measured at {cases:,} cases; linear extrapolation to 1,000,000: "
                f"{med * per_million:.0f} s"
                if cases < 1_000_000
                else f"{cases:,} cases",
                extra={"extrapolated_1m_s": med * per_million},
            )
        )
    return figures


# -- 7. the broker's own ceiling -------------------------------------------------------------------


def _tools_classpath() -> str | None:
    lib = REPO / "deploy" / "kafka" / "lib"
    found = list(lib.glob("kafka-tools-[0-9]*.jar")) or list(
        (VAR / "tools").glob("kafka-tools-*.jar")
    )
    if not found and shutil.which("mvn"):
        version = next(iter(lib.glob("kafka-clients-*.jar"))).stem.split("-")[-1]
        subprocess.run(
            [
                "mvn",
                "-q",
                "dependency:copy",
                f"-Dartifact=org.apache.kafka:kafka-tools:{version}",
                f"-DoutputDirectory={VAR / 'tools'}",
            ],
            check=False,
            capture_output=True,
            timeout=300,
        )
        found = list((VAR / "tools").glob("kafka-tools-*.jar"))
    if not found:
        return None
    return f"{lib}/*:{found[0]}"


def broker_ceiling(bootstrap: str, runs: int, records: int, size: int = 500) -> Figure:
    """Kafka's ProducerPerformance (acks=all, record size ``size``) on a fresh 6-partition
    topic; records/s. Baseline: the same count sent by one Python (kafka-python) producer."""
    classpath = _tools_classpath()
    java, python = [], []
    for run in range(runs):
        topic = f"bench-perf-{uuid.uuid4().hex[:6]}-{run}"
        provision(bootstrap, [TopicSpec(topic, 6, 1, {})])
        if classpath:
            out = subprocess.run(
                [
                    "java",
                    "-cp",
                    classpath,
                    "org.apache.kafka.tools.ProducerPerformance",
                    "--topic",
                    topic,
                    "--num-records",
                    str(records),
                    "--record-size",
                    str(size),
                    "--throughput",
                    "-1",
                    "--producer-props",
                    f"bootstrap.servers={bootstrap}",
                    "acks=all",
                ],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            m = re.findall(r"([\d.]+) records/sec", out.stdout)
            if m:
                java.append(float(m[-1]))
        from kafka import KafkaProducer

        p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        payload = b"x" * size
        n = min(records, 100_000)
        t0 = time.perf_counter()
        for _ in range(n):
            p.send(topic, payload)
        p.flush()
        python.append(n / (time.perf_counter() - t0))
        p.close()
    return Figure(
        "broker ceiling (ProducerPerformance)",
        "records/s",
        java,
        "one kafka-python producer",
        python,
        target=None,
        note=f"{records:,} x {size} B, acks=all, 6 partitions"
        + ("" if classpath else "; kafka-tools jar unavailable: not measured"),
    )
