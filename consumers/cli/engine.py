"""The engine's commands: worker, topics, replay and the simulated clock."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from consumers.cli.common import CliError, load_settings, make_producer, make_reader
from consumers.topic_reading import read_until_end

clock_app = typer.Typer(no_args_is_help=True, help="The simulated clock of tests and demos.")


def register(app: typer.Typer) -> None:
    app.command()(worker)
    app.command()(topics)
    app.command()(replay)
    app.add_typer(clock_app, name="clock")


def worker(
    web_port: Annotated[int | None, typer.Option(help="HTTP port of this worker.")] = None,
    clock: Annotated[str | None, typer.Option(help="'system' or 'simulated'.")] = None,
) -> None:
    """Run an engine worker (case agent, SLA timer, event relay) until Ctrl-C."""
    from consumers.engine.app import Engine

    engine = Engine(load_settings(web_port=web_port, clock=clock))
    s = engine.settings
    typer.echo(
        f"aduan worker: app {s.full_app_id} on {','.join(s.kafka_bootstrap)}, "
        f"http://{s.web_host}:{s.web_port}/clock/, clock {s.clock}, store {s.store}"
    )
    engine.run_worker()


def topics(
    strict: Annotated[bool, typer.Option(help="Exit 2 when a topic has drifted.")] = False,
) -> None:
    """Create the missing topics and report those whose settings differ."""
    from consumers import topics as topic_admin

    s = load_settings()
    argv = [
        "--bootstrap",
        ",".join(s.kafka_bootstrap),
        "--prefix",
        s.topic_prefix,
        "--partitions",
        str(s.topic_partitions),
        "--app-id",
        s.app_id,
        "--replication",
        str(s.topic_replication),
    ]
    if strict:
        argv.append("--strict")
    try:
        code = topic_admin.main(argv)
    except RuntimeError as exc:  # a topic the broker would not create
        raise CliError(str(exc)) from None
    raise typer.Exit(code)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '4h', '3d', '2w' -> timedelta."""
    match = _DURATION.match(text.strip())
    if not match:
        raise CliError(f"duration {text!r}: use a number and one of s, m, h, d, w (e.g. 3d)")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def _publish_clock(settings: Any, instant: datetime) -> None:
    from consumers.engine.clock import ClockControl

    producer = make_producer(settings)
    try:
        body = ClockControl(now=instant).model_dump_json().encode()
        producer.send(settings.clock_topic, value=body, partition=0).get(timeout=10)
    finally:
        producer.close()


@clock_app.command("set")
def clock_set(instant: str) -> None:
    """Set the simulated time (ISO 8601 with offset, e.g. 2026-12-01T09:00:00+09:00)."""
    try:
        when = datetime.fromisoformat(instant)
    except ValueError:
        raise CliError(f"instant {instant!r}: not an ISO 8601 date-time") from None
    if when.tzinfo is None:
        raise CliError(f"instant {instant!r}: needs an offset such as +09:00 (WIT)")
    _publish_clock(load_settings(), when)
    typer.echo(f"simulated clock set to {when.isoformat()}")


@clock_app.command("advance")
def clock_advance(
    duration: str,
    worker_url: Annotated[
        str, typer.Option(help="A worker whose clock is the starting point.")
    ] = "http://127.0.0.1:6066",
) -> None:
    """Move the simulated time forward by DURATION (e.g. 3d) from a worker's current time."""
    delta = parse_duration(duration)
    current = _worker_clock(worker_url)
    target = current + delta
    _publish_clock(load_settings(), target)
    typer.echo(f"simulated clock advanced from {current.isoformat()} to {target.isoformat()}")


def _worker_clock(worker_url: str) -> datetime:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{worker_url.rstrip('/')}/clock/", timeout=5) as answer:
            return datetime.fromisoformat(json.load(answer)["now"])
    except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
        raise CliError(f"cannot read the clock of the worker at {worker_url}: {exc}") from None


@clock_app.command("show")
def clock_show(
    worker_url: Annotated[str, typer.Option(help="The worker to ask.")] = "http://127.0.0.1:6066",
) -> None:
    """Print a worker's current time."""
    typer.echo(_worker_clock(worker_url).isoformat())


def replay(
    check: Annotated[
        bool, typer.Option(help="Compare with the snapshots on cases.state; exit 1 on mismatch.")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Write rebuilt snapshots as JSON lines.")] = None,
) -> None:
    """Rebuild every case from cases.events with the core's evolve; --check compares."""
    from collections import Counter

    from rich.console import Console
    from rich.progress import Progress

    from workflow.case import Case
    from workflow.codec import InvalidMessage, parse_event
    from workflow.core import Workflow
    from workflow.policy import load_policy

    s = load_settings()
    workflow = Workflow(load_policy(s.policy_file))
    consumer, ends = make_reader(s, s.topic("cases.events"))
    cases: dict[str, Case | None] = {}
    bad = 0
    try:
        with Progress(transient=False) as progress:
            task = progress.add_task("replaying cases.events", total=sum(ends.values()) or 1)
            for record in read_until_end(
                consumer, ends, on_batch=lambda n: progress.advance(task, n)
            ):
                try:
                    event = parse_event(record.value)
                    cases[event.case_id] = (
                        workflow.evolve(cases.get(event.case_id), event)
                        if not (
                            cases.get(event.case_id) is None and event.type == "CommandRejected"
                        )
                        else cases.get(event.case_id)
                    )
                except (InvalidMessage, ValueError):
                    bad += 1
    finally:
        consumer.close()
    rebuilt = {k: v for k, v in cases.items() if v is not None}
    console = Console()
    states = Counter(c.state.value for c in rebuilt.values())
    console.print(f"{len(rebuilt)} cases rebuilt, {bad} unreadable events")
    for state, count in sorted(states.items()):
        console.print(f"  {state:22} {count}")
    if out is not None:
        with out.open("w", encoding="utf-8") as fh:
            for case in rebuilt.values():
                fh.write(case.model_dump_json() + "\n")
    if check:
        stored = _stored_snapshots(s)
        mismatches = [k for k in stored if rebuilt.get(k) != stored[k]]
        console.print(f"{len(stored)} snapshots compared, {len(mismatches)} mismatches")
        if mismatches:
            raise CliError(f"replay differs from cases.state for {', '.join(mismatches[:5])}")


def _stored_snapshots(settings: Any) -> dict[str, Any]:
    """The latest snapshot of every case on the compacted cases.state, by case id."""
    from workflow.case import Case

    consumer, ends = make_reader(settings, settings.topic("cases.state"))
    stored: dict[str, Any] = {}
    try:
        for record in read_until_end(consumer, ends):
            if record.value is not None:
                case = Case.model_validate_json(record.value)
                stored[case.case_id] = case
    finally:
        consumer.close()
    return stored
