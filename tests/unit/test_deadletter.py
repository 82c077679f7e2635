"""The dead-letter headers are a contract: names, order, truncation, encoding."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from consumers.deadletter import MAX_DETAIL_BYTES, deadletter_headers
from workflow.codec import MessageErrorReason

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Source:
    topic: str
    partition: int
    offset: int


def test_headers_of_a_record_read_from_a_topic() -> None:
    headers = deadletter_headers(
        MessageErrorReason.NOT_JSON, "line 1: not JSON", Source("t.complaints.intake", 3, 42), at=AT
    )
    assert headers == [
        ("aduan.error.reason", b"not_json"),
        ("aduan.error.detail", b"line 1: not JSON"),
        ("aduan.source.topic", b"t.complaints.intake"),
        ("aduan.source.partition", b"3"),
        ("aduan.source.offset", b"42"),
        ("aduan.deadlettered_at", b"2026-12-01T09:00:00+00:00"),
    ]


def test_a_value_built_here_has_no_source_headers() -> None:
    names = [name for name, _ in deadletter_headers("notification_failed", "smtp down", at=AT)]
    assert names == ["aduan.error.reason", "aduan.error.detail", "aduan.deadlettered_at"]


def test_detail_is_cut_at_the_byte_limit_and_time_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    headers = dict(deadletter_headers("internal_error", "é" * MAX_DETAIL_BYTES))
    assert len(headers["aduan.error.detail"]) == MAX_DETAIL_BYTES == 4096
    stamped = datetime.fromisoformat(headers["aduan.deadlettered_at"].decode())
    assert stamped.utcoffset() is not None
    assert stamped >= before
