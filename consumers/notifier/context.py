"""What the alert handler and the digest runner share, wired once by `consumers.notifier.service`.

The settings, the directory and policy, the sender and clock, the counters, the in-memory state
(receipts, case snapshots) and the outbox; and the one way both deliver to a target: with the
retry policy, each retry counted and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from consumers.notifier.delivery import Outcome, Sender, deliver
from consumers.notifier.directory import Directory, Target
from consumers.notifier.outbox import Outbox
from consumers.notifier.receipts import ReceiptStore
from consumers.notifier.settings import NotifierSettings
from consumers.notifier.side_topics import CaseBook
from consumers.notifier.stats import NotifierStats
from workflow.policy import Policy

log = logging.getLogger("aduan.notifier")

__all__ = ["NotifierContext", "failure_detail"]


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

    async def deliver(
        self, target: Target, subject: str, body: str, severity: str, *, what: str
    ) -> Outcome:
        """Send to ``target`` with the retry policy; ``what`` names the message in the log."""

        def retried(attempt: int, reason: str) -> None:
            self.stats.retried += 1
            log.info("retrying %s (attempt %d failed: %s)", what, attempt, reason)

        return await deliver(
            self.sender, target, subject, body, severity, self.settings.retry, on_retry=retried
        )


def failure_detail(target: Target, outcome: Outcome) -> str:
    """The dead letter's detail for a target that kept failing."""
    return f"{target.id} ({target.label}) after {outcome.attempts} attempts: {outcome.reason}"
