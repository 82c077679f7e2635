"""Replay requests (``aduan deadletter replay`` of a notifier's dead letter): `Replayer.run_due`.

A request (`consumers.notifier.pending.ReplayRequest`, read from ``notifications.receipts`` into
`consumers.notifier.receipts.ReceiptStore.replays`) carries the dead-lettered event's key and
bytes and where it was read from. The notifier owning the case's partition of ``cases.events``
hands it to `consumers.notifier.handler.AlertHandler` as a replayed record (header
``aduan.replayed_from``), which tries again only the targets that were dead-lettered (a delivered
one is never sent again), then writes the request's *replayed* record: done, also after a
restart. A crash between the two replays it once more, which the receipts make harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from consumers.deadletter import REPLAYED_FROM
from consumers.notifier.clients import Assigned
from consumers.notifier.context import NotifierContext
from consumers.notifier.handler import AlertHandler
from consumers.notifier.pending import ReplayRequest, replay_done_record
from consumers.notifier.retrier import owned_by

log = logging.getLogger("aduan.notifier")

__all__ = ["ReplayedRecord", "Replayer"]


@dataclass(frozen=True)
class ReplayedRecord:
    """A replay request as the record the handler takes (where the event was first read)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def of(cls, request: ReplayRequest) -> ReplayedRecord:
        topic, partition, offset = request.source
        headers = ((REPLAYED_FROM, request.ref.encode()),)
        return cls(topic, partition, offset, request.key, request.value, headers)


class Replayer:
    def __init__(
        self,
        context: NotifierContext,
        handler: AlertHandler,
        *,
        events: Callable[[], Assigned],
        events_topic: str,
    ) -> None:
        self.context = context
        self.handler = handler
        self.events = events
        self.events_topic = events_topic

    async def run_due(self) -> None:
        """Handle the pending requests for the cases this notifier owns, oldest first."""
        requests = list(self.context.receipts.replays.values())
        if not requests:
            return
        owned = owned_by(self.events(), self.events_topic)
        for request in requests:
            if not owned(request.owner):
                continue
            log.info("replaying dead letter %s (case %s)", request.ref, request.owner)
            await self.handler.handle(ReplayedRecord.of(request))
            done = replay_done_record(request.ref, self.context.clock())
            await self.context.outbox.write_receipt(done)
