"""What to alert, to whom, and the words: pure functions of a domain event and the case snapshot.

`plan_alert` turns one event from ``cases.events`` into an `Alert` (or None):

* ``SlaWarningRaised`` -> kind ``warning`` to the liaison of the agency running the stage;
* ``CaseEscalated`` -> kind ``escalation`` to the officers of the new level;
* ``EscalationReminderIssued`` -> kind ``reminder`` to the officers of the top level.

Escalations and reminders go to the ladder of the agency the event names (the one that is
late), so a case that reached level 1 at the triage desk alerts PUPR's level 1 again once PUPR
is late; events older than that field fall back to the stage's owner in the latest snapshot.

``SlaBreached`` needs no alert of its own: the engine follows every breach with ``CaseEscalated``
(or, at the top, a reminder), and that alert says how late the stage is.

`render` writes the subject and body in Indonesian (default) or English, from the words in
`consumers.notifier.texts` (YAML per language). Time left and lateness are in the stage clock's
own unit: office time of the agency's calendar for a working-day clock ("15,5 jam kerja"), wall
time for a calendar-day clock; an escalation shows the deadline of the level it reached, a
reminder when the next one is due. An alert never carries anything about the reporter (not even the
`ReporterView` of a public reporter): only the tracking number, agency, stage, level, deadline,
lateness and the case URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from consumers.notifier.texts import Words, footer_for, labelled, words_for
from workflow.events import CaseEscalated, EscalationReminderIssued, SlaWarningRaised
from workflow.policy import Policy
from workflow.responsibility import agency_calendar, responsible_agency
from workflow.sla import DayType, SlaClock, Stage, deadline, remaining_seconds

__all__ = [
    "Alert",
    "AlertKind",
    "CaseInfo",
    "alert_key",
    "format_date",
    "format_duration",
    "format_instant",
    "format_office_time",
    "format_time_in_unit",
    "plan_alert",
    "render",
    "stage_name",
]

AlertKind = Literal["warning", "escalation", "reminder"]


@dataclass(frozen=True)
class CaseInfo:
    """The little the notifier keeps per case from ``cases.state`` (no reporter, no text)."""

    agency: str | None
    triage_agency: str
    final: bool = False
    """The case is closed, rejected or withdrawn (for the digest's count of escalated cases)."""


@dataclass(frozen=True)
class Alert:
    kind: AlertKind
    case_id: str
    event_id: str
    level: int
    """Escalation level alerted (warnings: the case's level when the event came, or 0)."""
    agency: str | None
    stage: Stage | None
    occurred_at: datetime
    threshold: float | None = None
    deadline: datetime | None = None
    tz: str = "Asia/Jayapura"
    clock_started_at: datetime | None = None
    """Start of the stage clock the event is about (keys warnings to that clock)."""
    ladder: str | None = None
    """The agency whose ladder an escalation climbs, as its event names it (None: an event
    from before the field, keyed as it was then)."""
    unit: DayType | None = None
    """The stage clock's unit: office time (WORKING) or wall time (CALENDAR)."""
    left_seconds: float | None = None
    """The stage clock's budget left when the event came, in its unit (negative: late)."""
    level_deadline: datetime | None = None
    """When the level alerted must have acted (escalation) or the next reminder is due."""

    @property
    def key(self) -> str:
        return alert_key(self)


def alert_key(alert: Alert) -> str:
    """Idempotency key (case, kind, agency, level): an alert is delivered once per key and
    target. An escalation is keyed by the ladder's agency and level, so each agency's level 1
    alerts once; an escalation event older than the agency field keeps its old key,
    case|escalation|L<level>, so a redelivered old event still matches its receipt.

    Warnings are keyed by the event's own data only (stage, the start of its clock, the
    threshold): a redelivered warning has the same key whatever the case did since, and a
    clock restarted by a reassignment warns again. Reminders add the event id (each reminder
    is its own alert; the interval between them is kept by the notifier)."""
    if alert.kind == "warning":
        pct = round((alert.threshold or 0) * 100)
        stage = alert.stage.value if alert.stage else "-"
        started = alert.clock_started_at.isoformat() if alert.clock_started_at else "-"
        return f"{alert.case_id}|warning|{stage}|{started}|{pct}"
    if alert.kind == "reminder":
        return f"{alert.case_id}|reminder|L{alert.level}|{alert.event_id}"
    if alert.ladder is None:
        return f"{alert.case_id}|escalation|L{alert.level}"
    return f"{alert.case_id}|escalation|{alert.ladder}|L{alert.level}"


def _clock_facts(
    clock: SlaClock | None, at: datetime, agency: str | None, policy: Policy
) -> dict[str, Any]:
    """The stage clock's deadline and budget left at ``at``, by the agency's calendar."""
    if clock is None:
        return {}
    cal = agency_calendar(policy, agency)
    return {
        "deadline": deadline(clock, cal),
        "unit": clock.unit,
        "left_seconds": remaining_seconds(clock, at, cal),
    }


def plan_alert(event: Any, info: CaseInfo | None, level: int, policy: Policy) -> Alert | None:
    """The alert ``event`` calls for, or None. ``level``: the case's current escalation level
    (used for warnings), ``info``: the case's agencies from its latest snapshot."""
    if isinstance(event, SlaWarningRaised):
        stage: Stage | None = event.payload.stage
        kind: AlertKind = "warning"
        alert_level = level
        threshold: float | None = event.payload.threshold
    elif isinstance(event, CaseEscalated):
        stage = event.payload.stage
        kind, alert_level, threshold = "escalation", event.payload.level, None
    elif isinstance(event, EscalationReminderIssued):
        clock = event.payload.timers.clock
        stage = clock.stage if clock is not None else None
        kind, alert_level, threshold = "reminder", event.payload.level, None
    else:
        return None
    ladder: str | None = getattr(event.payload, "agency", None)
    agency = ladder or (responsible_agency(info, stage) if info is not None else None)
    try:
        tz = policy.tz_for(agency)
    except KeyError:
        tz = policy.default_tz
    timers = event.payload.timers
    return Alert(
        kind=kind,
        case_id=event.case_id,
        event_id=event.event_id,
        level=alert_level,
        agency=agency,
        stage=stage,
        occurred_at=event.occurred_at,
        threshold=threshold,
        tz=tz,
        clock_started_at=timers.clock.started_at if timers.clock else None,
        ladder=ladder,
        level_deadline=timers.escalation_due_at if kind != "warning" else None,
        **_clock_facts(timers.clock, event.occurred_at, agency, policy),
    )


# -- words ----------------------------------------------------------------------------------------

_ZONES = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def stage_name(stage: Stage | None, language: str) -> str:
    """The stage in words (``-`` for None)."""
    return words_for(language).stages[stage.value] if stage is not None else "-"


def format_date(day: date, language: str) -> str:
    """``22 Des 2026``."""
    return f"{day.day} {words_for(language).months[day.month - 1]} {day.year}"


def format_instant(at: datetime, tz: str, language: str) -> str:
    """``14 Des 2026 16:00 WIT``."""
    local = at.astimezone(ZoneInfo(tz))
    zone = _ZONES.get(tz) or local.strftime("%Z")
    month = words_for(language).months[local.month - 1]
    return f"{local.day} {month} {local.year} {local:%H:%M} {zone}"


def format_duration(delta: timedelta, language: str) -> str:
    """Wall time: ``2 hari 7 jam`` / ``2 days 7 hours``; minutes below one hour."""
    units = words_for(language).units
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} {units['day' if days == 1 else 'days']}")
    if hours:
        parts.append(f"{hours} {units['hour' if hours == 1 else 'hours']}")
    if not days and (mins or not parts):
        parts.append(f"{mins} {units['minute' if mins == 1 else 'minutes']}")
    return " ".join(parts)


