"""``aduan deadletter list | show | replay``: the dead letters, operable.

Every record on ``deadletter`` is named by where it sits there, ``<partition>@<offset>`` (as
``list`` prints it). ``list`` shows each one's time, reason, source and a redacted preview (no
reporter identity: see `consumers.redaction`); ``show`` one record with every header; ``replay``
re-injects its original bytes, key untouched, to the topic it came from (``aduan.source.topic``)
with the header ``aduan.replayed_from: <partition>@<offset>``. Replaying is idempotent: the bytes
carry the same message id, which the engine applies at most once.

A notifier's dead letter (header ``aduan.deadlettered_by: notifier``; before that header, an
``invalid_target`` or ``no_recipients`` one read from ``cases.events``) is not appended to
``cases.events`` again: that log is the engine's audit trail, and every reader of it would see
the event twice. ``replay`` writes a *replay* request on ``notifications.receipts``
(`consumers.notifier.pending.replay_record`), which the notifier owning the case handles once:
it retries only the targets that were dead-lettered, and a second request for the same dead
letter is ignored.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from consumers.cli.common import CliError, load_settings, make_producer, make_reader
from consumers.deadletter import DEADLETTERED_BY, REPLAYED_FROM
from consumers.redaction import mask_text, preview, redact

deadletter_app = typer.Typer(help="The dead letters: list, show one, replay one to its source.")


def register(app: typer.Typer) -> None:
    app.add_typer(deadletter_app, name="deadletter")


def _headers(record: Any) -> dict[str, str]:
    return {k: (v or b"").decode("utf-8", "replace") for k, v in record.headers or ()}


def _ref(record: Any) -> str:
    return f"{record.partition}@{record.offset}"


def _source(headers: dict[str, str]) -> str:
    topic = headers.get("aduan.source.topic")
    if topic is None:
        return "-"
    return f"{topic}[{headers.get('aduan.source.partition')}]@{headers.get('aduan.source.offset')}"


def _parse_ref(ref: str) -> tuple[int, int]:
    partition, at, offset = ref.partition("@")
    if not at or not partition.isdigit() or not offset.isdigit():
        raise CliError(f"'{ref}' is not a dead letter reference: use <partition>@<offset>")
    return int(partition), int(offset)


def _all_records() -> list[Any]:
    from consumers.topic_reading import read_until_end

    settings = load_settings()
    consumer, ends = make_reader(settings, settings.topic("deadletter"))
    try:
        return list(read_until_end(consumer, ends))
    finally:
        consumer.close()


def _one(ref: str) -> Any:
    from kafka import TopicPartition

    partition, offset = _parse_ref(ref)
    settings = load_settings()
    topic = settings.topic("deadletter")
    consumer, ends = make_reader(settings, topic)
    try:
        tp = TopicPartition(topic, partition)
        if tp not in ends or not 0 <= offset < ends[tp]:
            raise CliError(f"no dead letter at {ref} on {topic}")
        consumer.assign([tp])
        consumer.seek(tp, offset)
        while consumer.position(tp) < ends[tp]:
            for record in consumer.poll(timeout_ms=1000).get(tp, []):
                if record.offset == offset:
                    return record
                if record.offset > offset:
                    break
        raise CliError(f"no dead letter at {ref} on {topic} (compacted or aborted)")
    finally:
        consumer.close()


@deadletter_app.command("list")
def list_deadletters(
    reason: Annotated[str | None, typer.Option(help="Only this reason.")] = None,
    last: Annotated[int, typer.Option(help="Only the last N (0 = all).")] = 50,
) -> None:
    """One line per dead letter: ref, time, reason, source, redacted preview."""
    records = [r for r in _all_records() if reason in (None, _headers(r).get("aduan.error.reason"))]
    records.sort(key=lambda r: r.timestamp)
    shown = records[-last:] if last > 0 else records
    for record in shown:
        h = _headers(record)
        typer.echo(
            f"{_ref(record):>9}  {h.get('aduan.deadlettered_at', '-')[:19]}  "
            f"{h.get('aduan.error.reason', '-'):<20}  {_source(h)}  {preview(record.value, 100)}"
        )
    typer.echo(f"{len(shown)} of {len(records)} dead letters" + (f" ({reason})" if reason else ""))


@deadletter_app.command("show")
def show_deadletter(ref: Annotated[str, typer.Argument(help="<partition>@<offset>")]) -> None:
    """Every header of one dead letter and its value, redacted."""
    record = _one(ref)
    typer.echo(f"dead letter {_ref(record)}")
    typer.echo(f"  key: {mask_text((record.key or b'-').decode('utf-8', 'replace'))}")
    for name, value in _headers(record).items():
        typer.echo(f"  {name}: {mask_text(value)}")
    typer.echo(f"  value ({len(record.value or b'')} bytes, redacted):")
    try:
        body = json.dumps(redact(json.loads(record.value or b"")), indent=2, ensure_ascii=False)
    except ValueError:
        body = preview(record.value, 2000)
    typer.echo("\n".join(f"    {line}" for line in body.splitlines()))


_NOTIFIER_REASONS = ("invalid_target", "no_recipients")


def _notifiers(headers: dict[str, str], settings: Any) -> bool:
    """Whether the notifier set this dead letter aside (the header; else, for one written before
    it, an alert's reason on the engine's event log, which only the notifier dead-letters so)."""
    if DEADLETTERED_BY in headers:
        return headers[DEADLETTERED_BY] == "notifier"
    return (
        headers.get("aduan.source.topic") == settings.topic("cases.events")
        and headers.get("aduan.error.reason") in _NOTIFIER_REASONS
    )


def _ask_the_notifier(record: Any, headers: dict[str, str], settings: Any) -> Any:
    """Write the replay request for a notifier's dead letter; returns the record metadata."""
    from datetime import UTC, datetime

    from consumers.notifier.pending import ReplayRequest, replay_record
    from consumers.notifier.receipts import encode_receipt

    source = (
        headers["aduan.source.topic"],
        int(headers.get("aduan.source.partition") or -1),
        int(headers.get("aduan.source.offset") or -1),
    )
    request = ReplayRequest(_ref(record), record.key, record.value, source)
    key, value = encode_receipt(replay_record(request, datetime.now(UTC)))
    producer = make_producer(settings)
    try:
        return producer.send(settings.topic("notifications.receipts"), key=key, value=value).get(
            timeout=30
        )
    finally:
        producer.close(timeout=10)


