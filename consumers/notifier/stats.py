"""The notifier's counters: one object, read by `consumers.notifier.metrics` at scrape time and
written to ``ADUAN_NOTIFIER_STATS_FILE`` (JSON) for tests and operators."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["NotifierStats", "write_stats"]


@dataclass
class NotifierStats:
    alerts: int = 0
    delivered: int = 0
    retried: int = 0
    deadlettered: int = 0
    duplicates_skipped: int = 0
    reminders_suppressed: int = 0
    no_recipients: int = 0
    invalid_events: int = 0
    digests: int = 0
    """Daily digests delivered (per target)."""
    by_channel: dict[str, int] = field(default_factory=dict)
    deadletters: dict[str, int] = field(default_factory=dict)
    """Records this notifier put on ``deadletter``, by reason (invalid_target, no_recipients,
    an invalid event's parser reason)."""

    def count_delivery(self, channel: str) -> None:
        self.by_channel[channel] = self.by_channel.get(channel, 0) + 1

    def count_deadletter(self, reason: str) -> None:
        """A dead letter; ``invalid_target`` is also a failed delivery (``deadlettered``)."""
        self.deadletters[reason] = self.deadletters.get(reason, 0) + 1
        if reason == "invalid_target":
            self.deadlettered += 1


def write_stats(stats: NotifierStats, path: Path | None, *, unless: str = "") -> str:
    """Replace ``path`` atomically (a reader never sees half a file), unless its text would be
    ``unless`` (already written); nothing if None. Returns the text."""
    text = json.dumps(asdict(stats))
    if path is not None and text != unless:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return text
