"""One event of ``cases.events`` in, alerts to officers out: `AlertHandler.handle`.

For each alerting event (see `consumers.notifier.alerts`), for each officer and each of their
targets whose (key, target) has no receipt and is not pending: render, and hand the letter to
`consumers.notifier.dispatch.Dispatcher.first` (delivered, pending for the retrier, or, for a
permanently invalid target, dead-lettered), which writes its record (awaited) before the next
target. An event that cannot be read is dead-lettered with the parser's reason.

A replayed event (``aduan deadletter replay``: header ``aduan.replayed_from``) tries again the
targets it was dead-lettered for; a delivered one is never sent again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from consumers.deadletter import REPLAYED_FROM
from consumers.notifier.alerts import Alert, plan_alert, render
from consumers.notifier.context import NotifierContext
from consumers.notifier.directory import Officer, Target
from consumers.notifier.dispatch import Dispatcher, Letter
from consumers.notifier.receipts import alert_receipt
from workflow.codec import InvalidMessage, parse_event

log = logging.getLogger("aduan.notifier")

__all__ = ["AlertHandler"]


def _replayed(record: Any) -> bool:
    return any(name == REPLAYED_FROM for name, _ in (getattr(record, "headers", None) or ()))


class AlertHandler:
    def __init__(self, context: NotifierContext, dispatcher: Dispatcher) -> None:
        self.context = context
        self.dispatcher = dispatcher
        self.settings = context.settings
        self.directory = context.directory
        self.policy = context.policy
        self.stats = context.stats
        self.receipts = context.receipts
        self.cases = context.cases
        self.outbox = context.outbox

    async def handle(self, record: Any) -> None:
        """Alert the officers an event concerns (``record``: key, value, topic, partition,
        offset, as an aiokafka ``ConsumerRecord``)."""
        if record.value is None:
            return
        try:
            event = parse_event(record.value)
        except InvalidMessage as exc:
            await self._invalid(record, exc)
            return
        known = self.cases.get(event.case_id)
        info, level = known if known is not None else (None, 0)
        alert = plan_alert(event, info, level, self.policy)
        if alert is None:
            return
        if known is None:
            log.warning("no snapshot of %s on cases.state: routing by '*'", event.case_id)
        self.stats.alerts += 1
        if alert.kind == "reminder" and self._reminder_too_soon(alert):
            self.stats.reminders_suppressed += 1
            return
        officers = (
            self.directory.liaisons(alert.agency)
            if alert.kind == "warning"
            else self.directory.level_officers(alert.agency, alert.level)
        )
        if not officers:
            await self._no_recipients(alert, record)
            return
        for officer in officers:
            await self._alert_officer(alert, officer, record)

    async def _invalid(self, record: Any, exc: InvalidMessage) -> None:
        self.stats.invalid_events += 1
        self.stats.count_deadletter(str(exc.reason))
        log.warning(
            "dead-lettering an invalid event at %s[%s]@%s: %s",
            record.topic,
            record.partition,
            record.offset,
            exc.reason,
        )
        await self.outbox.deadletter_record(record, str(exc.reason), str(exc))

    def _reminder_too_soon(self, alert: Alert) -> bool:
        """Paced per (case, agency): another agency's reminder does not silence this one."""
        last = self.receipts.last_reminder.get((alert.case_id, alert.agency))
        if last is None:
            return False
        gap = timedelta(hours=self.settings.reminder_min_interval_hours)
        # A reminder with receipts of its own was cut short by a crash: finish it.
        return alert.occurred_at - last < gap and alert.key not in self.receipts.keys

    async def _alert_officer(self, alert: Alert, officer: Officer, record: Any) -> None:
        again = _replayed(record)
        for target in self.directory.targets(officer):
            if self.receipts.handled(alert.key, target.id) and not (
                again and self.receipts.open_again(alert.key, target.id)
            ):
                self.stats.duplicates_skipped += 1
                continue
            await self.dispatcher.first(self._letter(alert, officer, target, record))

    def _letter(self, alert: Alert, officer: Officer, target: Target, record: Any) -> Letter:
        """The alert rendered for ``target`` (its language, its channel's footer)."""
        subject, body = render(
            alert,
            self.directory.language_for(officer),
            self.policy,
            self.directory.case_url,
            officer.role,
            target.channel,
        )
        receipt = alert_receipt(
            alert,
            target=target.id,
            officer=officer.id,
            channel=target.channel,
            outcome="delivered",
            attempts=0,
            recorded_at=self.context.clock(),
        )
        return Letter(
            target=target,
            subject=subject,
            body=body,
            severity="warning" if alert.kind == "warning" else "failure",
            receipt=receipt,
            owner=alert.case_id,
            original=record.value,
            source=(record.topic, record.partition, record.offset),
        )

    async def _no_recipients(self, alert: Alert, record: Any) -> None:
        if self.receipts.handled(alert.key, "-"):
            self.stats.duplicates_skipped += 1
            return
        self.stats.no_recipients += 1
        self.stats.count_deadletter("no_recipients")
        role = "liaison" if alert.kind == "warning" else f"level {alert.level}"
        await self.outbox.deadletter_record(
            record,
            "no_recipients",
            f"the officer directory has no {role} for agency {alert.agency or '?'}",
        )
        receipt = alert_receipt(
            alert,
            target="-",
            officer="-",
            channel="-",
            outcome="no_recipients",
            attempts=0,
            recorded_at=self.context.clock(),
        )
        await self.outbox.write_receipt(receipt)
