"""``aduan whatif``: the recorded history under another policy (never writes to Kafka)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from consumers.cli.common import CliError, load_settings, make_reader
from consumers.topic_reading import read_until_end


def register(app: typer.Typer) -> None:
    app.command()(whatif)


def whatif(
    policy: Annotated[Path, typer.Option(help="The alternative policy (YAML).")],
    from_: Annotated[
        str | None, typer.Option("--from", help="Only cases received on or after (YYYY-MM-DD).")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Only cases received on or before (YYYY-MM-DD).")
    ] = None,
    events_file: Annotated[
        Path | None,
        typer.Option(help="Read the history from this file (one event per line), not Kafka."),
    ] = None,
    changed: Annotated[int, typer.Option(help="List at most this many changed cases.")] = 20,
) -> None:
    """Replay cases.events under another policy: compliance and zone per agency, now vs then."""
    from rich.console import Console
    from rich.progress import Progress

    from consumers import whatif as replay
    from workflow.core import Workflow
    from workflow.policy import load_policy

    s = load_settings()
    recorded = Workflow(load_policy(s.policy_file))
    alternative = Workflow(load_policy(policy))
    console = Console()
    with Progress(console=console, transient=True) as progress:
        records = _records(s, events_file, progress)
        histories, bad = replay.load_history(records)
        task = progress.add_task("replaying under the alternative", total=len(histories) or 1)
        result = replay.compare(
            histories,
            recorded,
            alternative,
            opened_from=_day(from_, "--from"),
            opened_to=_day(to, "--to"),
            progress=lambda n: progress.advance(task, n),
        )
    console.print(_table(result, policy.name))
    console.print(f"{result.cases} cases replayed, {bad} unreadable events skipped")
    console.print(f"{len(result.changed)} cases change outcome")
    for before, after in result.changed[:changed]:
        console.print(
            f"  {before.case_id}  {before.agency} {before.outcome} -> "
            f"{after.agency} {after.outcome}"
        )


def _day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{flag} {value!r}: use YYYY-MM-DD") from None


def _records(settings: Any, events_file: Path | None, progress: Any) -> list[bytes]:
    if events_file is not None:
        try:
            return events_file.read_bytes().splitlines()
        except OSError as exc:
            raise CliError(f"{events_file}: cannot read: {exc.strerror or exc}") from None
    consumer, ends = make_reader(settings, settings.topic("cases.events"))
    task = progress.add_task("reading cases.events", total=sum(ends.values()) or 1)
    try:
        return [
            record.value
            for record in read_until_end(
                consumer, ends, on_batch=lambda n: progress.advance(task, n)
            )
            if record.value is not None
        ]
    finally:
        consumer.close()


def _table(result: Any, name: str) -> Any:
    from rich.table import Table

    table = Table(title=f"SLA compliance per agency: now vs {name}")
    for column in ("agency", "resolved", "now", "zone", "alternative", "zone "):
        table.add_column(column)
    for agency in sorted(set(result.now) | set(result.alternative)):
        now = result.now.get(agency)
        alt = result.alternative.get(agency)
        resolved = (now.within + now.late) if now is not None else 0
        table.add_row(agency, str(resolved), *_score(now), *_score(alt))
    return table


def _score(compliance: Any) -> tuple[str, str]:
    if compliance is None or compliance.score is None:
        return "-", "-"
    return f"{compliance.score:.1f}%", compliance.zone
