"""Looking at cases on the broker: submit one, show one, its history, the audit trail."""

from __future__ import annotations

import json
import sys
from collections import deque
from pathlib import Path
from typing import Annotated, Any

import typer

from consumers.cli.common import CliError, load_settings, make_producer, make_reader, one_line
from consumers.topic_reading import read_until_end

case_app = typer.Typer(no_args_is_help=True, help="Look at one case on the broker.")
events_app = typer.Typer(no_args_is_help=True, help="The audit trail on cases.events.")


def register(app: typer.Typer) -> None:
    app.command()(submit)
    app.add_typer(case_app, name="case")
    app.add_typer(events_app, name="events")


def submit(
    file: Annotated[
        Path, typer.Argument(help="A ComplaintSubmitted message as JSON ('-' = stdin).")
    ],
) -> None:
    """Validate a complaint and publish it to complaints.intake; prints the tracking number."""
    from workflow.codec import InvalidMessage, encode, parse_intake
    from workflow.intake import with_tracking_number

    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {file}: {exc.strerror}") from None
    try:
        complaint = parse_intake(raw)
    except InvalidMessage as exc:
        raise CliError(f"invalid complaint: {exc}") from None
    s = load_settings()
    if complaint.case_id is None:  # numbered as the gateway numbers it (one key, one function)
        complaint = with_tracking_number(complaint, _tracking_secret())
        raw = encode(complaint)
    producer = make_producer(s)
    try:
        key = complaint.derived_case_id.encode()
        producer.send(s.topic("complaints.intake"), key=key, value=raw).get(timeout=10)
    finally:
        producer.close()
    typer.echo(complaint.derived_case_id)


def _tracking_secret() -> bytes:
    """The gateway's tracking-number key (ADUAN_GATEWAY_TRACKING_SECRET, dev default in dev
    mode); a one-line error without one outside dev mode."""
    from pydantic import ValidationError

    from consumers.gateway.security import SecurityFileError
    from consumers.gateway.settings import GatewaySettings, tracking_secret

    try:
        return tracking_secret(GatewaySettings())
    except ValidationError as exc:
        raise CliError(f"setting {one_line(exc)}") from None
    except SecurityFileError as exc:
        raise CliError(str(exc)) from None


def _partition_of(case_id: str, topic: str, consumer: Any) -> int:
    from consumers.topics import partition_for

    return partition_for(case_id.encode(), max(len(consumer.partitions_for_topic(topic) or ()), 1))


def _case_records(case_id: str, logical: str) -> list[Any]:
    s = load_settings()
    topic = s.topic(logical)
    probe, _ = make_reader(s, topic)
    partition = _partition_of(case_id, topic, probe)
    probe.close()
    consumer, ends = make_reader(s, topic, [partition])
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
        ("escalation level", _escalation_text(case)),
        ("channel", case.channel.value),
        ("subject", case.subject),
        ("reporter", case.reporter.confidentiality.value),
        ("opened at", case.opened_at.isoformat()),
        ("next timer", case.wake_at.isoformat() if case.wake_at else "-"),
        ("version", str(case.version)),
    ):
        table.add_row(name, value)
    Console().print(table)


def _escalation_text(case: Any) -> str:
    """The current agency's level, then every earlier agency's highest: "1 (PUPR); earlier:
    SETDA-TRIASE 3"."""
    from workflow.escalation_state import escalation_agency

    text = f"{case.escalation_level} ({escalation_agency(case)})"
    earlier = ", ".join(f"{r.agency} {r.level}" for r in case.escalation_history)
    return f"{text}; earlier: {earlier}" if earlier else text


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
    s = load_settings()
    consumer, ends = make_reader(s, s.topic("cases.events"))
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
