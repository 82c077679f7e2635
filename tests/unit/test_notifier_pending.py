"""Pending deliveries on real parts: a real SMTP server (aiosmtpd) that is down, refuses an
address or accepts; the real dispatcher, retrier and receipt store; an in-memory log standing in
for the broker (tests/unit/notifier_memory.py). Issue 14, finding 1: before the fix, a target that
kept failing was dead-lettered and receipted as handled, so it was never delivered.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from consumers.notifier.metrics import notifier_registry
from consumers.notifier.pending import pending_record, retry_record
from consumers.notifier.receipts import ReceiptStore, encode_receipt
from consumers.notifier.service import Notifier
from consumers.notifier.sink import SinkHandler
from tests.e2e.harness import free_port
from tests.unit.notifier_memory import MemoryClients, MemoryLog
from tests.unit.test_notifier_handler import (
    CASE,
    DEADLETTER,
    EVENTS,
    RECEIPTS,
    STATE,
    escalation,
    event_record,
    log,
    receipts,
    started,
)

__all__ = ["log"]  # the fixture, imported for the tests below

KADIS = "kadis.dinkes@malukutengahkab.go.id"


class RefusingSink(SinkHandler):
    """Refuses the recipients in ``refused`` as a mail server refuses a mailbox it has not."""

    def __init__(self, refused: set[str]) -> None:
        super().__init__(echo=False)
        self.refused = refused

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def serve(handler: SinkHandler, port: int) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


async def retry_due(notifier: Notifier) -> None:
    """One pass of the retrier, awaited (what its loop does every tick)."""
    for target_id, entries in notifier.retrier.due_targets().items():
        await notifier.retrier._retry(target_id, entries)


def gauges(notifier: Notifier) -> dict[str, float]:
    registry = notifier_registry(notifier.stats, notifier.pending)
    return {
        sample.name: sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name.startswith("aduan_notifications_") and "pending" in sample.name
    }


async def test_a_down_mail_server_leaves_the_alert_pending_across_a_restart_until_delivered(
    log: MemoryLog, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens yet: the mail server is down
    first = await started(log, port, tmp_path)
    await first.handler.handle(event_record(log, escalation()))

    [pending] = receipts(log)
    assert (pending["outcome"], pending["attempts"], pending["target"]) == (
        "pending",
        1,
        "kadis/email",
    )
    assert log.on(DEADLETTER) == []
    assert first.stats.deadlettered == 0
    count, oldest = first.pending()
    assert count == 1
    assert oldest >= 0
    await retry_due(first)  # the backoff has not passed: nothing is tried
    assert first.stats.retried == 0

    # A restart while the server is still down reads the pending record back and retries it.
    second = await started(log, port, tmp_path)
    assert second.pending()[0] == 1
    await retry_due(second)
    assert second.stats.retried == 1
    assert [r["outcome"] for r in receipts(log)] == ["pending", "pending"]
    assert receipts(log)[-1]["attempts"] == 2

    sink = SinkHandler(echo=False)
    controller = serve(sink, port)
    try:
        third = await started(log, port, tmp_path)
        await third.handler.handle(event_record(log, escalation()))  # a redelivery: skipped
        assert sink.messages == []
        await retry_due(third)
        await retry_due(third)
    finally:
        controller.stop()
    [(_, to, message)] = sink.messages
    assert to == [KADIS]
    assert CASE in str(message["subject"])
    final = receipts(log)[-1]
    assert (final["outcome"], final["attempts"]) == ("delivered", 3)
    assert "body" not in final
    assert "original" not in final
    assert third.pending() == (0, 0.0)
    assert gauges(third) == {
        "aduan_notifications_pending": 0.0,
        "aduan_notifications_oldest_pending_seconds": 0.0,
    }


async def test_while_a_target_fails_new_alerts_for_it_wait_without_an_attempt(
    log: MemoryLog, tmp_path: Path
) -> None:
    other = "ADU-2026-12-0043"
    snapshot = {"agency": "DINKES", "triage_agency": "SETDA-TRIASE", "escalation_level": 1}
    log.append(STATE, other.encode(), json.dumps(snapshot).encode())
    notifier = await started(log, free_port(), tmp_path)
    await notifier.handler.handle(event_record(log, escalation()))
    second = escalation().replace(CASE.encode(), other.encode())
    await notifier.handler.handle(log.append(EVENTS, other.encode(), second))
    assert [(r["case_id"], r["attempts"], r["last_error"]) for r in receipts(log)] == [
        (
            CASE,
            1,
            "email kadis.dinkes@malukutengahkab.go.id: Connection error while "
            'submitting email to "127.0.0.1"',
        ),
        (other, 0, "waiting: the target is failing"),
    ]
    assert notifier.pending()[0] == 2
    assert gauges(notifier)["aduan_notifications_pending"] == 2.0


async def test_a_refused_address_is_deadlettered_counted_and_never_retried(
    log: MemoryLog, tmp_path: Path
) -> None:
    sink = RefusingSink({KADIS})
    controller = serve(sink, free_port())
    try:
        notifier = await started(log, controller.port, tmp_path)
        record = event_record(log, escalation())
        await notifier.handler.handle(record)
        await retry_due(notifier)
    finally:
        controller.stop()
    [letter] = log.on(DEADLETTER)
    headers = dict(letter.headers)
    assert headers["aduan.error.reason"] == b"invalid_target"
    assert b"refused the address" in headers["aduan.error.detail"]
    assert headers["aduan.source.offset"] == str(record.offset).encode()
    assert (letter.key, letter.value) == (CASE.encode(), record.value)
    assert [r["outcome"] for r in receipts(log)] == ["deadlettered"]
    assert notifier.stats.deadletters == {"invalid_target": 1}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for m in notifier_registry(notifier.stats).collect()
        for s in m.samples
    }
    key = (
        "aduan_messages_deadlettered_total",
        (("reason", "invalid_target"), ("source", "notifier")),
    )
    assert samples[key] == 1.0
    assert notifier.pending() == (0, 0.0)


async def test_an_operators_retry_request_retries_a_backed_off_target_now(
    log: MemoryLog, tmp_path: Path
) -> None:
    port = free_port()
    notifier = await started(log, port, tmp_path)
    await notifier.handler.handle(event_record(log, escalation()))
    notifier.dispatcher.health["kadis/email"].next_at += 3600  # backed off for an hour
    sink = SinkHandler(echo=False)
    controller = serve(sink, port)
    try:
        await retry_due(notifier)
        assert sink.messages == []
        key, value = encode_receipt(retry_record(CASE, notifier.clock()))
        log.append(RECEIPTS, key, value)
        await notifier.side.catch_up()
        await retry_due(notifier)
    finally:
        controller.stop()
    assert len(sink.messages) == 1
    assert receipts(log)[-1]["outcome"] == "delivered"


async def test_a_replayed_dead_letter_retries_its_target_once_after_the_fix(
    log: MemoryLog, tmp_path: Path
) -> None:
    sink = RefusingSink({KADIS})
    controller = serve(sink, free_port())
    try:
        notifier = await started(log, controller.port, tmp_path)
        record = event_record(log, escalation())
        await notifier.handler.handle(record)
        await notifier.handler.handle(record)  # a plain redelivery: not dead-lettered twice
        assert len(log.on(DEADLETTER)) == 1
        sink.refused.clear()  # the mailbox exists again
        replay = [("aduan.replayed_from", b"0@0")]
        await notifier.handler.handle(log.append(EVENTS, CASE.encode(), record.value, replay))
        await notifier.handler.handle(log.append(EVENTS, CASE.encode(), record.value, replay))
    finally:
        controller.stop()
    assert len(sink.messages) == 1
    assert [r["outcome"] for r in receipts(log)] == ["deadlettered", "delivered"]


def test_a_replayed_dead_letter_that_fails_for_now_is_pending_again() -> None:
    store = ReceiptStore()
    settled = {"key": "k", "target": "kadis/email", "outcome": "deadlettered"}
    store.apply(encode_receipt(settled)[1])
    since = datetime.now(UTC)
    record = pending_record(
        {"key": "k", "target": "kadis/email", "officer": "kadis"},
        letter=("s", "b", "failure"),
        owner=CASE,
        since=since,
        attempts=1,
        last_error="connection refused",
        source=None,
        original=None,
        recorded_at=since,
    )
    store.apply(encode_receipt(record)[1])
    assert list(store.pending) == [("k", "kadis/email")]
    assert not store.open_again("k", "kadis/email")
    store.apply(encode_receipt({**settled, "outcome": "delivered"})[1])
    store.apply(encode_receipt(record)[1])  # a late pending record: the delivery stays settled
    assert store.pending == {}
    assert store.handled("k", "kadis/email")


async def test_a_long_outage_rewrites_pending_records_before_the_topic_deletes_them(
    log: MemoryLog, tmp_path: Path
) -> None:
    now = [datetime.now(UTC)]
    snapshot = {"agency": "DINKES", "triage_agency": "SETDA-TRIASE", "escalation_level": 1}
    log.append(STATE, b"ADU-2026-12-0044", json.dumps(snapshot).encode())
    first = await started(log, free_port(), tmp_path)
    notifier = Notifier(
        first.engine,
        first.settings,
        first.directory,
        first.policy,
        clock=lambda: now[0],
        clients=MemoryClients.on(log),
    )
    await notifier.side.load()
    await notifier.handler.handle(event_record(log, escalation()))
    other = escalation().replace(CASE.encode(), b"ADU-2026-12-0044")
    await notifier.handler.handle(log.append(EVENTS, b"ADU-2026-12-0044", other))
    written = len(log.on(RECEIPTS))
    now[0] += timedelta(days=2)  # two days of outage later
    entries = list(notifier.receipts.pending.values())
    target = notifier.retrier._target(entries[0])
    assert target is not None
    await notifier.dispatcher.retry(target, entries)
    rewritten = receipts(log)[written:]
    assert [r["outcome"] for r in rewritten] == ["pending", "pending"]  # the head and the other
    assert {r["recorded_at"] for r in rewritten} == {now[0].isoformat()}


async def test_a_restarted_notifier_reports_no_pending_gauge_until_its_receipts_are_read(
    log: MemoryLog, tmp_path: Path
) -> None:
    """A 0 before the receipts are read would resolve AduanNotificationsFailing mid-outage."""
    first = await started(log, free_port(), tmp_path)  # the mail server is down
    await first.handler.handle(event_record(log, escalation()))
    assert gauges(first)["aduan_notifications_pending"] == 1

    restarted = Notifier(
        first.engine, first.settings, first.directory, first.policy, clients=MemoryClients.on(log)
    )
    assert gauges(restarted) == {}  # not known yet: not exported, not 0
    await restarted.side.load()
    assert gauges(restarted)["aduan_notifications_pending"] == 1
    assert gauges(restarted)["aduan_notifications_oldest_pending_seconds"] >= 0


async def test_a_replay_request_is_handled_once_by_the_notifier_and_not_after_a_restart(
    log: MemoryLog, tmp_path: Path
) -> None:
    from consumers.notifier.pending import ReplayRequest, replay_record

    sink = RefusingSink({KADIS})
    controller = serve(sink, free_port())
    try:
        notifier = await started(log, controller.port, tmp_path)
        record = event_record(log, escalation())
        await notifier.handler.handle(record)
        [dead] = log.on(DEADLETTER)
        assert dict(dead.headers)["aduan.deadlettered_by"] == b"notifier"
        sink.refused.clear()  # the fix
        request = ReplayRequest("0@0", dead.key, dead.value, (EVENTS, 0, record.offset))
        for _ in range(2):  # an operator asking twice
            log.append(RECEIPTS, *encode_receipt(replay_record(request, datetime.now(UTC))))
        await notifier.side.catch_up()
        await notifier.replayer.run_due()
        await notifier.replayer.run_due()
        restarted = await started(log, controller.port, tmp_path)
        assert restarted.receipts.replays == {}
        await restarted.replayer.run_due()
    finally:
        controller.stop()
    assert len(sink.messages) == 1
    assert len(log.on(EVENTS)) == 1  # the event log untouched
    outcomes = [r["outcome"] for r in receipts(log)]
    assert outcomes == ["deadlettered", "replay", "replay", "delivered", "replayed"]
