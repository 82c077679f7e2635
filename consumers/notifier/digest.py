"""The optional daily digest per officer: what it holds, when it is due, and the words.

Pure pieces; `consumers.notifier.digest_runner` runs them on the notifier's loop.

* `DigestBook` keeps, per officer, the alerts delivered to them, rebuilt from the receipts on
  ``notifications.receipts`` (each delivered receipt names the officer, the alert's key, case,
  kind, level, and since the digest also its stage, agency, deadline and threshold; older
  receipts lack those four and are shown with what they have).
* `latest_due` / `next_due`: the digest of local date *d* is due at ``at`` on *d* in the officer's
  zone; it covers the alerts delivered in the 24 hours before that instant, so its content does
  not depend on when it is actually sent (a notifier that was down at 07:30 sends it late with the
  same lines).
* `digest_key`: ``digest|<officer id>|<local date>``, the idempotency key of the receipt written
  per target, checked before sending, as for alerts: one digest per officer and day.
* `render_digest`: subject and body, Indonesian by default, English per officer. Like alerts, a
  digest names tracking numbers, agencies, stages and lateness, never anything about a reporter.

A digest is only sent to an officer who had at least one alert delivered in its window: a quiet
day sends nothing. It also says how many cases that reached the officer (their agency and a level
they are alerted at) are still escalated, counted from the ``cases.state`` snapshots the notifier
reads anyway (`count_escalated`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from consumers.notifier.alerts import (
    CaseInfo,
    format_date,
    format_duration,
    format_instant,
    format_time_in_unit,
    stage_name,
)
from consumers.notifier.directory import Directory
from consumers.notifier.texts import DigestWords, footer_for, labelled, words_for
from workflow.policy import Policy
from workflow.responsibility import responsible_agency
from workflow.sla import DayType, Stage

__all__ = [
    "ALERT_KINDS",
    "DigestBook",
    "DigestItem",
    "count_escalated",
    "digest_key",
    "latest_due",
    "next_due",
    "render_digest",
]

ALERT_KINDS = frozenset({"warning", "escalation", "reminder"})
WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class DigestItem:
    """One alert delivered to one officer (at least one of their targets)."""

    key: str
    case_id: str
    kind: str
    level: int
    delivered_at: datetime
    occurred_at: datetime
    stage: Stage | None = None
    agency: str | None = None
    deadline: datetime | None = None
    threshold: float | None = None
    unit: DayType | None = None
    left_seconds: float | None = None
    """The stage clock's budget left in its unit (receipts written before it have none)."""

    @property
    def late_by(self) -> timedelta | None:
        if self.deadline is None or self.occurred_at <= self.deadline:
            return None
        return self.occurred_at - self.deadline

    @property
    def remaining(self) -> timedelta | None:
        if self.deadline is None or self.occurred_at >= self.deadline:
            return None
        return self.deadline - self.occurred_at


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    at = datetime.fromisoformat(value)
    return at if at.tzinfo is not None else None


@dataclass
class DigestBook:
    """Delivered alerts per officer: ``items[officer][key]`` (the first delivery of each key)."""

    items: dict[str, dict[str, DigestItem]] = field(default_factory=dict)

    def apply(self, receipt: Mapping[str, Any]) -> None:
        """Take one receipt (already parsed); anything but a delivered alert is ignored.
        Raises ValueError, KeyError or TypeError on a malformed receipt."""
        if receipt.get("outcome") != "delivered" or receipt.get("kind") not in ALERT_KINDS:
            return
        officer = receipt.get("officer")
        if not isinstance(officer, str) or officer in ("", "-"):
            return
        delivered_at = _instant(receipt.get("recorded_at"))
        occurred_at = _instant(receipt.get("occurred_at"))
        if delivered_at is None or occurred_at is None:
            return
        key = str(receipt["key"])
        mine = self.items.setdefault(officer, {})
        known = mine.get(key)
        if known is not None and known.delivered_at <= delivered_at:
            return
        stage = receipt.get("stage")
        threshold = receipt.get("threshold")
        mine[key] = DigestItem(
            key=key,
            case_id=str(receipt["case_id"]),
            kind=str(receipt["kind"]),
            level=int(receipt.get("level") or 0),
            delivered_at=delivered_at,
            occurred_at=occurred_at,
            stage=Stage(stage) if isinstance(stage, str) else None,
            agency=receipt.get("agency") if isinstance(receipt.get("agency"), str) else None,
            deadline=_instant(receipt.get("deadline")),
            threshold=float(threshold) if isinstance(threshold, int | float) else None,
            unit=DayType(unit) if isinstance(unit := receipt.get("unit"), str) else None,
            left_seconds=float(left)
            if isinstance(left := receipt.get("left_seconds"), int | float)
            else None,
        )

    def window(self, officer: str, start: datetime, end: datetime) -> list[DigestItem]:
        """The alerts delivered to ``officer`` in [start, end), oldest first."""
        found = [
            item
            for item in self.items.get(officer, {}).values()
            if start <= item.delivered_at < end
        ]
        return sorted(found, key=lambda i: (i.delivered_at, i.case_id, i.key))

    def prune(self, before: datetime) -> None:
        """Forget deliveries older than ``before`` (no digest window reaches them any more)."""
        for officer in list(self.items):
            kept = {k: i for k, i in self.items[officer].items() if i.delivered_at >= before}
            if kept:
                self.items[officer] = kept
            else:
                del self.items[officer]


