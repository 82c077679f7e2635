"""The words of alerts and daily digests: data, one YAML file per language in ``words/``.

``words/id.yaml`` (Indonesian, the default) and ``words/en.yaml`` hold every template, label,
unit, month and stage name; `consumers.notifier.alerts.render` and
`consumers.notifier.digest.render_digest` fill them with ``str.format`` fields (``{case}``,
``{stage}``, ``{pct}``, ``{level}``, ``{title}``, ``{n}``, ``{s}`` for an English plural ...). A
field a template does not name is simply not shown. A new language is a new file (and its code
in `LANGUAGES`), no code. A label is padded to `LABEL_WIDTH` so the values line up.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

__all__ = [
    "LABEL_WIDTH",
    "LANGUAGES",
    "AlertWords",
    "DigestWords",
    "Words",
    "footer_for",
    "labelled",
    "words_for",
]

LABEL_WIDTH = 19
"""Wide enough for the longest label ("Waktu pemberitahuan")."""
LANGUAGES = ("id", "en")
_DIR = Path(__file__).with_name("words")


def labelled(label: str, value: str) -> str:
    """``Tahap           : Verifikasi``."""
    return f"{label:<{LABEL_WIDTH}}: {value}"


class _Words(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertWords(_Words):
    subject: dict[str, str]
    """Per alert kind (warning, escalation, reminder)."""
    head: dict[str, str]
    """The first sentence, per alert kind."""
    tracking: str
    agency: str
    stage: str
    deadline: str
    """The stage's deadline."""
    level_deadline: str
    """The deadline of the level an escalation reached (``{level}``)."""
    next_reminder: str
    lateness: str
    left: str
    occurred: str
    link: str


class DigestWords(_Words):
    subject: str
    subject_escalated: str
    """Appended to the subject when the count of escalated cases is known."""
    intro: tuple[str, ...]
    what: dict[str, str]
    """One alert's kind in words: warning, warning_pct (a threshold known), escalation, reminder."""
    agency: str
    stage: str
    lateness: str
    sent: str
    link: str
    late: str
    left: str
    escalated: str


class Words(_Words):
    greeting: str
    footer: tuple[str, ...]
    email_footer: tuple[str, ...]
    """Added on email only (e.g. do not reply): a chat or a webhook can be answered."""
    decimal: str
    units: dict[str, str]
    """day, days, hour, hours, minute, minutes."""
    office_hours: str
    office_minutes: str
    months: tuple[str, ...]
    stages: dict[str, str]
    """Per `workflow.sla.Stage` value."""
    alert: AlertWords
    digest: DigestWords


@cache
def words_for(language: str) -> Words:
    """The words of ``language`` (``en``; anything else gets Indonesian)."""
    code = language if language in LANGUAGES else "id"
    data = yaml.safe_load((_DIR / f"{code}.yaml").read_text(encoding="utf-8"))
    return Words.model_validate(data)


def footer_for(words: Words, channel: str) -> tuple[str, ...]:
    """The closing lines of a message sent over ``channel``."""
    return words.footer + (words.email_footer if channel == "email" else ())
