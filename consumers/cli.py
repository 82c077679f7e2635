"""``aduan``: the operators' command line.

Errors are one readable line on stderr and a non-zero exit; nothing prints a traceback at an
operator. Settings come from the same places as the worker's (``ADUAN_*`` environment variables and
``ADUAN_CONFIG``), so ``aduan clock advance 3d`` talks to the same broker and prefix as the worker.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="aduan: event-driven case workflow engine for public-service complaints.",
    pretty_exceptions_enable=False,
)
clock_app = typer.Typer(no_args_is_help=True, help="The simulated clock of tests and demos.")
schema_app = typer.Typer(no_args_is_help=True, help="JSON Schemas of every message.")
app.add_typer(clock_app, name="clock")
app.add_typer(schema_app, name="schema")


class CliError(Exception):
    """An error to show as one line."""


def _settings(**overrides: Any) -> Any:
    from consumers.settings import EngineSettings

    try:
        return EngineSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise CliError(f"setting {where}: {first['msg']}") from None


def _producer(settings: Any) -> Any:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    try:
        return KafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap,
            acks="all",
            max_block_ms=10_000,
            request_timeout_ms=10_000,
        )
    except KafkaError as exc:
        raise CliError(
            f"cannot reach Kafka at {','.join(settings.kafka_bootstrap)}: {exc}"
        ) from None


@app.command()
def worker(
    web_port: Annotated[int | None, typer.Option(help="HTTP port of this worker.")] = None,
    clock: Annotated[str | None, typer.Option(help="'system' or 'simulated'.")] = None,
) -> None:
    """Run an engine worker (case agent, SLA timer, event relay) until Ctrl-C."""
    from consumers.app import Engine

    engine = Engine(_settings(web_port=web_port, clock=clock))
    s = engine.settings
    typer.echo(
        f"aduan worker: app {s.full_app_id} on {','.join(s.kafka_bootstrap)}, "
        f"http://{s.web_host}:{s.web_port}/clock/, clock {s.clock}, store {s.store}"
    )
    engine.run_worker()


@app.command()
def topics(
    strict: Annotated[bool, typer.Option(help="Exit 2 when a topic has drifted.")] = False,
) -> None:
    """Create the missing topics and report those whose settings differ."""
    from consumers import topics as topic_admin

    s = _settings()
    argv = [
        "--bootstrap",
        ",".join(s.kafka_bootstrap),
        "--prefix",
        s.topic_prefix,
        "--partitions",
        str(s.topic_partitions),
    ]
    if strict:
        argv.append("--strict")
    raise typer.Exit(topic_admin.main(argv))


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '4h', '3d', '2w' -> timedelta."""
    match = _DURATION.match(text.strip())
    if not match:
        raise CliError(f"duration {text!r}: use a number and one of s, m, h, d, w (e.g. 3d)")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def _publish_clock(settings: Any, instant: datetime) -> None:
    from consumers.clock import ClockControl

    producer = _producer(settings)
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
    _publish_clock(_settings(), when)
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
    _publish_clock(_settings(), target)
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


@schema_app.command("export")
def schema_export(
    out: Annotated[Path, typer.Option(help="Folder to write one <Type>.schema.json per message.")],
) -> None:
    """Write the JSON Schema of every message, for channels written in other languages."""
    from workflow.messages import export_json_schemas

    out.mkdir(parents=True, exist_ok=True)
    schemas = export_json_schemas()
    for name, schema in sorted(schemas.items()):
        (out / f"{name}.schema.json").write_text(json.dumps(schema, indent=2, ensure_ascii=False))
    typer.echo(f"{len(schemas)} schemas written to {out}")


@app.command()
def diagram(
    fmt: Annotated[str, typer.Option("--format", help="mermaid or dot.")] = "mermaid",
) -> None:
    """Print the complaint lifecycle diagram, generated from the state machine."""
    from states import diagram as lifecycle_diagram

    if fmt == "mermaid":
        typer.echo(lifecycle_diagram.mermaid())
    elif fmt == "dot":
        typer.echo(lifecycle_diagram.dot())
    else:
        raise CliError(f"format {fmt!r}: use mermaid or dot")


@app.command()
def submit(
    file: Annotated[
        Path, typer.Argument(help="A ComplaintSubmitted message as JSON ('-' = stdin).")
    ],
) -> None:
    """Validate a complaint and publish it to complaints.intake; prints the tracking number."""
    from workflow.messages import InvalidMessage, parse_intake

    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc.strerror}") from None
    try:
        complaint = parse_intake(raw)
    except InvalidMessage as exc:
        raise CliError(f"invalid complaint: {exc}") from None
    s = _settings()
    producer = _producer(s)
    try:
        key = complaint.derived_case_id.encode()
        producer.send(s.topic("complaints.intake"), key=key, value=raw).get(timeout=10)
    finally:
        producer.close()
    typer.echo(complaint.derived_case_id)


def main() -> None:
    try:
        app()
    except CliError as exc:
        typer.echo(f"aduan: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
