"""Which events the reporter hears about, and the words (``texts.yaml``) they hear.

`moment_of` turns one event of ``cases.events`` into a `Moment` (the kind of message and its
facts) or None; `Texts.render` makes the subject and body in the reporter's language. Only
reporter-facing facts are used: the question, the plan, the resolution text, the rejection reason
as a plain sentence; never a note, an actor id or an officer's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from workflow.policy import Policy
from workflow.sla import Stage, deadline

__all__ = ["Moment", "Rendered", "Texts", "load_texts", "moment_of"]

TEXTS_FILE = Path(__file__).with_name("texts.yaml")
DEFAULT_LANGUAGE = "id"

#: Event type -> message kind, for the events whose kind does not depend on the payload.
_SIMPLE_KINDS = {
    "CaseOpened": "received",
    "InformationProvided": "information_received",
    "ResolutionDisputed": "dispute_received",
    "ResolutionConfirmed": "closed_confirmed",
    "ClosedForReporterSilence": "closed_silence",
    "ComplaintWithdrawn": "withdrawn",
    "WithdrawnForMissingInformation": "withdrawn_no_information",
    "InformationRequestLapsed": "information_lapsed",
}
#: Stages an agency runs: a question asked while one is paused is the agency's question.
_AGENCY_STAGES = frozenset({Stage.FOLLOW_UP_PLAN, Stage.RESOLUTION})
#: Kinds after which the case is over (the contact's tombstone clock starts).
FINAL_KINDS = frozenset(
    {"rejected", "closed_confirmed", "closed_silence", "withdrawn", "withdrawn_no_information"}
)


@dataclass(frozen=True)
class Moment:
    """One thing to tell the reporter of ``case_id``; ``event_id`` names the moment."""

    case_id: str
    kind: str
    event_id: str
    occurred_at: datetime
    facts: dict[str, Any] = field(default_factory=dict)

    def key(self, channel: str) -> str:
        """The idempotency key: once per (case, moment, channel)."""
        return f"{self.case_id}|{self.kind}|{self.event_id}|{channel}"


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    template: str
    params: tuple[str, ...]
    language: str = DEFAULT_LANGUAGE
    """The language the text is in (the WhatsApp template's language code too)."""


def _agency_name(policy: Policy, code: str | None) -> str:
    if not code:
        return "instansi terkait"
    try:
        return policy.agency(code).name
    except KeyError:
        return code


def moment_of(event: Any, policy: Policy) -> Moment | None:
    """The reporter-facing moment of a parsed event, or None (nothing to tell)."""
    kind = _SIMPLE_KINDS.get(event.type)
    payload = event.payload
    facts: dict[str, Any] = {}
    if event.type == "InformationRequested":
        # Asked while an agency's clock is paused: the agency goes on without an answer.
        paused = payload.timers.clock
        by_agency = paused is not None and paused.stage in _AGENCY_STAGES
        kind = "information_requested_agency" if by_agency else "information_requested"
        facts = {"question": payload.question, "deadline": payload.timers.reporter_due_at}
        if by_agency:
            facts["agency"] = _agency_name(policy, payload.actor.agency)
    elif event.type in ("CaseReferred", "AgencyReassigned"):
        kind = "referred"
        clock = payload.timers.clock
        expected = deadline(clock, policy.calendar_for(payload.agency)) if clock else None
        facts = {"agency": _agency_name(policy, payload.agency), "expected": expected}
    elif event.type == "FollowUpPlanPosted":
        kind = "plan_posted"
        facts = {"agency": _agency_name(policy, payload.actor.agency), "plan": payload.plan}
    elif event.type == "ComplaintResolved":
        kind = "resolved"
        facts = {
            "agency": _agency_name(policy, payload.actor.agency),
            "resolution": payload.resolution_text,
            "until": payload.timers.reporter_due_at or payload.reopen_until,
        }
    elif event.type == "ReporterReminderIssued":
        waits_for = "information" if payload.stage is Stage.REPORTER_INFORMATION else "confirmation"
        kind = f"reminder_{waits_for}"
        facts = {"deadline": payload.deadline}
    elif event.type == "ComplaintRejected":
        kind = "rejected"
        facts = {"reason_code": str(payload.reason)}
    elif event.type == "IncidentLinked":
        # Named by the incident, not the event: told once per incident, not again each time
        # more reporters join. Only the count: nothing about the other reporters.
        facts = {"reporters": payload.reporters}
        return Moment(
            event.case_id, "incident_linked", payload.incident_id, event.occurred_at, facts
        )
    if kind is None:
        return None
    return Moment(event.case_id, kind, event.event_id, event.occurred_at, facts)


class Texts:
    """The message texts of ``texts.yaml``, rendered for one moment and language."""

    def __init__(self, data: dict[str, Any], lookup_url: str, tz: str) -> None:
        self._data = data
        self.lookup_url = lookup_url
        self.tz = tz

    def _language(self, language: str) -> dict[str, Any]:
        found: dict[str, Any] = self._data[self._code(language)]
        return found

    def _code(self, language: str) -> str:
        primary = language.split("-", 1)[0].lower()
        return primary if primary in self._data else DEFAULT_LANGUAGE

    def _text(self, language: str, section: str, name: str) -> tuple[str, Any]:
        """(language, text) of ``section.name`` in ``language``, else in Indonesian: a
        translation may cover only some messages."""
        code = self._code(language)
        text = self._data[code].get(section, {}).get(name)
        if text is None:
            code, text = DEFAULT_LANGUAGE, self._data[DEFAULT_LANGUAGE][section][name]
        return code, text

    def when(self, at: datetime | None, language: str = DEFAULT_LANGUAGE) -> str:
        """``7 Desember 2026 pukul 16.00 WIT``; "-" when unknown."""
        if at is None:
            return "-"
        words = self._language(language)
        local = at.astimezone(ZoneInfo(self.tz))
        month = words["months"][local.month - 1]
        zone = words["zones"].get(self.tz, local.tzname() or "")
        at_word = words.get("at", "pukul")
        return f"{local.day} {month} {local.year} {at_word} {local:%H.%M} {zone}".rstrip()

    def _values(self, moment: Moment, words: dict[str, Any], language: str) -> dict[str, str]:
        values = {"case_id": moment.case_id, "lookup_url": self.lookup_url}
        for name, value in moment.facts.items():
            values[name] = self.when(value, language) if isinstance(value, datetime) else value
            if value is None:
                values[name] = "-"
        if "reason_code" in moment.facts:
            reasons = words["rejection_reasons"]
            values["reason"] = reasons.get(moment.facts["reason_code"], moment.facts["reason_code"])
        values["lookup"] = words["lookup"].format(**values)
        return values

    def render(self, moment: Moment, language: str = DEFAULT_LANGUAGE) -> Rendered:
        """The message in ``language`` where ``texts.yaml`` has it, else in Indonesian."""
        code, text = self._text(language, "kinds", moment.kind)
        words = self._language(code)
        values = self._values(moment, words, code)
        body = " ".join(str(text["body"]).split()).format(**values)
        params = tuple(str(values[name]) for name in text["params"])
        return Rendered(text["subject"].format(**values), body, text["template"], params, code)

    def reply(self, name: str, case_id: str = "", language: str = DEFAULT_LANGUAGE) -> Rendered:
        """An answer to a reply (``replies`` in ``texts.yaml``), in ``language`` if it has one."""
        code, text = self._text(language, "replies", name)
        words = self._language(code)
        values = {"case_id": case_id, "lookup_url": self.lookup_url}
        values["lookup"] = words["lookup"].format(**values)
        body = " ".join(str(text).split()).format(**values)
        subject = words.get("answer_subject", "Pengaduan {case_id}").format(**values).strip()
        return Rendered(subject, body, "aduan_jawaban", (body,), code)


@cache
def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def load_texts(lookup_url: str, tz: str, path: Path = TEXTS_FILE) -> Texts:
    return Texts(_read(path), lookup_url, tz)
