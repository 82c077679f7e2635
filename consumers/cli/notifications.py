"""``aduan notifier pending`` and ``aduan notifier retry [--all | KEY]``: stuck deliveries.

Both read ``notifications.receipts`` from the beginning, as the notifier does at start
(`consumers.notifier.receipts.ReceiptStore`), so they need no running notifier to answer.
``retry`` writes a *retry* record on the same topic (`consumers.notifier.pending.retry_record`);
every running notifier reads it within about a second and retries the matching deliveries it owns
at once, whatever their backoff. KEY is an alert key as ``pending`` prints it, or a tracking
number (every pending delivery of that case).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from consumers.cli.common import CliError, load_settings, make_producer, make_reader
from consumers.redaction import mask_text

__all__ = ["pending", "retry"]


def _store(settings: Any) -> Any:
    from consumers.notifier.receipts import ReceiptStore
    from consumers.topic_reading import read_until_end

    store = ReceiptStore()
    consumer, ends = make_reader(settings, settings.topic("notifications.receipts"))
    try:
        for record in read_until_end(consumer, ends):
            store.apply(record.value)
    finally:
        consumer.close()
    return store


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def pending() -> None:
    """List the pending deliveries, oldest first."""
    settings = load_settings()
    entries = sorted(_store(settings).pending.values(), key=lambda e: e.since)
    now = datetime.now(UTC)
    for e in entries:
        record = e.record
        # The target id names the officer and the channel, never an address; the error may.
        typer.echo(
            f"{e.key}  case {record.get('case_id', '-')}  {record.get('kind', '-')} "
            f"L{record.get('level', 0)}  to {e.target}  attempts {e.attempts}  "
            f"age {_age(now - e.since)}  last error: {mask_text(e.last_error) or '-'}"
        )
    oldest = _age(now - entries[0].since) if entries else "-"
    typer.echo(f"{len(entries)} pending deliveries (oldest {oldest})")


def retry(key: str | None, every: bool) -> None:
    """Ask the notifiers to retry now the pending deliveries of KEY (or all of them)."""
    from consumers.notifier.pending import RETRY_ALL, RetryRequest, retry_record
    from consumers.notifier.receipts import encode_receipt

    if every == (key is not None):
        raise CliError("name one KEY (alert key or tracking number) or --all")
    settings = load_settings()
    match = RETRY_ALL if every else str(key)
    request = RetryRequest(match)
    matching = [e for e in _store(settings).pending.values() if request.matches(e)]
    if not matching:
        raise CliError(f"no pending delivery matches {match}")
    record_key, value = encode_receipt(retry_record(match, datetime.now(UTC)))
    producer = make_producer(settings)
    try:
        topic = settings.topic("notifications.receipts")
        producer.send(topic, key=record_key, value=value).get(timeout=30)
    finally:
        producer.close(timeout=10)
    typer.echo(f"aduan notifier: retry requested for {len(matching)} pending deliveries ({match})")
