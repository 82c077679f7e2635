"""What the notifier writes: receipts (``notifications.receipts``), dead letters (``deadletter``).

Every write is awaited (``acks=all``) before the next delivery, so a receipt is durable before the
notifier moves on; a receipt written here is also applied to the in-memory `ReceiptStore` at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consumers.deadletter import DEADLETTERED_BY, SourceRecord, deadletter_headers
from consumers.notifier.clients import NotifierClients
from consumers.notifier.receipts import ReceiptStore, encode_receipt
from consumers.notifier.settings import NotifierTopics

__all__ = ["Outbox", "RecordSource"]


@dataclass(frozen=True)
class RecordSource:
    """Where a record was read from, remembered after the record itself is gone."""

    topic: str
    partition: int
    offset: int


class Outbox:
    """Writes through ``clients.producer`` (looked up per write: the clients start later)."""

    def __init__(self, clients: NotifierClients, topics: NotifierTopics, store: ReceiptStore):
        self.clients = clients
        self.topics = topics
        self.store = store

    async def write_receipt(self, value: dict[str, Any]) -> None:
        key, raw = encode_receipt(value)
        await self.clients.producer.send_and_wait(self.topics.receipts, key=key, value=raw)
        self.store.apply(raw)

    async def deadletter_record(self, record: Any, reason: str, detail: str) -> None:
        """Dead-letter a consumed record: its own key and bytes, its source in headers."""
        await self.deadletter(record.key, record.value, reason, detail, source=record)

    async def deadletter_at(
        self,
        key: bytes | None,
        value: bytes | None,
        reason: str,
        detail: str,
        source: tuple[str, int, int] | None,
    ) -> None:
        """Dead-letter ``value`` read from ``source`` (topic, partition, offset), if known."""
        where = RecordSource(*source) if source is not None else None
        await self.deadletter(key, value, reason, detail, source=where)

    async def deadletter(
        self,
        key: bytes | None,
        value: bytes | None,
        reason: str,
        detail: str,
        source: SourceRecord | None = None,
    ) -> None:
        """Dead-letter ``value``; ``source`` is the record it was read from (None if built here)."""
        headers = [*deadletter_headers(reason, detail, source), (DEADLETTERED_BY, b"notifier")]
        await self.clients.producer.send_and_wait(
            self.topics.deadletter, key=key, value=value, headers=headers
        )
