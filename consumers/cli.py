"""``aduan``: the operators' command line.

Errors are one readable line on stderr and a non-zero exit; nothing prints a traceback at an
operator. Settings come from the same places as the worker's (``ADUAN_*`` environment variables and
``ADUAN_CONFIG``), so ``aduan clock advance 3d`` talks to the same broker and prefix as the worker.
"""

from __future__ import annotations

import json
import re
import sys
from collections import deque
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from consumers.topic_reading import read_until_end

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="aduan: event-driven case workflow engine for public-service complaints.",
    pretty_exceptions_enable=False,
)
clock_app = typer.Typer(no_args_is_help=True, help="The simulated clock of tests and demos.")
schema_app = typer.Typer(no_args_is_help=True, help="JSON Schemas of every message.")
case_app = typer.Typer(no_args_is_help=True, help="Look at one case on the broker.")
events_app = typer.Typer(no_args_is_help=True, help="The audit trail on cases.events.")
app.add_typer(clock_app, name="clock")
app.add_typer(schema_app, name="schema")
app.add_typer(case_app, name="case")
app.add_typer(events_app, name="events")


class CliError(Exception):
    """An error to show as one line."""


def _one_line(exc: ValidationError, root: str = "") -> str:
    """The first problem of a validation error (settings may be secrets: never their value)."""
    from workflow.validation import describe_validation_error

    return describe_validation_error(exc, root=root, first_only=True)


def _settings(**overrides: Any) -> Any:
    from consumers.settings import EngineSettings

    try:
        return EngineSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise CliError(f"setting {_one_line(exc)}") from None


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
    from consumers.engine.app import Engine

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
    from consumers.engine.clock import ClockControl

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
    from workflow.schemas import export_json_schemas

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
    from workflow.codec import InvalidMessage, parse_intake

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


# -- reading the engine's topics -------------------------------------------------------------