# -- when ---------------------------------------------------------------------------------------


def digest_key(officer_id: str, day: date) -> str:
    return f"digest|{officer_id}|{day.isoformat()}"


def _at(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


def latest_due(now: datetime, at: time, tz: str) -> tuple[date, datetime]:
    """The local date and instant of the latest digest due at or before ``now``."""
    zone = ZoneInfo(tz)
    day = now.astimezone(zone).date()
    due = _at(day, at, zone)
    if due > now:
        day -= timedelta(days=1)
        due = _at(day, at, zone)
    return day, due


def next_due(now: datetime, at: time, tz: str) -> datetime:
    """The first digest instant strictly after ``now``."""
    day, _ = latest_due(now, at, tz)
    return _at(day + timedelta(days=1), at, ZoneInfo(tz))


# -- how many cases are still escalated ----------------------------------------------------------


def count_escalated(
    cases: Iterable[tuple[CaseInfo, int]], directory: Directory, officers: Iterable[str]
) -> dict[str, int]:
    """Per officer id in ``officers``: the cases still escalated (level >= 1, not in a final
    state) that reached them, i.e. the officer is alerted at some level from 1 up to the case's
    level for the case's agency (the referred agency, else the triage desk)."""
    wanted = set(officers)
    counts = dict.fromkeys(wanted, 0)
    for info, level in cases:
        if level < 1 or info.final:
            continue
        agency = responsible_agency(info)
        reached: set[str] = set()
        for n in range(1, level + 1):
            reached.update(o.id for o in directory.level_officers(agency, n))
        for officer_id in reached & wanted:
            counts[officer_id] += 1
    return counts


# -- words --------------------------------------------------------------------------------------


def _agency_name(agency: str | None, policy: Policy) -> str:
    if agency is None:
        return "-"
    try:
        return f"{policy.agency(agency).name} ({agency})"
    except KeyError:
        return agency


def _level_title(level: int, agency: str | None, policy: Policy) -> str:
    try:
        return policy.ladder_for(agency).level(level).title
    except KeyError:
        return ""


def _what(item: DigestItem, words: DigestWords, policy: Policy) -> str:
    title = _level_title(item.level, item.agency, policy) if item.level >= 1 else ""
    kind = "warning_pct" if item.kind == "warning" and item.threshold is not None else item.kind
    template = words.what.get(kind, words.what["reminder"])
    return template.format(
        pct=round((item.threshold or 0) * 100),
        level=item.level,
        suffix=f" ({title})" if title else "",
    )


def _lateness(item: DigestItem, words: DigestWords, lang: str) -> str:
    left = item.left_seconds
    if left is not None and left < 0:
        return words.late.format(late=format_time_in_unit(-left, item.unit, lang))
    if left is not None and left > 0:
        return words.left.format(left=format_time_in_unit(left, item.unit, lang))
    if item.late_by is not None:  # a receipt from before the budget was kept: wall time
        return words.late.format(late=format_duration(item.late_by, lang))
    if item.remaining is not None:
        return words.left.format(left=format_duration(item.remaining, lang))
    return "-"


def _item_lines(
    i: int, item: DigestItem, words: DigestWords, lang: str, tz: str, policy: Policy, url: str
) -> list[str]:
    return [
        f"{i}. {item.case_id} - {_what(item, words, policy)}",
        "   " + labelled(words.agency, _agency_name(item.agency, policy)),
        "   " + labelled(words.stage, stage_name(item.stage, lang)),
        "   " + labelled(words.lateness, _lateness(item, words, lang)),
        "   " + labelled(words.sent, format_instant(item.delivered_at, tz, lang)),
        "   " + labelled(words.link, url.replace("{tracking}", item.case_id)),
        "",
    ]


def render_digest(
    items: list[DigestItem],
    escalated: int | None,
    *,
    day: date,
    due: datetime,
    tz: str,
    language: str,
    policy: Policy,
    case_url: str,
    recipient_role: str,
    channel: str = "email",
) -> tuple[str, str]:
    """(subject, body) of the digest of local date ``day`` (window: the 24 hours before
    ``due``) in ``language`` (``id`` or ``en``; the words are in `consumers.notifier.texts`)."""
    lang = "en" if language == "en" else "id"
    words = words_for(lang)
    w = words.digest
    n = len(items)
    fields = {
        "day": format_date(day, lang),
        "since": format_instant(due - WINDOW, tz, lang),
        "until": format_instant(due, tz, lang),
        "n": n,
        "s": "s" if n != 1 else "",
        "escalated": escalated,
        "escalated_s": "s" if escalated != 1 else "",
    }
    subject = w.subject.format(**fields)
    if escalated is not None:
        subject += w.subject_escalated.format(**fields)
    intro = [line.format(**fields) for line in w.intro]
    lines = [words.greeting.format(role=recipient_role), "", *intro, ""]
    for i, item in enumerate(items, 1):
        lines += _item_lines(i, item, w, lang, tz, policy, case_url)
    if escalated is not None:
        lines += [w.escalated.format(**fields), ""]
    lines += footer_for(words, channel)
    return subject, "\n".join(lines) + "\n"