def format_office_time(seconds: float, language: str) -> str:
    """Office time: ``15,5 jam kerja`` / ``15.5 office hours``; minutes below one hour. Hours,
    not days: office days differ in length (Friday), an hour is an hour."""
    words = words_for(language)
    if seconds < 3600:
        return words.office_minutes.format(minutes=max(0, round(seconds / 60)))
    hours = f"{round(seconds / 3600, 1):.1f}".removesuffix(".0").replace(".", words.decimal)
    return words.office_hours.format(hours=hours)


def format_time_in_unit(seconds: float, unit: DayType | None, language: str) -> str:
    """Office time for a working-day clock, wall time otherwise."""
    if unit is DayType.WORKING:
        return format_office_time(seconds, language)
    return format_duration(timedelta(seconds=seconds), language)


def _agency_label(agency: str | None, policy: Policy) -> str:
    if agency is None:
        return "?"
    try:
        return f"{policy.agency(agency).name} ({agency})"
    except KeyError:
        return agency


def _level_title(alert: Alert, policy: Policy) -> str:
    if alert.level < 1:
        return ""
    try:
        return policy.ladder_for(alert.agency or None).level(alert.level).title
    except KeyError:
        return ""


def _timing_lines(alert: Alert, words: Words, lang: str) -> list[str]:
    """Deadlines, then time left or lateness (in the stage clock's unit)."""
    w = words.alert
    lines = []
    if alert.deadline:
        lines.append(labelled(w.deadline, format_instant(alert.deadline, alert.tz, lang)))
    left = alert.left_seconds
    if left is not None and left < 0:
        lines.append(labelled(w.lateness, format_time_in_unit(-left, alert.unit, lang)))
    elif left is not None and left > 0:
        lines.append(labelled(w.left, format_time_in_unit(left, alert.unit, lang)))
    if alert.level_deadline is not None:
        label = w.next_reminder if alert.kind == "reminder" else w.level_deadline
        at = format_instant(alert.level_deadline, alert.tz, lang)
        lines.append(labelled(label.format(level=alert.level), at))
    return lines


def render(
    alert: Alert,
    language: str,
    policy: Policy,
    case_url: str,
    recipient_role: str,
    channel: str = "email",
) -> tuple[str, str]:
    """(subject, body) of ``alert`` in ``language`` (``id`` or ``en``; the words are in
    `consumers.notifier.texts`) for a target on ``channel`` (the footer depends on it)."""
    lang = "en" if language == "en" else "id"
    words = words_for(lang)
    w = words.alert
    stage = stage_name(alert.stage, lang)
    fields = {
        "case": alert.case_id,
        "stage": stage,
        "pct": round((alert.threshold or 0) * 100),
        "level": alert.level,
        "title": _level_title(alert, policy),
    }
    lines = [
        words.greeting.format(role=recipient_role),
        "",
        w.head[alert.kind].format(**fields),
        "",
        labelled(w.tracking, alert.case_id),
        labelled(w.agency, _agency_label(alert.agency, policy)),
        labelled(w.stage, stage),
        *_timing_lines(alert, words, lang),
        labelled(w.occurred, format_instant(alert.occurred_at, alert.tz, lang)),
        "",
        labelled(w.link, case_url.replace("{tracking}", alert.case_id)),
        "",
        *footer_for(words, channel),
    ]
    return w.subject[alert.kind].format(**fields), "\n".join(lines) + "\n"
