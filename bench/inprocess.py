"""Benchmarks that need no broker: the pure core, the SLA deadline index, memory per case.

Each returns a `bench.common.Figure` (or several) with a baseline measured in the same run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import timedelta
from typing import Any

from bench.common import START, Figure, spread

# -- 6. the pure core -----------------------------------------------------------------------------


def core_throughput(runs: int, cases: int) -> Figure:
    """decide+evolve messages/s (bench.core) against a plain dict-lookup state machine step
    (the floor issue 3 quotes: one dict lookup per transition) measured in the same run."""
    from bench.core import prepare, run
    from workflow.core import Workflow
    from workflow.policy import load_policy

    wf = Workflow(load_policy(), reporter_key=b"bench-key")
    prepared = prepare(wf, cases)
    run(wf, prepared[:200])
    table = {(s, t): s + 1 for s in range(10) for t in range(20)}
    steps = [(i % 10, i % 20) for i in range(200_000)]

    def dict_rate() -> float:
        start = time.perf_counter()
        get = table.get
        for key in steps:
            get(key)
        return len(steps) / (time.perf_counter() - start)

    rates, floors = [], []
    for _ in range(runs):
        rates.append(run(wf, prepared))
        floors.append(dict_rate())
    median = spread(rates)["median"]
    return Figure(
        "pure core decide+evolve",
        "msgs/s",
        rates,
        "plain dict lookup per transition",
        floors,
        target=">= 200,000 msgs/s",
        met=median >= 200_000,
        note=f"{sum(len(m) for _, m in prepared)} messages over {cases} cases, one core",
    )


# -- 3. the SLA timer ------------------------------------------------------------------------------


def sla_timer(runs: int, open_cases: int, due: int) -> list[Figure]:
    """One `DeadlineIndex` holding ``open_cases``: the cost of a tick when nothing is due, and
    the lag to emit ``due`` deadlines falling due at once.

    In-process: the index is `consumers.engine.timer.DeadlineIndex`; a tick is what `Engine.tick`
    does minus the broker send: `pop_due`, then per due case the table lookup (a dict here, as
    the memory store is), `Workflow.timer_message` and `encode`. Baseline for the idle tick:
    a scan of every open case's wake_at (what a timer without an index would cost).
    """
    from consumers.engine.timer import DeadlineIndex
    from workflow.codec import encode
    from workflow.core import Workflow
    from workflow.policy import load_policy

    wf = Workflow(load_policy())
    from bench.core import prepare

    case = None
    for _case_id, msgs in prepare(wf, 1)[:1]:
        for m, now in msgs[:1]:
            case, _ = wf.handle(None, m, now)
    assert case is not None
    assert case.wake_at is not None
    far = START + timedelta(days=30)
    ids = [f"ADU-{i:012d}" for i in range(open_cases)]
    wakes = [far + timedelta(seconds=i) for i in range(open_cases)]
    idle_ticks, scans, lags = [], [], []
    now = START + timedelta(days=1)
    for _ in range(runs):
        index = DeadlineIndex()
        index.rebuild(zip(ids, wakes, strict=True))
        # Idle tick: nothing due (median of 1,000 ticks).
        samples = []
        for _ in range(1000):
            t0 = time.perf_counter()
            index.pop_due(now)
            samples.append(time.perf_counter() - t0)
        samples.sort()
        idle_ticks.append(samples[len(samples) // 2] * 1e3)
        cutoff = now.timestamp()
        t0 = time.perf_counter()
        sum(1 for w in index._wake_at.values() if w <= cutoff)
        scans.append((time.perf_counter() - t0) * 1e3)
        # A burst: ``due`` cases all due at the same instant.
        at = START + timedelta(days=2)
        table = {}
        for i in range(due):
            cid = f"ADU-DUE-{i:08d}"
            index.schedule(cid, at)
            table[cid.encode()] = case.model_copy(update={"case_id": cid, "wake_at": at})
        t0 = time.perf_counter()
        emitted = []
        for cid, _ in index.pop_due(at):
            record = table.get(cid.encode())
            if record is None or record.wake_at is None:
                continue
            emitted.append(encode(wf.timer_message(record, at)))
        lags.append(time.perf_counter() - t0)
        assert len(emitted) == due, len(emitted)
    idle = Figure(
        "SLA tick, nothing due",
        "ms",
        idle_ticks,
        "scan of every open case's wake_at",
        scans,
        target="<= 1 ms",
        met=spread(idle_ticks)["median"] <= 1.0,
        note=f"{open_cases:,} open cases in one DeadlineIndex (in-process)",
    )
    burst = Figure(
        f"SLA lag to emit {due:,} due at once",
        "s",
        lags,
        None,
        [],
        target="<= 2 s",
        met=spread(lags)["median"] <= 2.0,
        note="pop_due + table lookup + timer_message + encode per case (in-process; the broker "
        "send is measured by the throughput benchmark)",
    )
    return [idle, burst]


# -- 4. memory per open case ---------------------------------------------------------------------

_MEMORY_CHILD = r"""
import gc, json, resource, sys
from bench.inprocess import _template_record, _rss
from consumers.engine.records import decode_record, frame
n, with_outbox = int(sys.argv[1]), sys.argv[2] == "1"
snapshot, outbox = _template_record()
marker = b"ADU-XXXX-XXXX-XXXX"
parts_t = [snapshot, *outbox] if with_outbox else [snapshot]
gc.collect()
base = _rss()
table = {}
for i in range(n):
    cid = b"ADU-%04d-%04d-%04d" % (i // 100000000, (i // 10000) % 10000, i % 10000)
    framed = frame([p.replace(marker, cid) for p in parts_t])
    table[cid] = decode_record(framed)
gc.collect()
print(json.dumps({"bytes": _rss() - base, "json": len(snapshot), "outbox": sum(map(len, outbox))}))
"""


def _rss() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


def _template_record() -> tuple[bytes, list[bytes]]:
    """A case as the table holds it after intake (its outbox: the CaseOpened event), with the
    case id replaced by a marker the child substitutes per case."""
    from bench.common import intake_json
    from workflow.codec import encode
    from workflow.core import Workflow
    from workflow.intake import ComplaintSubmitted
    from workflow.policy import load_policy

    wf = Workflow(load_policy())
    case_id, body = intake_json(0, START, "mem")
    intake = ComplaintSubmitted.model_validate(body)
    case, events = wf.handle(None, intake, START)
    assert case is not None
    marker = b"ADU-XXXX-XXXX-XXXX"
    snapshot = case.model_dump_json().encode().replace(case_id.encode(), marker)
    return snapshot, [encode(e).replace(case_id.encode(), marker) for e in events]


def memory_per_case(runs: int, cases: int) -> Figure:
    """RSS growth per open case in a fresh process that decodes ``cases`` distinct framed
    records (as the memory store does on recovery) into a dict of `CaseRecord`, including the
    outbox bytes the table keeps. Baseline: the same with the snapshot only (no outbox), at
    no more than 200,000 cases."""
    per_case, snapshot_only = [], []
    info: dict[str, Any] = {}
    for _ in range(runs):
        # The baseline at no more than 200,000 cases (bytes per case hardly depend on N; this
        # keeps `make bench` inside its 20 minutes).
        for with_outbox, sink, n in (
            ("1", per_case, cases),
            ("0", snapshot_only, min(cases, 200_000)),
        ):
            out = subprocess.run(
                [sys.executable, "-c", _MEMORY_CHILD, str(n), with_outbox],
                capture_output=True,
                text=True,
                check=True,
            )
            info = json.loads(out.stdout)
            sink.append(info["bytes"] / n)
    return Figure(
        "memory per open case",
        "bytes",
        per_case,
        "same, snapshot only (no outbox kept)",
        snapshot_only,
        target="<= 1024 bytes",
        met=spread(per_case)["median"] <= 1024,
        note=f"{cases:,} cases; snapshot JSON {info.get('json')} B, outbox "
        f"{info.get('outbox')} B per case",
    )
