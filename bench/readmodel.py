"""``python -m bench.readmodel [--cases N] [--backend sqlite|postgresql ...]``: the read model
with a million cases (issue 19).

The rows are bulk-loaded directly (not through Kafka): 200 snapshots and histories made by the
real core are cloned under new tracking numbers with shifted times (columns shifted, snapshot
text renamed), two events per case. Then, on each database: a lookup (case + history) p99 over
random tracking numbers, a work-queue page (agency + states, 50 by deadline) p99 and its count
p99; and the gateway started on the loaded SQLite database: seconds to /readyz and its RSS.
PostgreSQL is a server of the bench's own (tests/postgres_server.py, port 19901).
Writes bench/results/readmodel.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from consumers.readmodel.columns import case_row, event_row
from consumers.readmodel.database import open_database
from consumers.readmodel.queries import QueueQuery
from consumers.readmodel.schema import cases, events
from consumers.readmodel.store import SqlReadModel
from states.lifecycle import CaseState
from workflow.codec import encode
from workflow.policy import load_policy

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "readmodel.json"
CHUNK = 20_000
AGENCIES = ("DINKES", "PUPR", "DIKBUD", "DUKCAPIL")


def _templates() -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    from tests.readmodel_cases import written_cases

    policy = load_policy()
    written = written_cases(count=200, seed=1)
    out = []
    for case_id, case in written.cases.items():
        row = case_row(case, policy)
        evs = [
            event_row(e, 0, i, encode(e).decode())
            for i, e in enumerate(written.events[case_id][:2])
        ]
        out.append((row, evs))
    return out


def load(store: SqlReadModel, count: int) -> float:
    templates = _templates()
    started = time.perf_counter()
    case_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    with store.engine.begin() as conn:
        for number in range(count):
            row, evs = templates[number % len(templates)]
            new_id = f"ADU-B{number:07d}"
            shift = timedelta(minutes=number % 525_600)
            clone = {
                **row,
                "case_id": new_id,
                "snapshot": row["snapshot"].replace(row["case_id"], new_id),
            }
            for column in ("opened_at", "due_at", "queue_at"):
                if clone[column] is not None:
                    clone[column] = clone[column] + shift
            case_rows.append(clone)
            for index, ev in enumerate(evs):
                event_rows.append({**ev, "event_id": f"{new_id}-e{index}", "case_id": new_id,
                                   "offset": number * 2 + index,
                                   "body": ev["body"].replace(row["case_id"], new_id)})  # fmt: skip
            if len(case_rows) >= CHUNK:
                conn.execute(insert(cases), case_rows)
                conn.execute(insert(events), event_rows)
                case_rows, event_rows = [], []
        if case_rows:
            conn.execute(insert(cases), case_rows)
            conn.execute(insert(events), event_rows)
    return time.perf_counter() - started


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98] * 1000


def measure(store: SqlReadModel, count: int, runs: int) -> dict[str, float]:
    rng = random.Random(19)
    lookups = []
    for _ in range(runs):
        case_id = f"ADU-B{rng.randrange(count):07d}"
        t = time.perf_counter()
        assert store.case(case_id) is not None
        assert store.history(case_id)
        lookups.append(time.perf_counter() - t)
    # the work queues by role (issue 20): verifier, agency liaison, escalation officer, admin
    triage = frozenset({CaseState.RECEIVED, CaseState.VERIFYING, CaseState.AWAITING_INFORMATION})
    at_agency = frozenset({CaseState.REFERRED, CaseState.IN_PROGRESS})
    roles = [
        lambda: QueueQuery(states=triage, limit=50),
        lambda: QueueQuery(states=at_agency, agency=rng.choice(AGENCIES), limit=50),
        lambda: QueueQuery(min_escalation_level=rng.randrange(1, 4), limit=50),
        lambda: QueueQuery(limit=50, offset=rng.choice((0, 50, 500))),
    ]
    pages, counts = [], []
    for _ in range(max(runs // 4, 50)):
        query = rng.choice(roles)()
        t = time.perf_counter()
        store.queue(query)
        pages.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.count(query)
        counts.append(time.perf_counter() - t)
    return {
        "lookup_p99_ms": p99(lookups),
        "lookup_median_ms": statistics.median(lookups) * 1000,
        "queue_page_p99_ms": p99(pages),
        "queue_page_median_ms": statistics.median(pages) * 1000,
        "queue_count_p99_ms": p99(counts),
    }


def gateway_start(url: str, bootstrap: str) -> dict[str, float]:
    """``aduan gateway`` on the loaded database: seconds until /readyz, and its RSS then."""
    import httpx

    from consumers.topics import provision, topic_specs

    prefix = f"bench-rm-{os.getpid()}"
    provision(bootstrap, topic_specs(prefix, 6, None))
    env = {
        **os.environ,
        "ADUAN_KAFKA_BOOTSTRAP": bootstrap,
        "ADUAN_TOPIC_PREFIX": prefix,
        "ADUAN_READMODEL_URL": url,
        "ADUAN_GATEWAY_DEV_MODE": "true",
        "PYTHONPATH": str(REPO),
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "gateway", "--port", "18099"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:
            try:
                if httpx.get("http://127.0.0.1:18099/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.perf_counter() - started > 300:
                raise RuntimeError("the gateway did not become ready")
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        status = Path(f"/proc/{process.pid}/status").read_text()
        rss_kb = int(
            next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]
        )
        return {"gateway_ready_s": seconds, "gateway_rss_mb": rss_kb / 1024}
    finally:
        process.terminate()
        process.wait(timeout=30)
        _drop_topics(bootstrap, prefix)


def projection_lag(url: str, bootstrap: str, rate: int, seconds: float) -> dict[str, float]:
    """Events written to ``cases.events`` at ``rate`` per second while the projection runs on
    the loaded database: seconds from the write until the row is visible (p50, p99)."""
    import threading

    from sqlalchemy import select

    from consumers.readmodel.projection import Projection
    from consumers.settings import SharedSettings
    from consumers.topics import provision, topic_specs

    prefix = f"bench-lag-{os.getpid()}"
    provision(bootstrap, topic_specs(prefix, 6, None))
    settings = SharedSettings(kafka_bootstrap=[bootstrap], topic_prefix=prefix)
    store = SqlReadModel(open_database(url), load_policy())
    row, evs = _templates()[0]
    template = evs[0]
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = threading.Event()

    def poll() -> None:
        query = select(events.c.event_id).where(events.c.event_id.like("lag-%"))
        while not done.is_set():
            with store.engine.connect() as conn:
                now = time.perf_counter()
                for event_id in conn.execute(query).scalars():
                    seen.setdefault(event_id, now)
            time.sleep(0.02)

    async def drive() -> None:
        from aiokafka import AIOKafkaProducer

        projection = Projection(settings, store)
        await projection.start()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
        await producer.start()
        try:
            total = int(rate * seconds)
            started = time.perf_counter()
            for number in range(total):
                event_id, case_id = f"lag-{number:07d}", f"ADU-LAG{number % 500:04d}"
                body = template["body"].replace(template["event_id"], event_id)
                body = body.replace(row["case_id"], case_id)
                wait = started + number / rate - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                sent[event_id] = time.perf_counter()
                await producer.send(settings.topic("cases.events"), body.encode(), case_id.encode())
            await producer.flush()
            deadline = time.perf_counter() + 120
            while len(seen) < total and time.perf_counter() < deadline:  # noqa: ASYNC110 (a thread fills it)
                await asyncio.sleep(0.1)
        finally:
            await producer.stop()
            await projection.stop()

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        asyncio.run(drive())
    finally:
        done.set()
        poller.join(timeout=10)
        _drop_topics(bootstrap, prefix)
    lags = [seen[e] - sent[e] for e in sent if e in seen]
    return {
        "lag_rate_per_s": rate,
        "lag_events": len(sent),
        "lag_seen": len(lags),
        "lag_p50_ms": statistics.median(lags) * 1000,
        "lag_p99_ms": p99(lags),
    }


def _drop_topics(bootstrap: str, prefix: str) -> None:
    from tests.conftest import delete_topics_with_prefix

    delete_topics_with_prefix(bootstrap, [prefix])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--lag-only", action="store_true", help="Projection lag on var/bench.")
    parser.add_argument(
        "--reuse", action="store_true", help="SQLite: measure the database loaded before."
    )
    parser.add_argument("--lag-rate", type=int, default=1000)
    parser.add_argument("--lag-seconds", type=float, default=20.0)
    parser.add_argument("--lag-db", default=str(REPO / "var" / "bench" / "readmodel.sqlite"))
    parser.add_argument(
        "--bootstrap", default=os.environ.get("ADUAN_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    )
    args = parser.parse_args()
    if args.lag_only:
        url = f"sqlite:///{args.lag_db}"
        lag = projection_lag(url, args.bootstrap, args.lag_rate, args.lag_seconds)
        print(json.dumps(lag), flush=True)
        if Path(args.lag_db) == REPO / "var" / "bench" / "readmodel.sqlite":
            known = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
            known.setdefault("sqlite", {}).update(lag)
            RESULTS.write_text(json.dumps(known, indent=2) + "\n")
        return
    results: dict[str, Any] = {"cases": args.cases, "events_per_case": 2}
    known = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if known.get("cases") == args.cases:  # another backend measured at the same size stays
        results = {**known, **results}
    for backend in args.backend or ["sqlite", "postgresql"]:
        results[backend] = run_backend(backend, args)
        print(json.dumps({backend: results[backend]}), flush=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, float]:
    server = None
    if backend == "sqlite":
        path = REPO / "var" / "bench" / "readmodel.sqlite"
        for leftover in () if args.reuse else path.parent.glob("readmodel.sqlite*"):
            leftover.unlink()
        url = f"sqlite:///{path}"
    else:
        from tests.postgres_server import PostgresServer

        server = PostgresServer(port=19901)
        server.start()
        url = server.new_database()
    try:
        store = SqlReadModel(open_database(url), load_policy())
        reused = args.reuse and backend == "sqlite"
        figures = {} if reused else {"load_s": load(store, args.cases)}
        started = time.perf_counter()
        store.optimize()  # what the projection does once it caught up
        figures["optimize_s"] = time.perf_counter() - started
        figures.update(measure(store, args.cases, args.runs))
        if backend == "sqlite":
            figures["db_mb"] = path.stat().st_size / 2**20
            figures.update(gateway_start(url, args.bootstrap))
        return figures
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
