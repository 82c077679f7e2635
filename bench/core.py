"""Micro-benchmark: decide+evolve throughput of the pure core on one core.

``python -m bench.core [--cases N] [--runs R]`` prepares realistic mixed flows as already-parsed
messages (intake, verification, referral, acceptance, follow-up plan, resolution, confirmation;
plus information requests, returned referrals, disputes, rejected commands, duplicates and SLA
timer firings), then times `Workflow.handle` over all of them, case after case, and prints the
median, min and max messages per second of R runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from workflow.commands import COMMAND_TYPES
from workflow.core import Workflow
from workflow.intake import ComplaintSubmitted
from workflow.policy import load_policy

WIT = ZoneInfo("Asia/Jayapura")
START = datetime(2026, 3, 2, 9, 0, tzinfo=WIT)
VERIFIER = {"id": "ver-1", "role": "verifier"}
AGENCY = {"id": "opd-1", "role": "agency"}
REPORTER = {"id": "rep-1", "role": "reporter"}

_FLOWS: tuple[tuple[tuple[str, dict[str, object]], ...], ...] = (
    # happy path
    (
        ("CompleteFormalVerification", {"actor": VERIFIER}),
        ("CompleteMaterialVerification", {"actor": VERIFIER}),
        ("AcceptReferral", {"actor": AGENCY}),
        ("PostFollowUpPlan", {"actor": AGENCY, "plan": "Perbaikan jalan minggu depan"}),
        ("ResolveComplaint", {"actor": AGENCY, "resolution_text": "Jalan sudah diperbaiki"}),
        ("ConfirmResolution", {"actor": REPORTER}),
    ),
    # missing information, returned referral, dispute
    (
        ("RequestInformation", {"actor": VERIFIER, "question": "Alamat lengkap?"}),
        ("ProvideInformation", {"actor": REPORTER, "text": "Jl. Abdullah Soulissa"}),
        ("CompleteMaterialVerification", {"actor": VERIFIER}),
        ("ReturnReferral", {"actor": AGENCY, "reason": "not_within_authority"}),
        ("AcceptReferral", {"actor": AGENCY}),
        ("ResolveComplaint", {"actor": AGENCY, "resolution_text": "Selesai"}),
        ("DisputeResolution", {"actor": REPORTER, "reason": "Belum selesai"}),
        ("ResolveComplaint", {"actor": AGENCY, "resolution_text": "Selesai sekarang"}),
        ("ConfirmResolution", {"actor": REPORTER}),
    ),
    # rejected commands and a rejection
    (
        ("AcceptReferral", {"actor": AGENCY}),
        ("CompleteFormalVerification", {"actor": VERIFIER}),
        ("ResolveComplaint", {"actor": AGENCY, "resolution_text": "?"}),
        ("RejectComplaint", {"actor": VERIFIER, "reason": "duplicate"}),
        ("ConfirmResolution", {"actor": REPORTER}),
    ),
)
TIMERS_PER_SILENT_CASE = 6

#: A parsed intake message or command (the benchmark mixes both).
Message = Any


def prepare(wf: Workflow, cases: int) -> list[tuple[str, list[tuple[Message, datetime]]]]:
    """Per case, the parsed messages and their instants (timers are built from real wake_ats
    here, outside the timed loop)."""
    prepared = []
    for n in range(cases):
        now = START + timedelta(minutes=n % 600)
        intake = ComplaintSubmitted.model_validate(
            {
                "event_id": f"in-{n}",
                "occurred_at": now,
                "payload": {
                    "channel": "web",
                    "channel_message_id": f"web-{n}",
                    "received_at": now,
                    "reporter": {"name": "Warga", "confidentiality": "public"},
                    "subject": "Jalan rusak",
                    "text": "Jalan rusak di depan puskesmas",
                    "category": "penundaan_berlarut",
                },
            }
        )
        case, _ = wf.handle(None, intake, now)
        assert case is not None
        msgs: list[tuple[Message, datetime]] = [(intake, now)]
        kind = n % 4
        if kind == 3:  # a silent agency: the timer fires warnings, breach, escalations
            for name, payload in _FLOWS[0][:3]:
                now += timedelta(minutes=30)
                cmd: Message = COMMAND_TYPES[name].model_validate(
                    {
                        "event_id": f"c-{n}-{len(msgs)}",
                        "occurred_at": now,
                        "case_id": intake.derived_case_id,
                        "payload": payload,
                    }
                )
                msgs.append((cmd, now))
                case, _ = wf.handle(case, cmd, now)
            for _ in range(TIMERS_PER_SILENT_CASE):
                assert case is not None
                assert case.wake_at is not None
                now = case.wake_at
                timer = wf.timer_message(case, now)
                msgs.append((timer, now))
                case, _ = wf.handle(case, timer, now)
        else:
            for name, payload in _FLOWS[kind]:
                now += timedelta(hours=2)
                cmd = COMMAND_TYPES[name].model_validate(
                    {
                        "event_id": f"c-{n}-{len(msgs)}",
                        "occurred_at": now,
                        "case_id": case.case_id,
                        "payload": payload,
                    }
                )
                msgs.append((cmd, now))
            msgs.append((msgs[-1][0], msgs[-1][1]))  # a redelivered duplicate
        prepared.append((intake.derived_case_id, msgs))
    return prepared


def run(wf: Workflow, prepared: list[tuple[str, list[tuple[Message, datetime]]]]) -> float:
    """Messages per second for one pass over ``prepared``."""
    handle = wf.handle
    count = 0
    start = time.perf_counter()
    for _, msgs in prepared:
        case = None
        for message, now in msgs:
            case, _ = handle(case, message, now)
        count += len(msgs)
    return count / (time.perf_counter() - start)


def per_type(wf: Workflow, prepared: list[tuple[str, list[tuple[Message, datetime]]]]) -> str:
    """Mean microseconds of decide+evolve per message type (one pass, timed per message)."""
    spent: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    clock = time.perf_counter
    for _, msgs in prepared:
        case = None
        for message, now in msgs:
            start = clock()
            case, _ = wf.handle(case, message, now)
            kind = message.type
            spent[kind] += clock() - start
            count[kind] += 1
    rows = sorted(spent, key=lambda k: -spent[k] / count[k])
    return "\n".join(
        f"  {k:<30} {count[k]:>7} msgs {spent[k] / count[k] * 1e6:8.1f} us" for k in rows
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-type", action="store_true", help="also print us per message type")
    args = parser.parse_args()
    wf = Workflow(load_policy(), reporter_key=b"bench-key")
    prepared = prepare(wf, args.cases)
    total = sum(len(m) for _, m in prepared)
    run(wf, prepared[:200])  # warm the calendars' caches
    rates = [run(wf, prepared) for _ in range(args.runs)]
    print(
        f"decide+evolve: {total} messages over {args.cases} cases, {args.runs} runs: "
        f"median {statistics.median(rates):,.0f} msgs/s "
        f"(min {min(rates):,.0f}, max {max(rates):,.0f}) on one core"
    )
    if args.per_type:
        print(per_type(wf, prepared))


if __name__ == "__main__":
    main()