@deadletter_app.command("replay")
def replay_deadletter(
    ref: Annotated[str, typer.Argument(help="<partition>@<offset>")],
) -> None:
    """Re-inject one dead letter's original bytes to its source topic (after a fix); a
    notifier's dead letter becomes a replay request to the notifier."""
    record = _one(ref)
    headers = _headers(record)
    source = headers.get("aduan.source.topic")
    if not source:
        raise CliError(
            f"dead letter {ref} has no source topic (built by the notifier): nothing to replay"
        )
    if record.value is None:
        raise CliError(f"dead letter {ref} has no value: nothing to replay")
    settings = load_settings()
    if _notifiers(headers, settings):
        sent = _ask_the_notifier(record, headers, settings)
        typer.echo(
            f"aduan deadletter: replay of {ref} ({headers.get('aduan.error.reason', '-')}) "
            f"requested from the notifier on {sent.topic}[{sent.partition}]@{sent.offset} "
            f"({source} is left as it is)"
        )
        return
    producer = make_producer(settings)
    try:
        sent = producer.send(
            source,
            key=record.key,
            value=record.value,
            headers=[(REPLAYED_FROM, _ref(record).encode())],
        ).get(timeout=30)
    finally:
        producer.close(timeout=10)
    typer.echo(
        f"aduan deadletter: replayed {ref} ({headers.get('aduan.error.reason', '-')}) to "
        f"{source}[{sent.partition}]@{sent.offset}"
    )
