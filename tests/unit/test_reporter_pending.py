"""Pending reporter messages as kept on reporter.receipts: read back, ordered, never reopened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consumers.reporter.messages import Rendered
from consumers.reporter.pending import PendingBook, PendingMessage

T0 = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
TEXT = Rendered("Pengaduan ADU-1", "Pengaduan Anda telah kami terima.", "aduan_diterima", ("a",))


def entry(key: str, case_id: str = "ADU-1", since: datetime = T0, **kw: object) -> PendingMessage:
    values: dict[str, object] = {
        "key": key,
        "case_id": case_id,
        "kind": "received",
        "event_id": f"e-{key}",
        "channel": "sms",
        "attempts": 1,
        "since": since,
        "next_at": since,
        "last_error": "503",
        "rendered": TEXT,
    }
    values.update(kw)
    return PendingMessage(**values)  # type: ignore[arg-type]


def test_a_pending_record_reads_back_as_it_was_written_without_an_address() -> None:
    original = entry("k1", last_inbound_at=T0, language="en")
    record = original.record(T0)
    assert PendingMessage.of(record) == original
    assert "address" not in record
    assert "phone" not in record


def test_a_settled_message_is_never_reopened_by_an_older_pending_record() -> None:
    book = PendingBook()
    older = entry("k1").record(T0)
    book.apply(older)
    book.apply({"key": "k1", "outcome": "delivered"})
    book.apply(older)  # a catch-up reading the topic again
    assert book.entries == {}


def test_due_queues_go_oldest_first_and_wait_for_their_head() -> None:
    book = PendingBook()
    book.put(entry("late", since=T0 + timedelta(seconds=5)))
    book.put(entry("first", since=T0, next_at=T0 + timedelta(minutes=1)))
    book.put(entry("other", case_id="ADU-2"))
    due = book.due(T0 + timedelta(seconds=10), lambda case_id: True)
    assert list(due) == ["ADU-2|sms"]  # ADU-1 waits for its head, not for "late"
    due = book.due(T0 + timedelta(minutes=2), lambda case_id: True)
    assert [e.key for e in due["ADU-1|sms"]] == ["first", "late"]
    assert book.due(T0 + timedelta(minutes=2), lambda case_id: case_id == "ADU-2").keys() == {
        "ADU-2|sms"
    }
    assert book.queued("ADU-1", "sms")
    assert not book.queued("ADU-1", "email")


def test_a_record_with_more_attempts_wins_over_an_older_one() -> None:
    book = PendingBook()
    book.apply(entry("k1", attempts=4).record(T0))
    book.apply(entry("k1", attempts=2).record(T0))
    assert book.entries["k1"].attempts == 4
