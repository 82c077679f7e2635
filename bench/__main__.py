"""``python -m bench [--quick] [--only NAME ...] [--runs R]``: every benchmark of issue 8.

Uses the broker at ADUAN_KAFKA_BOOTSTRAP if it answers, else starts its own (kafkactl, port
ADUAN_BENCH_KAFKA_PORT, default 59092; data under var/bench/kafka) and stops it afterwards.
Writes bench/results/latest.json and prints a table (median, min, max of the runs, and the
ratio against the baseline measured in the same run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import VAR, Figure, ensure_broker, spread, stop_broker

RESULTS = Path(__file__).resolve().parent / "results"

FULL = {
    "core_cases": 4000,
    "timer_cases": 1_000_000,
    "timer_due": 10_000,
    "memory_cases": 1_000_000,
    "throughput": 100_000,
    "latency_rate": 1000,
    "latency_seconds": 10.0,
    "recovery_cases": 50_000,
    "perf_records": 1_000_000,
}
QUICK = {
    "core_cases": 1000,
    "timer_cases": 1_000_000,
    "timer_due": 10_000,
    "memory_cases": 100_000,
    "throughput": 20_000,
    "latency_rate": 1000,
    "latency_seconds": 3.0,
    "recovery_cases": 20_000,
    "perf_records": 200_000,
}
NAMES = ("core", "timer", "memory", "throughput", "latency", "recovery", "ceiling")


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:,.2f}"
    return f"{v:.4f}"


def table(figures: list[dict[str, Any]]) -> str:
    rows = [
        "| figure | median (min-max) | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        s, b, r = f.get("stats"), f.get("baseline_stats"), f.get("ratio_stats")
        value = f"{_fmt(s['median'])} {f['unit']} ({_fmt(s['min'])}-{_fmt(s['max'])})" if s else "-"
        base = f"{f['baseline_name']}: {_fmt(b['median'])}" if b else "-"
        ratio = f"{r['median']:.3g}x" if r else "-"
        met = {True: "yes", False: "**no**", None: "n/a"}[f.get("met")]
        rows.append(
            f"| {f['name']} | {value} | {base} | {ratio} | {f.get('target') or '-'} | {met} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description="aduan benchmarks (issue 8)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a few minutes")
    parser.add_argument("--only", nargs="*", choices=NAMES, default=list(NAMES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args()
    size = QUICK if args.quick else FULL
    runs = args.runs
    VAR.mkdir(parents=True, exist_ok=True)
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    started_broker = False
    bootstrap = None
    t_all = time.perf_counter()
    timings: dict[str, float] = {}

    def step(name: str, fn: Any) -> None:
        t0 = time.perf_counter()
        print(f"bench: {name} ...", flush=True)
        try:
            out = fn()
            figures.extend(out if isinstance(out, list) else [out])
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        timings[name] = time.perf_counter() - t0
        print(f"bench: {name} done in {timings[name]:.0f}s", flush=True)

    from bench import inprocess

    if "core" in args.only:
        step("core", lambda: inprocess.core_throughput(runs, size["core_cases"]))
    if "timer" in args.only:
        step("timer", lambda: inprocess.sla_timer(runs, size["timer_cases"], size["timer_due"]))
    if "memory" in args.only:
        step("memory", lambda: inprocess.memory_per_case(runs, size["memory_cases"]))
    broker_names = {"throughput", "latency", "recovery", "ceiling"} & set(args.only)
    if broker_names:
        bootstrap, started_broker = ensure_broker(os.environ.get("ADUAN_KAFKA_BOOTSTRAP"))
        print(f"bench: broker {bootstrap}{' (started for the bench)' if started_broker else ''}")
        from bench import broker

        try:
            if "ceiling" in args.only:
                step(
                    "ceiling", lambda: broker.broker_ceiling(bootstrap, runs, size["perf_records"])
                )
            if "throughput" in args.only:
                step("throughput", lambda: broker.throughput(bootstrap, runs, size["throughput"]))
            if "latency" in args.only:
                step(
                    "latency",
                    lambda: broker.latency(
                        bootstrap, runs, size["latency_rate"], size["latency_seconds"]
                    ),
                )
            if "recovery" in args.only:
                step("recovery", lambda: broker.recovery(bootstrap, runs, size["recovery_cases"]))
        finally:
            if started_broker:
                stop_broker()
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "mode": "quick" if args.quick else "full",
        "runs": runs,
        "sizes": size,
        "broker": bootstrap,
        "seconds": {**timings, "total": time.perf_counter() - t_all},
        "figures": [f.as_dict() for f in figures],
        "errors": errors,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print()
    print(table(result["figures"]))
    for f in result["figures"]:
        extra = f.get("extra") or {}
        if "p50" in extra:
            p50, p95 = _fmt(extra["p50"]["median"]), _fmt(extra["p95"]["median"])
            print(f"latency p50 {p50} ms, p95 {p95} ms")
        if "raw_aiokafka_stats" in extra:
            print(f"raw aiokafka passthrough: {_fmt(extra['raw_aiokafka_stats']['median'])} msgs/s")
        if f.get("note"):
            print(f"  {f['name']}: {f['note']}")
    if errors:
        print(f"errors: {json.dumps(errors, indent=1)}")
    print(f"bench: {result['seconds']['total']:.0f}s in all; results in {args.out}")
    _ = spread


if __name__ == "__main__":
    main()
