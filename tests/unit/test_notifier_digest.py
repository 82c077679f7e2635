"""The daily digest: directory entries, when it is due, what it holds and says, once per date.

The last tests run the notifier's own digest step (`Notifier.digests`) against in-memory
stand-ins for the broker: a clock the test moves, a sender that records, a producer that keeps the
receipts (replayed into a fresh notifier to play a restart).
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from consumers.notifier.alerts import CaseInfo
from consumers.notifier.digest import (
    DigestBook,
    DigestItem,
    count_escalated,
    digest_key,
    latest_due,
    next_due,
    render_digest,
)
from consumers.notifier.directory import Directory, DirectoryError, Target, load_directory
from consumers.notifier.service import Notifier
from consumers.notifier.settings import NotifierSettings
from consumers.settings import EngineSettings
from tests.unit.notifier_memory import MemoryClients
from workflow.policy import load_policy
from workflow.sla import DayType, Stage

POLICY = load_policy()
WIT = "Asia/Jayapura"
DAY1 = datetime.fromisoformat("2026-12-21T17:00:00+09:00")
DUE = datetime.fromisoformat("2026-12-22T07:30:00+09:00")
CASE_A = "ADU-2026-12-0001"
CASE_B = "ADU-2026-12-0002"

DIRECTORY = """
smtp: {host: 127.0.0.1, port: 2525, sender: aduan@example.go.id, mode: insecure}
digest: {enabled: true, at: "07:30"}
officers:
  - {id: penghubung, name: P, role: Admin Penghubung, email: p@example.go.id}
  - {id: kadis, name: K, role: Kepala OPD, email: k@example.go.id,
     webhook: "http://127.0.0.1:9/hook"}
  - {id: sekda, name: S, role: Sekretaris Daerah, email: s@example.go.id, language: en}
  - {id: inspektur, name: I, role: Inspektorat, email: i@example.go.id, digest: false}
agencies:
  "*": {liaison: [penghubung], levels: {2: [sekda, inspektur]}}
  DINKES: {levels: {1: [kadis]}}
