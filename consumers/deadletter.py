"""The headers of a dead-letter record: why it was set aside and where it came from.

A record on ``deadletter`` carries the original bytes untouched; the why travels in headers, whose
names and values are a contract with whoever reads the topic (operators, replay tools):

- ``aduan.error.reason``: a short machine-readable reason (``not_json``, ``unknown_case`` ...);
- ``aduan.error.detail``: one human-readable line, at most :data:`MAX_DETAIL_BYTES` of UTF-8;
- ``aduan.source.topic`` / ``.partition`` / ``.offset``: the record it was read from, if any;
- ``aduan.deadlettered_at``: when, ISO 8601 in UTC;
- ``aduan.deadlettered_by``: ``notifier`` on the notifier's dead letters (a replay of one is a
  request to the notifier, not the event appended to its source again); absent on the engine's.

A record re-injected by ``aduan deadletter replay`` carries ``aduan.replayed_from`` (the dead
letter's ``partition@offset``), so its reader can tell it from the original.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

#: Header of a record re-injected from ``deadletter`` (value: ``<partition>@<offset>`` there).
REPLAYED_FROM = "aduan.replayed_from"

#: Header naming the consumer that set a record aside, when it is not the engine.
DEADLETTERED_BY = "aduan.deadlettered_by"

#: Longer details are cut (at a byte, not a character: readers decode with errors="replace").
MAX_DETAIL_BYTES = 4096

Headers = list[tuple[str, bytes]]


class SourceRecord(Protocol):
    """Where a record was read from: a faust message and an aiokafka/kafka-python record alike."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...


def deadletter_headers(
    reason: str,
    detail: str,
    source: SourceRecord | None = None,
    *,
    at: datetime | None = None,
) -> Headers:
    """The headers of a dead-letter record, in their contract order. ``source`` is the record
    that is being set aside, None when the value was built here (e.g. a digest summary)."""
    headers: Headers = [
        ("aduan.error.reason", str(reason).encode()),
        ("aduan.error.detail", detail.encode()[:MAX_DETAIL_BYTES]),
    ]
    if source is not None:
        headers += [
            ("aduan.source.topic", str(source.topic).encode()),
            ("aduan.source.partition", str(source.partition).encode()),
            ("aduan.source.offset", str(source.offset).encode()),
        ]
    when = at if at is not None else datetime.now(UTC)
    headers.append(("aduan.deadlettered_at", when.isoformat().encode()))
    return headers
