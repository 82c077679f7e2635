"""The side topics the notifier follows: ``notifications.receipts`` and ``cases.state``.

Read from the beginning at start, then caught up to their end offsets before each batch, so
receipts another notifier wrote before a rebalance count, and the snapshot of every event in a
batch is there (the relay commits an event and its snapshot in one transaction). The snapshots
give each case's agencies, whether it is closed, and its escalation level.
"""

from __future__ import annotations

import json
import logging

from consumers.notifier.alerts import CaseInfo
from consumers.notifier.clients import NotifierClients, partitions_of
from consumers.notifier.receipts import ReceiptStore
from consumers.notifier.settings import NotifierTopics
from consumers.topic_reading import read_until_end_async
from states.lifecycle import FINAL_STATES

log = logging.getLogger("aduan.notifier")

__all__ = ["CaseBook", "SideTopics"]

_FINAL_STATES = frozenset(state.value for state in FINAL_STATES)

CaseBook = dict[str, tuple[CaseInfo, int]]
"""Case id -> (what routing needs of the case, its escalation level), from ``cases.state``."""


def apply_snapshot(cases: CaseBook, key: bytes | None, value: bytes | None) -> None:
    if key is None:
        return
    case_id = key.decode(errors="replace")
    if value is None:
        cases.pop(case_id, None)
        return
    try:
        data = json.loads(value)
        info = CaseInfo(
            agency=data.get("agency"),
            triage_agency=data["triage_agency"],
            final=data.get("state") in _FINAL_STATES,
        )
        cases[case_id] = (info, int(data.get("escalation_level", 0)))
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring an unreadable snapshot of %s", case_id)


class SideTopics:
    """Reads through ``clients.follower`` (looked up per call: the clients start later)."""

    def __init__(
        self,
        clients: NotifierClients,
        topics: NotifierTopics,
        receipts: ReceiptStore,
        cases: CaseBook,
    ) -> None:
        self.clients = clients
        self.topics = topics
        self.receipts = receipts
        self.cases = cases
        self.loaded = False
        """Set once the receipts have been read to their end: until then the notifier does not
        know what is pending (and must not report 0)."""

    async def load(self) -> None:
        """Assign every side partition and read it from the beginning to its end."""
        side = [
            *await partitions_of(self.clients.follower, self.topics.receipts),
            *await partitions_of(self.clients.follower, self.topics.state),
        ]
        self.clients.follower.assign(side)
        await self.clients.follower.seek_to_beginning(*side)
        await self.catch_up()
        self.loaded = True

    async def catch_up(self) -> None:
        """Read receipts and snapshots up to the end offsets as of now."""
        reader = self.clients.follower
        ends = await reader.end_offsets(list(reader.assignment()))
        async for tp, records in read_until_end_async(reader, ends):
            for r in records:
                if tp.topic == self.topics.receipts:
                    self.receipts.apply(r.value)
                else:
                    apply_snapshot(self.cases, r.key, r.value)