"""


def directory(tmp_path: Path, text: str = DIRECTORY) -> Directory:
    path = tmp_path / "officers.yaml"
    path.write_text(text)
    return load_directory(path, POLICY)


def receipt(
    key: str,
    officer: str,
    recorded_at: datetime,
    *,
    kind: str = "escalation",
    level: int = 1,
    case_id: str = CASE_A,
    target: str = "",
    outcome: str = "delivered",
    old: bool = False,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "key": key,
        "target": target or f"{officer}/email",
        "officer": officer,
        "channel": "email",
        "case_id": case_id,
        "kind": kind,
        "level": level,
        "outcome": outcome,
        "attempts": 1,
        "event_id": f"{case_id}-e",
        "occurred_at": "2026-12-21T16:00:00+09:00",
        "recorded_at": recorded_at.isoformat(),
    }
    if not old:
        value |= {
            "stage": "follow_up_plan",
            "agency": "DINKES",
            "deadline": "2026-12-14T16:00:00+09:00",
            "threshold": 0.5 if kind == "warning" else None,
        }
    return value


# -- directory ----------------------------------------------------------------------------------


def test_the_digest_is_off_unless_enabled_and_an_officer_can_opt_out(tmp_path: Path) -> None:
    on = directory(tmp_path)
    assert on.digest.time == time(7, 30)
    assert [o.id for o in on.digest_officers()] == ["penghubung", "kadis", "sekda"]
    off = directory(tmp_path, DIRECTORY.replace('digest: {enabled: true, at: "07:30"}\n', ""))
    assert not off.digest.enabled
    assert off.digest_officers() == []


def test_an_unquoted_yaml_time_is_read_as_the_time_it_looks_like(tmp_path: Path) -> None:
    # YAML 1.1 reads 07:30 as the sexagesimal integer 450.
    d = directory(tmp_path, DIRECTORY.replace('at: "07:30"', "at: 07:30"))
    assert d.digest.at == "07:30"


@pytest.mark.parametrize("at", ['"7:30"', '"24:00"', '"07:60"', '"soon"'])
def test_a_bad_digest_time_fails_with_one_line(tmp_path: Path, at: str) -> None:
    with pytest.raises(DirectoryError) as error:
        directory(tmp_path, DIRECTORY.replace('at: "07:30"', f"at: {at}"))
    assert str(error.value).startswith("officers.yaml: digest.at: must be a time of day HH:MM")
    assert "\n" not in str(error.value)


def test_an_officer_digest_zone_is_that_of_their_agencies(tmp_path: Path) -> None:
    d = directory(tmp_path)
    assert d.officer_agencies("kadis") == ["DINKES"]
    assert d.officer_agencies("sekda") == []  # only under "*"
    assert d.officer_zone(d.officer("kadis"), POLICY) == POLICY.tz_for("DINKES")
    assert d.officer_zone(d.officer("sekda"), POLICY) == POLICY.default_tz


# -- when ---------------------------------------------------------------------------------------


def test_due_at_0730_local_not_before_and_the_next_one_a_day_later() -> None:
    at = time(7, 30)
    before = DUE - timedelta(seconds=1)
    assert latest_due(before, at, WIT) == (date(2026, 12, 21), DUE - timedelta(days=1))
    assert latest_due(DUE, at, WIT) == (date(2026, 12, 22), DUE)
    assert latest_due(DUE + timedelta(hours=23), at, WIT) == (date(2026, 12, 22), DUE)
    assert next_due(before, at, WIT) == DUE
    assert next_due(DUE, at, WIT) == DUE + timedelta(days=1)
    # The same instant in UTC, and another zone's 07:30.
    assert latest_due(DUE.astimezone(UTC), at, WIT)[1] == DUE
    jakarta = latest_due(DUE, at, "Asia/Jakarta")
    assert jakarta[0] == date(2026, 12, 21)
    assert jakarta[1] == datetime.fromisoformat("2026-12-21T07:30:00+07:00")
    assert digest_key("kadis", date(2026, 12, 22)) == "digest|kadis|2026-12-22"


# -- what ---------------------------------------------------------------------------------------


def test_the_book_keeps_delivered_alerts_per_officer_and_reads_old_receipts() -> None:
    book = DigestBook()
    key = f"{CASE_A}|escalation|L1"
    book.apply(receipt(key, "kadis", DAY1, target="kadis/webhook"))
    book.apply(receipt(key, "kadis", DAY1 + timedelta(seconds=3)))  # the same alert, 2nd target
    book.apply(receipt(f"{CASE_B}|escalation|L1", "kadis", DAY1, case_id=CASE_B, old=True))
    book.apply(receipt("x|escalation|L1", "kadis", DAY1, outcome="deadlettered"))
    book.apply(receipt("digest|kadis|2026-12-21", "kadis", DAY1, kind="digest"))
    book.apply(receipt("y|warning", "-", DAY1, kind="warning", outcome="no_recipients"))
    items = book.window("kadis", DUE - timedelta(days=1), DUE)
    assert [(i.case_id, i.delivered_at) for i in items] == [(CASE_A, DAY1), (CASE_B, DAY1)]
    old = items[1]
    assert (old.stage, old.agency, old.deadline, old.late_by) == (None, None, None, None)
    assert items[0].late_by == timedelta(days=7)
    # The window is [due - 24 h, due).
    assert book.window("kadis", DUE, DUE + timedelta(days=1)) == []
    assert book.window("kadis", DAY1 + timedelta(seconds=1), DUE) == []
    book.prune(DUE)
    assert book.items == {}


def item(
    kind: str, level: int, case_id: str = CASE_A, threshold: float | None = None
) -> DigestItem:
    return DigestItem(
        key=f"{case_id}|{kind}|L{level}",
        case_id=case_id,
        kind=kind,
        level=level,
        delivered_at=DAY1,
        occurred_at=datetime.fromisoformat("2026-12-21T16:00:00+09:00"),
        stage=Stage.FOLLOW_UP_PLAN,
        agency="DINKES",
        deadline=datetime.fromisoformat(
            "2026-12-14T16:00:00+09:00" if kind != "warning" else "2026-12-23T16:00:00+09:00"
        ),
        threshold=threshold,
    )


def test_the_digest_is_written_in_indonesian() -> None:
    subject, body = render_digest(
        [item("warning", 0, CASE_B, 0.5), item("escalation", 1)],
        2,
        day=date(2026, 12, 22),
        due=DUE,
        tz=WIT,
        language="id",
        policy=POLICY,
        case_url="http://aduan.example/kasus/{tracking}",
        recipient_role="Kepala OPD",
    )
    assert subject == (
        "[aduan] Ringkasan harian 22 Des 2026: 2 pemberitahuan, 2 pengaduan masih dieskalasi"
    )
    assert body.startswith("Yth. Kepala OPD,\n")
    assert "(21 Des 2026 07:30 WIT - 22 Des 2026 07:30 WIT): 2 pemberitahuan." in body
    assert f"1. {CASE_B} - Peringatan batas waktu 50%\n" in body
    assert f"2. {CASE_A} - Eskalasi tingkat 1 (Kepala OPD)\n" in body
    assert "   Instansi (OPD)     : Dinas Kesehatan (DINKES)\n" in body
    assert "   Tahap              : rencana tindak lanjut\n" in body
    assert "   Keterlambatan      : 7 hari\n" in body
    assert "   Keterlambatan      : sisa 2 hari\n" in body
    assert "   Dikirim            : 21 Des 2026 17:00 WIT\n" in body
    assert f"   Lihat pengaduan    : http://aduan.example/kasus/{CASE_A}\n" in body
    assert "Pengaduan yang sampai kepada Anda dan masih dieskalasi: 2\n" in body
    assert "Identitas pelapor tidak dicantumkan" in body


def test_the_digest_is_written_in_english_for_an_english_officer() -> None:
    subject, body = render_digest(
        [item("reminder", 3)],
        1,
        day=date(2026, 12, 22),
        due=DUE,
        tz=WIT,
        language="en",
        policy=POLICY,
        case_url="http://aduan.example/cases/{tracking}",
        recipient_role="Ombudsman",
    )
    assert subject == "[aduan] Daily digest 22 Dec 2026: 1 alert, 1 complaint still escalated"
    assert body.startswith("Dear Ombudsman,\n")
    assert f"1. {CASE_A} - Escalation reminder level 3" in body
    assert "   Stage              : follow-up plan\n" in body
    assert "   Lateness           : 7 days late\n" in body
    assert "Complaints that reached you and are still escalated: 1\n" in body
    assert "reporter's identity is never included" in body


def test_a_digest_carries_nothing_about_the_reporter() -> None:
    names = {f.name for f in fields(DigestItem)}
    assert not any("reporter" in n or "name" in n or "contact" in n for n in names), names
    _, body = render_digest(
        [item("escalation", 1)],
        None,
        day=date(2026, 12, 22),
        due=DUE,
        tz=WIT,
        language="id",
        policy=POLICY,
        case_url="http://x/{tracking}",
        recipient_role="Kepala OPD",
    )
    assert "masih dieskalasi" not in body  # no count when it is unknown
    assert [line for line in body.splitlines() if "pelapor" in line] == [
        "Identitas pelapor tidak dicantumkan dalam pemberitahuan ini."
    ]


def test_escalated_cases_are_counted_for_the_officers_they_reached(tmp_path: Path) -> None:
    d = directory(tmp_path)
    dinkes = CaseInfo(agency="DINKES", triage_agency="SETDA-TRIASE")
    cases = [
        (dinkes, 1),
        (dinkes, 2),
        (dinkes, 0),
        (CaseInfo(agency="DINKES", triage_agency="SETDA-TRIASE", final=True), 2),
        (CaseInfo(agency=None, triage_agency="SETDA-TRIASE"), 2),
    ]
    counts = count_escalated(cases, d, ["kadis", "sekda", "penghubung"])
    assert counts == {"kadis": 2, "sekda": 2, "penghubung": 0}


# -- the notifier's digest step, on in-memory stand-ins -------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, target: Target, subject: str, body: str, severity: str) -> None:
        self.sent.append((target.id, subject, body))


class Producer:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None]] = []

    async def send_and_wait(
        self, topic: str, key: bytes | None = None, value: bytes | None = None, **_: Any
    ) -> None:
        self.records.append((topic, key, value))


class Consumer:
    """Owns every partition of cases.events (the follower: no side partitions)."""

    def __init__(self, topic: str, partitions: int = 6) -> None:
        self.topic = topic
        self.parts = partitions

    def assignment(self) -> set[Any]:
        from aiokafka import TopicPartition

        return {TopicPartition(self.topic, p) for p in range(self.parts)}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return set(range(self.parts))

    async def end_offsets(self, parts: list[Any]) -> dict[Any, int]:
        return {}


def notifier(d: Directory, clock: Clock, producer: Producer, sender: Recorder) -> Notifier:
    def clients(engine: EngineSettings, _: NotifierSettings) -> MemoryClients:
        events = Consumer(engine.topic("cases.events"))
        return MemoryClients(producer, Consumer("-", 0), events)  # type: ignore[arg-type]

    n = Notifier(EngineSettings(), NotifierSettings(), d, POLICY, sender, clock, clients)
    for topic, _, value in producer.records:  # a restart reads the receipts back
        if topic == n.topics.receipts:
            n.receipts.apply(value)
    return n


async def test_due_at_0730_local_not_before_once_per_date_and_not_again_after_a_restart(
    tmp_path: Path,
) -> None:
    d = directory(tmp_path)
    clock, producer, sender = Clock(DAY1), Producer(), Recorder()
    first = notifier(d, clock, producer, sender)
    consumer = Consumer(first.topics.events)
    first.cases[CASE_A] = (CaseInfo(agency="DINKES", triage_agency="SETDA-TRIASE"), 1)
    for value in (
        receipt(f"{CASE_A}|escalation|L1", "kadis", DAY1),
        receipt(f"{CASE_A}|escalation|L1", "kadis", DAY1, target="kadis/webhook"),
        receipt(f"{CASE_A}|warning", "penghubung", DAY1, kind="warning", level=0),
        receipt(f"{CASE_A}|escalation|L2", "inspektur", DAY1, level=2),  # opted out
    ):
        await first.outbox.write_receipt(value)

    await first.digests.run_due(consumer)  # day 1, 17:00: yesterday's digest had nothing
    clock.now = DUE - timedelta(seconds=1)
    await first.digests.run_due(consumer)
    assert sender.sent == []

    clock.now = DUE
    await first.digests.run_due(consumer)
    assert sorted((t, s) for t, s, _ in sender.sent) == [
        (
            "kadis/email",
            "[aduan] Ringkasan harian 22 Des 2026: 1 pemberitahuan, 1 pengaduan masih dieskalasi",
        ),
        (
            "kadis/webhook",
            "[aduan] Ringkasan harian 22 Des 2026: 1 pemberitahuan, 1 pengaduan masih dieskalasi",
        ),
        (
            "penghubung/email",
            "[aduan] Ringkasan harian 22 Des 2026: 1 pemberitahuan, 0 pengaduan masih dieskalasi",
        ),
    ]
    assert first.stats.digests == 3
    digests = [json.loads(v or b"") for t, _, v in producer.records if t == first.topics.receipts][
        -3:
    ]
    assert {(r["key"], r["target"], r["kind"], r["outcome"]) for r in digests} == {
        ("digest|kadis|2026-12-22", "kadis/email", "digest", "delivered"),
        ("digest|kadis|2026-12-22", "kadis/webhook", "digest", "delivered"),
        ("digest|penghubung|2026-12-22", "penghubung/email", "digest", "delivered"),
    }

    # Later the same day, on every iteration: nothing more.
    for minutes in (1, 60, 16 * 60):
        clock.now = DUE + timedelta(minutes=minutes)
        await first.digests.run_due(consumer)
    assert len(sender.sent) == 3

    # A restart later that day reads the receipts back and sends nothing again.
    again = notifier(d, clock, producer, sender)
    again.cases.update(first.cases)
    await again.digests.run_due(consumer)
    assert len(sender.sent) == 3

    # The next day: the window [22 Dec 07:30, 23 Dec 07:30) holds nothing: no digest.
    clock.now = DUE + timedelta(days=1)
    await again.digests.run_due(consumer)
    assert len(sender.sent) == 3


async def test_a_digest_due_while_the_notifier_was_down_goes_out_late_with_the_same_lines(
    tmp_path: Path,
) -> None:
    d = directory(tmp_path)
    clock, producer, sender = Clock(DUE + timedelta(hours=5)), Producer(), Recorder()
    first = notifier(d, clock, producer, sender)
    # Delivered before the window (not listed), in it, and after the due instant (next day's).
    for at, case in (
        (DUE - timedelta(days=1, seconds=1), "ADU-OLD"),
        (DAY1, CASE_A),
        (DUE + timedelta(hours=1), "ADU-NEW"),
    ):
        await first.outbox.write_receipt(
            receipt(f"{case}|reminder|L2|e", "sekda", at, case_id=case)
        )
    await first.digests.run_due(Consumer(first.topics.events))
    ((target, subject, body),) = sender.sent
    assert target == "sekda/email"
    assert subject == "[aduan] Daily digest 22 Dec 2026: 1 alert, 0 complaints still escalated"
    assert CASE_A in body
    assert "ADU-OLD" not in body
    assert "ADU-NEW" not in body


async def test_a_digest_whose_partition_another_notifier_owns_is_left_to_it(
    tmp_path: Path,
) -> None:
    d = directory(tmp_path)
    clock, producer, sender = Clock(DUE), Producer(), Recorder()
    n = notifier(d, clock, producer, sender)
    await n.outbox.write_receipt(receipt(f"{CASE_A}|escalation|L1", "kadis", DAY1))

    class NoPartitions(Consumer):
        def assignment(self) -> set[Any]:
            return set()

    await n.digests.run_due(NoPartitions(n.topics.events))
    assert sender.sent == []
    await n.digests.run_due(Consumer(n.topics.events))  # a rebalance gave it the partitions
    assert [t for t, _, _ in sender.sent] == ["kadis/email", "kadis/webhook"]


def test_a_digest_line_gives_lateness_in_office_time_when_the_receipt_has_the_budget() -> None:
    late = DigestBook()
    value = receipt(f"{CASE_A}|escalation|L1", "kadis", DAY1) | {
        "unit": "working",
        "left_seconds": -40.5 * 3600,
    }
    late.apply(value)
    [line] = late.window("kadis", DAY1 - timedelta(hours=1), DAY1 + timedelta(hours=1))
    assert (line.unit, line.left_seconds) == (DayType.WORKING, -40.5 * 3600)
    _, body = render_digest(
        [line],
        None,
        day=date(2026, 12, 22),
        due=DUE,
        tz=WIT,
        language="id",
        policy=POLICY,
        case_url="x/{tracking}",
        recipient_role="Kepala OPD",
        channel="chat",
    )
    assert "   Keterlambatan      : 40,5 jam kerja\n" in body
    assert "mohon tidak membalas" not in body  # a chat can be answered
