"""What the alert handler, the digest runner and the retrier share, wired once by
`consumers.notifier.service`: the settings, the directory and policy, the sender and clock, the
counters, the in-memory state (receipts, case snapshots) and the outbox. How a letter is sent and
retried is `consumers.notifier.dispatch`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from consumers.notifier.delivery import Sender
from consumers.notifier.directory import Directory
from consumers.notifier.outbox import Outbox
from consumers.notifier.receipts import ReceiptStore
from consumers.notifier.settings import NotifierSettings
from consumers.notifier.side_topics import CaseBook
from consumers.notifier.stats import NotifierStats
from workflow.policy import Policy

__all__ = ["NotifierContext"]


@dataclass(frozen=True)
class NotifierContext:
    settings: NotifierSettings
    directory: Directory
    policy: Policy
    sender: Sender
    clock: Callable[[], datetime]
    stats: NotifierStats
    receipts: ReceiptStore
    cases: CaseBook
    outbox: Outbox
