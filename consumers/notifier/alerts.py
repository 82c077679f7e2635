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
`consumers.notifier.texts`. An alert never carries anything about the reporter (not even the
`ReporterView` of a public reporter): only the tracking number, agency, stage, level, deadline,
lateness and the case URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from consumers.notifier.texts import labelled, words_for
from workflow.events import CaseEscalated, EscalationReminderIssued, SlaWarningRaised
from workflow.policy import Policy
from workflow.responsibility import agency_calendar, responsible_agency
from workflow.sla import Stage, deadline
from workflow.values import Timers

__all__ = [
    "Alert",
    "AlertKind",
    "CaseInfo",
    "format_date",
    "format_duration",
    "format_instant",
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

    @property
    def key(self) -> str:
        """Idempotency key (case, kind, agency, level): an alert is delivered once per key and
        target. An escalation is keyed by the ladder's agency and level, so each agency's
        level 1 alerts once. An escalation event older than the agency field keeps its old key,
        case|escalation|L<level>, so a redelivered old event still matches its receipt.

        Warnings are keyed by the event's own data only (stage, the start of its clock, the
        threshold): a redelivered warning has the same key whatever the case did since, and a
        clock restarted by a reassignment warns again. Reminders add the event id (each reminder
        is its own alert; the interval between them is kept by the notifier)."""
        if self.kind == "warning":
            pct = round((self.threshold or 0) * 100)
            stage = self.stage.value if self.stage else "-"
            started = self.clock_started_at.isoformat() if self.clock_started_at else "-"
            return f"{self.case_id}|warning|{stage}|{started}|{pct}"
        if self.kind == "reminder":
            return f"{self.case_id}|reminder|L{self.level}|{self.event_id}"
        if self.ladder is None:
            return f"{self.case_id}|escalation|L{self.level}"
        return f"{self.case_id}|escalation|{self.ladder}|L{self.level}"

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


def _deadline(timers: Timers, agency: str | None, policy: Policy) -> datetime | None:
    clock = timers.clock
    if clock is None:
        return None
    return deadline(clock, agency_calendar(policy, agency))


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
    return Alert(
        kind=kind,
        case_id=event.case_id,
        event_id=event.event_id,
        level=alert_level,
        agency=agency,
        stage=stage,
        occurred_at=event.occurred_at,
        threshold=threshold,
        deadline=_deadline(event.payload.timers, agency, policy),
        tz=tz,
        clock_started_at=clock.started_at if (clock := event.payload.timers.clock) else None,
        ladder=ladder,
    )


# -- words ----------------------------------------------------------------------------------------

_STAGES = {
    "id": {
        Stage.VERIFICATION: "verifikasi dan disposisi",
        Stage.FOLLOW_UP_PLAN: "rencana tindak lanjut",
        Stage.RESOLUTION: "penyelesaian",
        Stage.REPORTER_INFORMATION: "kelengkapan informasi pelapor",
        Stage.REPORTER_CONFIRMATION: "konfirmasi pelapor",
        Stage.ESCALATION: "tindak lanjut eskalasi",
    },
    "en": {
        Stage.VERIFICATION: "verification and referral",
        Stage.FOLLOW_UP_PLAN: "follow-up plan",
        Stage.RESOLUTION: "resolution",
        Stage.REPORTER_INFORMATION: "reporter information",
        Stage.REPORTER_CONFIRMATION: "reporter confirmation",
        Stage.ESCALATION: "escalation follow-up",
    },
}
_MONTHS = {
    "id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}
_ZONES = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def stage_name(stage: Stage | None, language: str) -> str:
    """The stage in words (``-`` for None)."""
    return _STAGES["en" if language == "en" else "id"][stage] if stage is not None else "-"


def format_date(day: date, language: str) -> str:
    """``22 Des 2026``."""
    return f"{day.day} {_MONTHS['en' if language == 'en' else 'id'][day.month - 1]} {day.year}"


def format_instant(at: datetime, tz: str, language: str) -> str:
    """``14 Des 2026 16:00 WIT``."""
    local = at.astimezone(ZoneInfo(tz))
    zone = _ZONES.get(tz) or local.strftime("%Z")
    month = _MONTHS[language][local.month - 1]
    return f"{local.day} {month} {local.year} {local:%H:%M} {zone}"


def format_duration(delta: timedelta, language: str) -> str:
    """``2 hari 7 jam`` / ``2 days 7 hours``; minutes below one hour."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    words = {
        "id": ("hari", "hari", "jam", "jam", "menit", "menit"),
        "en": ("day", "days", "hour", "hours", "minute", "minutes"),
    }[language]
    parts = []
    if days:
        parts.append(f"{days} {words[0] if days == 1 else words[1]}")
    if hours:
        parts.append(f"{hours} {words[2] if hours == 1 else words[3]}")
    if not days and (mins or not parts):
        parts.append(f"{mins} {words[4] if mins == 1 else words[5]}")
    return " ".join(parts)


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


def render(
    alert: Alert, language: str, policy: Policy, case_url: str, recipient_role: str
) -> tuple[str, str]:
    """(subject, body) of ``alert`` in ``language`` (``id`` or ``en``; the words are in
    `consumers.notifier.texts`)."""
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
    ]
    if alert.deadline:
        lines.append(labelled(w.deadline, format_instant(alert.deadline, alert.tz, lang)))
    if alert.late_by is not None:
        late = format_duration(alert.late_by, lang)
        lines.append(labelled(w.lateness, w.late.format(late=late)))
    elif alert.remaining is not None:
        lines.append(labelled(w.left, format_duration(alert.remaining, lang)))
    lines += [
        labelled(w.occurred, format_instant(alert.occurred_at, alert.tz, lang)),
        "",
        labelled(w.link, case_url.replace("{tracking}", alert.case_id)),
        "",
        *words.footer,
    ]
    return w.subject[alert.kind].format(**fields), "\n".join(lines) + "\n"
