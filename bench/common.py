"""Shared pieces of the benchmark harness: results, statistics, the broker, message builders."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
VAR = REPO / "var" / "bench"
WIT = ZoneInfo("Asia/Jayapura")
START = datetime(2026, 3, 2, 9, 0, tzinfo=WIT)
BENCH_PORT = int(os.environ.get("ADUAN_BENCH_KAFKA_PORT", "59092"))


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of the runs."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


@dataclass
class Figure:
    """One headline figure: runs, the baseline measured in the same run, the target."""

    name: str
    unit: str
    runs: list[float]
    baseline_name: str | None = None
    baseline_runs: list[float] = field(default_factory=list)
    target: str | None = None
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratios(self) -> list[float]:
        return [r / b for r, b in zip(self.runs, self.baseline_runs, strict=False) if b]

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stats"] = spread(self.runs) if self.runs else None
        d["baseline_stats"] = spread(self.baseline_runs) if self.baseline_runs else None
        d["ratio_stats"] = spread(self.ratios) if self.ratios else None
        return d


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- the broker -------------------------------------------------------------------------------


def answers(bootstrap: str, timeout: float = 1.0) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def kafkactl(*args: str, port: int = BENCH_PORT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(REPO / "deploy" / "kafka" / "kafkactl.py"),
            "--port",
            str(port),
            "--controller-port",
            str(port + 1),
            "--var",
            str(VAR / "kafka"),
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def ensure_broker(bootstrap: str | None) -> tuple[str, bool]:
    """A broker that answers: ``bootstrap`` if it does, else our own on BENCH_PORT (started
    with kafkactl). Returns (bootstrap, started_by_us)."""
    if bootstrap and answers(bootstrap):
        return bootstrap, False
    own = f"127.0.0.1:{BENCH_PORT}"
    if answers(own):
        return own, False
    result = kafkactl("start")
    if result.returncode != 0:
        raise RuntimeError(f"could not start the bench broker: {result.stdout}{result.stderr}")
    return own, True


def stop_broker() -> None:
    kafkactl("stop")


# -- messages ---------------------------------------------------------------------------------


def intake_json(n: int, now: datetime, tag: str) -> tuple[str, dict[str, Any]]:
    from workflow.intake import case_id_for

    mid = f"{tag}-web-{n}"
    body = {
        "event_id": f"{tag}-in-{n}",
        "type": "ComplaintSubmitted",
        "schema_version": 1,
        "occurred_at": now.isoformat(),
        "payload": {
            "channel": "web",
            "channel_message_id": mid,
            "received_at": now.isoformat(),
            "reporter": {"name": "Warga", "confidentiality": "public"},
            "subject": "Jalan rusak",
            "text": f"Jalan rusak di depan puskesmas nomor {n}",
            "category": "penundaan_berlarut",
        },
    }
    return case_id_for("web", mid), body


def command_json(
    case_id: str, kind: str, payload: dict[str, Any], event_id: str, now: datetime
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": kind,
        "schema_version": 1,
        "occurred_at": now.isoformat(),
        "case_id": case_id,
        "payload": payload,
    }


VERIFIER = {"id": "ver-1", "role": "verifier"}
AGENCY = {"id": "opd-1", "role": "agency"}
FLOW = (
    ("CompleteFormalVerification", {"actor": VERIFIER}),
    ("CompleteMaterialVerification", {"actor": VERIFIER}),
    ("AcceptReferral", {"actor": AGENCY}),
)


def mixed_messages(total: int, tag: str) -> list[tuple[bytes, bytes]]:
    """``total`` (key, value) pairs: per case one intake then the three verification and
    referral commands, keyed by case id, in order (1 intake : 3 commands)."""
    import json

    out: list[tuple[bytes, bytes]] = []
    n = 0
    while len(out) < total:
        now = START + timedelta(seconds=n)
        case_id, intake = intake_json(n, now, tag)
        key = case_id.encode()
        out.append((key, json.dumps(intake, separators=(",", ":")).encode()))
        for i, (kind, payload) in enumerate(FLOW):
            if len(out) >= total:
                break
            cmd = command_json(case_id, kind, payload, f"{tag}-c-{n}-{i}", now)
            out.append((key, json.dumps(cmd, separators=(",", ":")).encode()))
        n += 1
    return out