def _reader(
    settings: Any, topic: str, partitions: list[int] | None = None
) -> tuple[Any, dict[Any, int]]:
    """A read_committed consumer assigned to ``topic`` from the beginning, and its end offsets."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            request_timeout_ms=15_000,
        )
    except KafkaError as exc:
        raise CliError(
            f"cannot reach Kafka at {','.join(settings.kafka_bootstrap)}: {exc}"
        ) from None
    known = consumer.partitions_for_topic(topic)
    if not known:
        consumer.close()
        raise CliError(f"topic {topic} does not exist (run 'aduan topics')")
    chosen = sorted(known) if partitions is None else partitions
    tps = [TopicPartition(topic, p) for p in chosen]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    return consumer, consumer.end_offsets(tps)


def _partition_of(case_id: str, topic: str, consumer: Any) -> int:
    from consumers.topics import partition_for

    return partition_for(case_id.encode(), max(len(consumer.partitions_for_topic(topic) or ()), 1))


def _case_records(case_id: str, logical: str) -> list[Any]:
    s = _settings()
    topic = s.topic(logical)
    probe, _ = _reader(s, topic)
    partition = _partition_of(case_id, topic, probe)
    probe.close()
    consumer, ends = _reader(s, topic, [partition])
    try:
        return [r for r in read_until_end(consumer, ends) if r.key == case_id.encode()]
    finally:
        consumer.close()


@case_app.command("show")
def case_show(
    case_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print the snapshot as JSON.")] = False,
) -> None:
    """The latest snapshot of a case (from the compacted cases.state)."""
    from rich.console import Console
    from rich.table import Table

    from workflow.case import Case

    case_id = case_id.strip().upper()
    records = [r for r in _case_records(case_id, "cases.state") if r.value is not None]
    if not records:
        raise CliError(f"no case {case_id} on cases.state")
    case = Case.model_validate_json(records[-1].value)
    if as_json:
        typer.echo(case.model_dump_json(indent=2))
        return
    table = Table(title=f"case {case.case_id}", show_header=False)
    for name, value in (
        ("state", case.state.value),
        ("agency", case.agency or f"(triage: {case.triage_agency})"),
        ("escalation level", str(case.escalation_level)),
        ("channel", case.channel.value),
        ("subject", case.subject),
        ("reporter", case.reporter.confidentiality.value),
        ("opened at", case.opened_at.isoformat()),
        ("next timer", case.wake_at.isoformat() if case.wake_at else "-"),
        ("version", str(case.version)),
    ):
        table.add_row(name, value)
    Console().print(table)


@case_app.command("history")
def case_history(case_id: str) -> None:
    """Every event of a case, in order (from cases.events)."""
    from rich.console import Console
    from rich.table import Table

    case_id = case_id.strip().upper()
    records = _case_records(case_id, "cases.events")
    if not records:
        raise CliError(f"no events for {case_id} on cases.events")
    table = Table(title=f"history of {case_id}")
    for column in ("#", "at", "event", "detail"):
        table.add_column(column)
    for i, record in enumerate(records, 1):
        event = json.loads(record.value)
        payload = event.get("payload") or {}
        detail = ", ".join(
            f"{k}={payload[k]}"
            for k in ("agency", "level", "stage", "reason", "reason_code", "detail")
            if payload.get(k) is not None
        )
        table.add_row(str(i), event.get("occurred_at", ""), event.get("type", "?"), detail)
    Console().print(table)


@events_app.command("tail")
def events_tail(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep waiting for new events.")
    ] = False,
    last: Annotated[int, typer.Option("--last", "-n", help="Show the last N events first.")] = 20,
    case_id: Annotated[str | None, typer.Option("--case", help="Only this case.")] = None,
) -> None:
    """Print events from cases.events (one JSON line each)."""
    s = _settings()
    consumer, ends = _reader(s, s.topic("cases.events"))
    wanted = case_id.strip().upper().encode() if case_id else None
    try:
        # Only the last N are kept while reading the backlog: the topic may be large.
        backlog: deque[Any] = deque(maxlen=max(last, 0))
        backlog.extend(r for r in read_until_end(consumer, ends) if wanted in (None, r.key))
        for record in backlog:
            typer.echo(record.value.decode(errors="replace"))
        while follow:
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    if wanted is None or record.key == wanted:
                        typer.echo(record.value.decode(errors="replace"))
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


@app.command()
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

    s = _settings()
    workflow = Workflow(load_policy(s.policy_file))
    consumer, ends = _reader(s, s.topic("cases.events"))
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
        consumer, ends = _reader(s, s.topic("cases.state"))
        stored: dict[str, Case] = {}
        try:
            for record in read_until_end(consumer, ends):
                if record.value is not None:
                    case = Case.model_validate_json(record.value)
                    stored[case.case_id] = case
        finally:
            consumer.close()
        mismatches = [k for k in stored if rebuilt.get(k) != stored[k]]
        console.print(f"{len(stored)} snapshots compared, {len(mismatches)} mismatches")
        if mismatches:
            raise CliError(f"replay differs from cases.state for {', '.join(mismatches[:5])}")


@app.command()
def gateway(
    host: Annotated[str | None, typer.Option(help="Bind address (ADUAN_GATEWAY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (ADUAN_GATEWAY_PORT).")] = None,
    smtp_port: Annotated[
        int | None, typer.Option(help="Also listen for SMTP here (ADUAN_GATEWAY_SMTP_PORT).")
    ] = None,
) -> None:
    """Run the HTTP intake gateway (channels, case lookup, Open311) until Ctrl-C."""
    import uvicorn

    from consumers.gateway.app import create_app
    from consumers.gateway.security import SecurityFileError
    from consumers.gateway.settings import GatewaySettings

    overrides: dict[str, Any] = {
        "gateway_host": host,
        "gateway_port": port,
        "gateway_smtp_port": smtp_port,
    }
    try:
        settings = GatewaySettings(**{k: v for k, v in overrides.items() if v is not None})
        application = create_app(settings)
    except ValidationError as exc:
        raise CliError(f"setting {_one_line(exc)}") from None
    except SecurityFileError as exc:
        raise CliError(str(exc)) from None
    typer.echo(
        f"aduan gateway: http://{settings.gateway_host}:{settings.gateway_port}/docs on "
        f"{','.join(settings.kafka_bootstrap)} (prefix {settings.topic_prefix or '-'})"
    )
    uvicorn.run(
        application, host=settings.gateway_host, port=settings.gateway_port, log_level="info"
    )


@app.command()
def notifier(
    directory: Annotated[
        Path | None, typer.Option(help="Officer directory YAML (ADUAN_NOTIFIER_DIRECTORY).")
    ] = None,
    check: Annotated[bool, typer.Option(help="Only check the directory, then exit.")] = False,
    metrics_port: Annotated[
        int,
        typer.Option(
            envvar="ADUAN_NOTIFIER_METRICS_PORT", help="Serve /metrics on 127.0.0.1 here (0 = off)."
        ),
    ] = 6068,
) -> None:
    """Run the notifier (SLA warnings, escalations, reminders to officers) until Ctrl-C."""
    from consumers.notifier.runner import NotifierStartError, serve

    try:
        serve(directory, check, metrics_port, typer.echo)
    except NotifierStartError as exc:
        raise CliError(str(exc)) from None


@app.command("smtp-sink")
def smtp_sink(
    port: Annotated[int, typer.Option(help="SMTP port on 127.0.0.1.")] = 2525,
    maildir: Annotated[Path, typer.Option(help="Where copies are kept.")] = Path("var/smtp-sink"),
) -> None:
    """A local SMTP sink that prints and keeps every message (for make run's notifier)."""
    from consumers.notifier.sink import main as sink_main

    raise typer.Exit(sink_main(["--port", str(port), "--maildir", str(maildir)]))


@app.command("run")
def run_all(
    gateway_port: Annotated[int, typer.Option(help="Gateway HTTP port.")] = 8080,
) -> None:
    """The main job: engine worker, HTTP gateway, notifier and a local SMTP sink, until Ctrl-C."""
    from consumers.supervisor import Service, cli, run

    s = _settings()
    services = [
        Service(
            "worker",
            cli("worker"),
            f"engine on {','.join(s.kafka_bootstrap)}, http://{s.web_host}:{s.web_port}/stats/",
        ),
        Service(
            "gateway",
            cli("gateway", "--port", str(gateway_port)),
            f"http://127.0.0.1:{gateway_port}/docs (channels, case lookup, Open311); "
            "DEVELOPMENT MODE: without ADUAN_GATEWAY_SECURITY_FILE it accepts the publicly "
            "known dev credentials (never expose it)",
            env={"ADUAN_GATEWAY_DEV_MODE": "true"},
        ),
        Service(
            "smtp-sink",
            cli("smtp-sink", "--port", "2525", "--maildir", "var/smtp-sink"),
            "SMTP sink on 127.0.0.1:2525 (local stand-in for a mail server; copies in "
            "var/smtp-sink/)",
        ),
        Service(
            "notifier",
            cli("notifier"),
            "escalation alerts from cases.events -> officers (deploy/notifier/officers.yaml)",
        ),
    ]
    raise typer.Exit(run(services))


@app.command()
def demo(
    prefix: Annotated[str, typer.Option(help="Topic prefix of the demo deployment.")] = "demo",
    web_port: Annotated[int, typer.Option(help="HTTP port of the demo worker.")] = 6076,
) -> None:
    """One complaint through every stage on a simulated clock (starts its own worker)."""
    from consumers.demo import run_with_own_worker

    try:
        run_with_own_worker(_settings(topic_prefix=prefix, web_port=web_port, clock="simulated"))
    except (RuntimeError, TimeoutError) as exc:
        raise CliError(str(exc)) from None


@app.command()
def keygen() -> None:
    """Print a new random API key or operator token and the hash for the security file."""
    from consumers.gateway.security import hash_secret, new_secret

    secret = new_secret()
    typer.echo(f"secret: {secret}")
    typer.echo(f"sha256: {hash_secret(secret).removeprefix('sha256:')}")


def main() -> None:
    from kafka.errors import KafkaError

    try:
        app()
    except CliError as exc:
        typer.echo(f"aduan: {exc}", err=True)
        sys.exit(1)
    except ValidationError as exc:
        typer.echo(f"aduan: {_one_line(exc, root=exc.title)}", err=True)
        sys.exit(1)
    except (KafkaError, OSError) as exc:
        # Broker unreachable, timeouts, unwritable paths: one line, not a traceback.
        typer.echo(f"aduan: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
