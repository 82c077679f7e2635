"""The notifier process: ``cases.events`` in, alerts out, receipts on ``notifications.receipts``.

Loop (plain aiokafka, manual commits, its own consumer group, ``read_committed``):

1. At start, read ``notifications.receipts`` and ``cases.state`` from the beginning into memory:
   the set of (idempotency key, target) already handled, the time of each case's last reminder,
   and each case's agencies and escalation level.
2. Fetch a batch of events; catch the receipts and snapshots up to their end offsets (so receipts
   written by another notifier before a rebalance count, and the snapshot of every event in the
   batch is there: the relay commits an event and its snapshot in one transaction).
3. For each alerting event (see `consumers.notifier.alerts`), for each officer and each of their
   targets whose (key, target) has no receipt: render, deliver with retries, then write the
   receipt (``acks=all``, awaited) right away, before the next target. A target that still fails
   after the retries goes to ``deadletter`` (the event's bytes, the reason in headers) and gets a
   receipt with outcome ``deadlettered``, so a restart does not retry it forever.
4. Commit the input offsets of the batch.
5. On every iteration (with or without events): if a daily digest has come due
   (`consumers.notifier.digest`, only when the directory enables it), send it to each officer
   whose partition of ``cases.events`` this notifier owns, once per officer and local date: the
   same receipts (key ``digest|<officer>|<date>``) are checked before sending and written after.
   The digest's lines come from the receipts of delivered alerts, so they survive a restart.
   Between due instants the check is one comparison with the wall clock (``clock``, injectable).

Guarantee: at least once per (case, kind, level) and target, and no duplicate after a restart,
a redelivery or a rebalance, except in one window: the notifier dies after a target accepted
the message and before the receipt write was acknowledged (a few milliseconds per target). That
one target then gets the alert again after the restart. Delivery and receipt cannot be made
atomic with an SMTP server or a webhook; writing each receipt immediately (not per batch) keeps
the window to one target.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from consumers.deadletter import SourceRecord, deadletter_headers
from consumers.notifier.alerts import Alert, CaseInfo, plan_alert, render
from consumers.notifier.delivery import AppriseSender, RetryPolicy, Sender, deliver
from consumers.notifier.digest import (
    DigestBook,
    count_escalated,
    digest_key,
    latest_due,
    next_due,
    render_digest,
)
from consumers.notifier.directory import Directory, Officer, Target, load_directory
from consumers.settings import EngineSettings
from consumers.topics import partition_for
from states.lifecycle import FINAL_STATES
from workflow.messages import InvalidMessage, parse_event
from workflow.policy import Policy, load_policy

log = logging.getLogger("aduan.notifier")

__all__ = ["Notifier", "NotifierSettings", "NotifierStats", "ReceiptStore"]


class NotifierSettings(BaseSettings):
    """Settings of the notifier (environment ``ADUAN_NOTIFIER_<NAME>``); the broker, topic prefix
    and policy come from the engine settings (``ADUAN_KAFKA_BOOTSTRAP``, ``ADUAN_TOPIC_PREFIX``,
    ``ADUAN_POLICY_FILE``)."""

    model_config = SettingsConfigDict(env_prefix="ADUAN_NOTIFIER_", extra="forbid", frozen=True)

    directory: Path = Field(
        default=Path("deploy/notifier/officers.yaml"), description="The officer directory."
    )
    group_id: str = Field(default="aduan-notifier", description="Consumer group on cases.events.")
    max_attempts: int = Field(default=8, ge=1, description="Attempts per target at most.")
    backoff_base: float = Field(default=0.5, gt=0, description="First retry delay (seconds).")
    backoff_cap: float = Field(default=8.0, gt=0, description="Longest retry delay (seconds).")
    give_up_after: float = Field(
        default=60.0, gt=0, description="Seconds of retrying one target before dead-lettering."
    )
    reminder_min_interval_hours: float = Field(
        default=24.0,
        ge=0,
        description="Past the top level: at most one reminder per case in this many hours "
        "(event time), however often the engine issues them.",
    )
    poll_ms: int = Field(default=200, ge=1, description="How long one fetch waits for events.")
    batch_max: int = Field(default=100, ge=1, description="Events per batch at most.")
    stats_file: Path | None = Field(
        default=None, description="If set, the counters are written here (JSON) after each batch."
    )

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base=self.backoff_base,
            cap=self.backoff_cap,
            give_up_after=self.give_up_after,
        )


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


@dataclass
class ReceiptStore:
    """What the receipts topic says has been handled (rebuilt from the topic at start)."""

    done: set[tuple[str, str]] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    last_reminder: dict[str, datetime] = field(default_factory=dict)
    book: DigestBook = field(default_factory=DigestBook)
    """Delivered alerts per officer, for the daily digest."""

    def apply(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            receipt = json.loads(value)
            self.done.add((receipt["key"], receipt["target"]))
            self.keys.add(receipt["key"])
            if receipt.get("kind") == "reminder" and receipt.get("outcome") == "delivered":
                at = datetime.fromisoformat(receipt["occurred_at"])
                last = self.last_reminder.get(receipt["case_id"])
                if last is None or at > last:
                    self.last_reminder[receipt["case_id"]] = at
            self.book.apply(receipt)
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable receipt")

    def handled(self, key: str, target: str) -> bool:
        return (key, target) in self.done


_FINAL_STATES = frozenset(state.value for state in FINAL_STATES)


def wall_clock() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """One notifier process. Build with `create_notifier`; `run` until ``stop`` is set.

    ``clock`` (aware datetimes; default the wall clock) stamps receipts and decides when a daily
    digest is due; tests pass their own."""

    def __init__(
        self,
        engine: EngineSettings,
        settings: NotifierSettings,
        directory: Directory,
        policy: Policy,
        sender: Sender | None = None,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.directory = directory
        self.policy = policy
        self.sender: Sender = sender if sender is not None else AppriseSender()
        self.clock = clock
        self.stats = NotifierStats()
        self.receipts = ReceiptStore()
        self.cases: dict[str, tuple[CaseInfo, int]] = {}
        self.ready = asyncio.Event()
        self.events_topic = engine.topic("cases.events")
        self.state_topic = engine.topic("cases.state")
        self.receipts_topic = engine.topic("notifications.receipts")
        self.deadletter_topic = engine.topic("deadletter")
        self._follower: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._digest_next: datetime | None = None
        """No digest can come due before this instant (None: look now)."""
        self._digest_assignment: frozenset[TopicPartition] = frozenset()

    # -- the side topics (receipts, snapshots) -----------------------------------------------

    def _apply_snapshot(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        case_id = key.decode(errors="replace")
        if value is None:
            self.cases.pop(case_id, None)
            return
        try:
            data = json.loads(value)
            info = CaseInfo(
                agency=data.get("agency"),
                triage_agency=data["triage_agency"],
                final=data.get("state") in _FINAL_STATES,
            )
            self.cases[case_id] = (info, int(data.get("escalation_level", 0)))
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable snapshot of %s", case_id)

    async def _catch_up(self) -> None:
        """Read receipts and snapshots up to the end offsets as of now."""
        follower = self._follower
        assert follower is not None
        parts = list(follower.assignment())
        ends: dict[TopicPartition, int] = await follower.end_offsets(parts)
        pending = {tp for tp, end in ends.items() if await follower.position(tp) < end}
        while pending:
            batch = await follower.getmany(*pending, timeout_ms=200)
            for tp, records in batch.items():
                for r in records:
                    if tp.topic == self.receipts_topic:
                        self.receipts.apply(r.value)
                    else:
                        self._apply_snapshot(r.key, r.value)
            pending = {tp for tp in pending if await follower.position(tp) < ends[tp]}

    async def _partitions(self, consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
        for _ in range(100):
            found = consumer.partitions_for_topic(topic)
            if found:
                return [TopicPartition(topic, p) for p in sorted(found)]
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.1)
        raise RuntimeError(f"topic {topic} does not exist (run 'aduan topics')")

    # -- one event ----------------------------------------------------------------------------

    async def handle(self, record: Any) -> None:
        if record.value is None:
            return
        try:
            event = parse_event(record.value)
        except InvalidMessage as exc:
            self.stats.invalid_events += 1
            log.warning(
                "skipping an invalid event at %s[%s]@%s: %s",
                record.topic,
                record.partition,
                record.offset,
                exc.reason,
            )
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

    def _reminder_too_soon(self, alert: Alert) -> bool:
        last = self.receipts.last_reminder.get(alert.case_id)
        if last is None:
            return False
        gap = timedelta(hours=self.settings.reminder_min_interval_hours)
        # A reminder with receipts of its own was cut short by a crash: finish it.
        return alert.occurred_at - last < gap and alert.key not in self.receipts.keys

    async def _alert_officer(self, alert: Alert, officer: Officer, record: Any) -> None:
        language = self.directory.language_for(officer)
        subject, body = render(alert, language, self.policy, self.directory.case_url, officer.role)
        severity = "warning" if alert.kind == "warning" else "failure"
        for target in self.directory.targets(officer):
            if self.receipts.handled(alert.key, target.id):
                self.stats.duplicates_skipped += 1
                continue

            def retried(attempt: int, reason: str, label: str = target.label) -> None:
                self.stats.retried += 1
                log.info(
                    "retrying %s for %s (attempt %d failed: %s)",
                    label,
                    alert.case_id,
                    attempt,
                    reason,
                )

            outcome = await deliver(
                self.sender,
                target,
                subject,
                body,
                severity,
                self.settings.retry,
                on_retry=retried,
            )
            if outcome.delivered:
                self.stats.delivered += 1
                self.stats.by_channel[target.channel] = (
                    self.stats.by_channel.get(target.channel, 0) + 1
                )
                log.info(
                    "delivered %s %s L%d to %s (%s)",
                    alert.kind,
                    alert.case_id,
                    alert.level,
                    officer.id,
                    target.label,
                )
                await self._receipt(
                    alert, target.id, officer.id, target.channel, "delivered", outcome.attempts
                )
            else:
                self.stats.deadlettered += 1
                log.warning(
                    "dead-lettering %s %s L%d for %s: %s",
                    alert.kind,
                    alert.case_id,
                    alert.level,
                    target.label,
                    outcome.reason,
                )
                await self._deadletter(
                    record,
                    "notification_failed",
                    f"{target.id} ({target.label}) after {outcome.attempts} attempts: "
                    f"{outcome.reason}",
                )
                await self._receipt(
                    alert, target.id, officer.id, target.channel, "deadlettered", outcome.attempts
                )

    async def _no_recipients(self, alert: Alert, record: Any) -> None:
        if self.receipts.handled(alert.key, "-"):
            self.stats.duplicates_skipped += 1
            return
        self.stats.no_recipients += 1
        role = "liaison" if alert.kind == "warning" else f"level {alert.level}"
        await self._deadletter(
            record,
            "no_recipients",
            f"the officer directory has no {role} for agency {alert.agency or '?'}",
        )
        await self._receipt(alert, "-", "-", "-", "no_recipients", 0)

    async def _receipt(
        self, alert: Alert, target: str, officer: str, channel: str, outcome: str, attempts: int
    ) -> None:
        # stage, agency, deadline and threshold were added for the digest: a receipt without
        # them (written before) is still read, and its digest line shows less.
        await self._write_receipt(
            {
                "key": alert.key,
                "target": target,
                "officer": officer,
                "channel": channel,
                "case_id": alert.case_id,
                "kind": alert.kind,
                "level": alert.level,
                "outcome": outcome,
                "attempts": attempts,
                "event_id": alert.event_id,
                "occurred_at": alert.occurred_at.isoformat(),
                "recorded_at": self.clock().isoformat(),
                "stage": alert.stage.value if alert.stage is not None else None,
                "agency": alert.agency,
                "deadline": alert.deadline.isoformat() if alert.deadline else None,
                "threshold": alert.threshold,
            }
        )

    async def _write_receipt(self, value: dict[str, Any]) -> None:
        assert self._producer is not None
        raw = json.dumps(value, separators=(",", ":")).encode()
        key = str(value["key"]).encode()
        await self._producer.send_and_wait(self.receipts_topic, key=key, value=raw)
        self.receipts.apply(raw)

    async def _deadletter(self, record: Any, reason: str, detail: str) -> None:
        await self._deadletter_raw(record.key, record.value, reason, detail, record)

    async def _deadletter_raw(
        self,
        key: bytes | None,
        value: bytes | None,
        reason: str,
        detail: str,
        source: SourceRecord | None,
    ) -> None:
        assert self._producer is not None
        headers = deadletter_headers(reason, detail, source)
        await self._producer.send_and_wait(
            self.deadletter_topic, key=key, value=value, headers=headers
        )

    # -- the daily digest -----------------------------------------------------------------------

    def _owned_digest_partitions(self, consumer: AIOKafkaConsumer) -> tuple[set[int], int]:
        """(partitions of cases.events this notifier owns, their total count). An officer's
        digest belongs to the owner of partition ``partition_for(officer id)``, so two notifiers
        in the group do not both send it."""
        total = len(consumer.partitions_for_topic(self.events_topic) or ())
        owned = {tp.partition for tp in consumer.assignment() if tp.topic == self.events_topic}
        return owned, total

    async def _digests(self, consumer: AIOKafkaConsumer) -> None:
        """Send every digest that is due and not yet receipted (cheap when none is due)."""
        officers = self.directory.digest_officers()
        if not officers:
            return
        assignment = frozenset(consumer.assignment())
        if assignment != self._digest_assignment:  # a rebalance: digests may have moved here
            self._digest_assignment = assignment
            self._digest_next = None
        now = self.clock()
        if self._digest_next is not None and now < self._digest_next:
            return
        owned, total = self._owned_digest_partitions(consumer)
        if not owned or not total:
            return  # not assigned yet: look again on the next iteration
        at = self.directory.digest.time
        due: list[tuple[Officer, str, date, datetime]] = []
        upcoming: list[datetime] = []
        for officer in officers:
            tz = self.directory.officer_zone(officer, self.policy)
            upcoming.append(next_due(now, at, tz))
            if partition_for(officer.id.encode(), total) not in owned:
                continue
            day, instant = latest_due(now, at, tz)
            key = digest_key(officer.id, day)
            targets = self.directory.targets(officer)
            if all(self.receipts.handled(key, t.id) for t in targets):
                continue
            due.append((officer, tz, day, instant))
        if due:
            await self._catch_up()  # receipts of another notifier, and fresh snapshots
            self.receipts.book.prune(min(instant for *_, instant in due) - timedelta(hours=48))
            escalated = count_escalated(
                self.cases.values(), self.directory, [officer.id for officer, *_ in due]
            )
            for officer, tz, day, instant in due:
                await self._digest_officer(officer, tz, day, instant, escalated.get(officer.id))
        self._digest_next = min(upcoming)

    async def _digest_officer(
        self, officer: Officer, tz: str, day: date, due: datetime, escalated: int | None
    ) -> None:
        key = digest_key(officer.id, day)
        items = self.receipts.book.window(officer.id, due - timedelta(hours=24), due)
        if not items:
            return  # a quiet day: no digest
        language = self.directory.language_for(officer)
        subject, body = render_digest(
            items,
            escalated,
            day=day,
            due=due,
            tz=tz,
            language=language,
            policy=self.policy,
            case_url=self.directory.case_url,
            recipient_role=officer.role,
        )
        for target in self.directory.targets(officer):
            if self.receipts.handled(key, target.id):
                self.stats.duplicates_skipped += 1
                continue
            await self._digest_target(key, officer, target, subject, body, day, due, len(items))

    async def _digest_target(
        self,
        key: str,
        officer: Officer,
        target: Target,
        subject: str,
        body: str,
        day: date,
        due: datetime,
        count: int,
    ) -> None:
        def retried(attempt: int, reason: str) -> None:
            self.stats.retried += 1
            log.info(
                "retrying the digest for %s (attempt %d failed: %s)", target.label, attempt, reason
            )

        outcome = await deliver(
            self.sender, target, subject, body, "info", self.settings.retry, on_retry=retried
        )
        if outcome.delivered:
            self.stats.digests += 1
            self.stats.by_channel[target.channel] = self.stats.by_channel.get(target.channel, 0) + 1
            log.info(
                "delivered the digest of %s (%d alerts) to %s (%s)",
                day,
                count,
                officer.id,
                target.label,
            )
        else:
            self.stats.deadlettered += 1
            log.warning(
                "dead-lettering the digest %s for %s: %s", key, target.label, outcome.reason
            )
            summary = {"key": key, "officer": officer.id, "date": str(day), "alerts": count}
            await self._deadletter_raw(
                key.encode(),
                json.dumps(summary, separators=(",", ":")).encode(),
                "notification_failed",
                f"{target.id} ({target.label}) after {outcome.attempts} attempts: {outcome.reason}",
                None,
            )
        await self._write_receipt(
            {
                "key": key,
                "target": target.id,
                "officer": officer.id,
                "channel": target.channel,
                "case_id": "-",
                "kind": "digest",
                "level": 0,
                "outcome": "delivered" if outcome.delivered else "deadlettered",
                "attempts": outcome.attempts,
                "event_id": "-",
                "occurred_at": due.isoformat(),
                "recorded_at": self.clock().isoformat(),
                "date": str(day),
                "alerts": count,
            }
        )

    # -- the loop -------------------------------------------------------------------------------

    def _write_stats(self) -> None:
        path = self.settings.stats_file
        if path is not None:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(self.stats)))
            tmp.replace(path)

    async def _handle_batch(
        self, consumer: AIOKafkaConsumer, batch: dict[TopicPartition, list[Any]]
    ) -> None:
        await self._catch_up()
        for tp, records in batch.items():
            for record in records:
                await self.handle(record)
            try:
                await consumer.commit({tp: records[-1].offset + 1})
            except Exception as exc:  # a rebalance took the partition: receipts cover it
                log.warning("commit of %s failed (%s); receipts prevent resending", tp, exc)

    async def run(self, stop: asyncio.Event) -> None:
        bootstrap = self.engine.kafka_bootstrap
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True
        )
        self._follower = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        consumer = AIOKafkaConsumer(
            self.events_topic,
            bootstrap_servers=bootstrap,
            group_id=self.engine.topic(self.settings.group_id),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            session_timeout_ms=10_000,
            heartbeat_interval_ms=2_000,
            max_poll_interval_ms=600_000,
        )
        await self._producer.start()
        await self._follower.start()
        try:
            side = [
                *await self._partitions(self._follower, self.receipts_topic),
                *await self._partitions(self._follower, self.state_topic),
            ]
            self._follower.assign(side)
            await self._follower.seek_to_beginning(*side)
            await self._catch_up()
            log.info(
                "notifier: %d receipts, %d cases loaded; following %s as group %s",
                len(self.receipts.done),
                len(self.cases),
                self.events_topic,
                self.engine.topic(self.settings.group_id),
            )
            await consumer.start()
            self.ready.set()
            self._write_stats()
            while not stop.is_set():
                batch = await consumer.getmany(
                    timeout_ms=self.settings.poll_ms, max_records=self.settings.batch_max
                )
                if batch:
                    await self._handle_batch(consumer, batch)
                sent = self.stats.digests + self.stats.deadlettered
                await self._digests(consumer)
                if batch or sent != self.stats.digests + self.stats.deadlettered:
                    self._write_stats()
        finally:
            await consumer.stop()
            await self._follower.stop()
            await self._producer.stop()
            self._write_stats()


def create_notifier(
    directory_path: Path | None = None, sender: Sender | None = None, **engine_overrides: Any
) -> Notifier:
    """The factory: settings from the environment, the directory checked against the policy
    (raises `consumers.notifier.directory.DirectoryError` with one line)."""
    engine = EngineSettings(**engine_overrides)
    settings = NotifierSettings()
    policy = load_policy(engine.policy_file)
    directory = load_directory(directory_path or settings.directory, policy)
    return Notifier(engine, settings, directory, policy, sender)


def run_notifier(notifier: Notifier) -> None:
    """Run until SIGINT/SIGTERM (blocking)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await notifier.run(stop)

    asyncio.run(main())


def describe(directory: Directory) -> Iterable[str]:
    """One line per agency route, for the start banner and ``--check``."""
    for code, routes in sorted(directory.agencies.items()):
        levels = ", ".join(f"L{n}: {'+'.join(o)}" for n, o in sorted(routes.levels.items()))
        liaison = "+".join(routes.liaison) if routes.liaison else "-"
        yield f"{code}: liaison {liaison}; {levels or 'no levels'}"
    digest = directory.digest
    if digest.enabled:
        names = [o.id for o in directory.digest_officers()]
        yield f"daily digest at {digest.at} local time to {len(names)} officers"
