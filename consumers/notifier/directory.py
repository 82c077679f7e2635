"""The officer directory: who is alerted for which agency and escalation level, and how.

The directory is a YAML file (``ADUAN_NOTIFIER_DIRECTORY``; sample in
``deploy/notifier/officers.yaml``)::

    language: id                      # id (default) or en: language of the alerts
    case_url: "http://127.0.0.1:8080/v1/cases/{tracking}"
    smtp: {host: 127.0.0.1, port: 2525, sender: aduan@example.go.id, mode: insecure}
    officers:
      - id: kadis-dinkes
        name: Kepala Dinas Kesehatan
        role: Kepala OPD
        email: kepala.dinkes@example.go.id      # through the smtp block above
        webhook: https://hooks.example/aduan    # JSON POST (title, message, type)
        chat: ["tgram://bottoken/chat_id"]      # any apprise URL: Telegram, Slack, WhatsApp...
        language: en                            # optional, overrides the default
        digest: false                           # optional: no daily digest for this officer
    digest: {enabled: true, at: "07:30"}        # optional daily digest (off by default)
    agencies:
      "*":                                      # every agency, unless it names its own
        liaison: [admin-pengaduan]
        levels: {2: [sekda, inspektur], 3: [ombudsman-maluku]}
      DINKES:
        liaison: [penghubung-dinkes]
        levels: {1: [kadis-dinkes]}

A warning goes to the agency's ``liaison``; an escalation to level *n* (or a reminder at the top
level) goes to ``levels[n]``. An agency's own entry wins over ``"*"``, role by role.

``digest`` (off unless ``enabled: true``) sends every officer, once a day at ``at`` (HH:MM, local
time of the officer's agencies, see `Directory.officer_zone`), a summary of the alerts delivered to
them in the 24 hours before; an officer opts out with ``digest: false``
(`consumers.notifier.digest`).

`load_directory` checks everything that can be checked before the first alert: the YAML shape,
every officer has at least one target, email addresses, webhook and chat URLs (parsed by
apprise), every officer referenced exists, agency codes and level numbers exist in the policy.
The first problem is reported as one line naming the entry, e.g.
``officers.yaml: agencies.DINKES.levels.1[0]: unknown officer 'kadis'``.
"""

from __future__ import annotations

import os
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workflow.policy import Policy

__all__ = [
    "ANY_AGENCY",
    "AgencyRoutes",
    "DigestSchedule",
    "Directory",
    "DirectoryError",
    "Officer",
    "SmtpServer",
    "Target",
    "load_directory",
]

ANY_AGENCY = "*"
Language = Literal["id", "en"]


class DirectoryError(ValueError):
    """An invalid officer directory; ``str()`` is one line naming the file and the entry."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmtpServer(_Model):
    """The SMTP server every ``email`` target is sent through."""

    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = Field(min_length=3, description="From address of the alerts.")
    sender_name: str = "aduan"
    mode: Literal["insecure", "starttls", "ssl"] = "starttls"
    user: str | None = None
    password_env: str | None = Field(
        default=None, description="Name of the environment variable holding the SMTP password."
    )
    timeout: float = Field(default=10.0, gt=0, description="Connect timeout in seconds.")

    @field_validator("sender")
    @classmethod
    def _sender(cls, v: str) -> str:
        return _email(v)


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address ({exc})") from None


class Officer(_Model):
    """One person (or desk) and where to reach them."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1)
    role: str = Field(min_length=1, description="Human title, e.g. 'Kepala OPD'.")
    email: str | None = None
    webhook: str | None = None
    chat: tuple[str, ...] = ()
    language: Language | None = None
    digest: bool = Field(
        default=True, description="False: no daily digest for this officer (when enabled)."
    )

    @field_validator("email")
    @classmethod
    def _check_email(cls, v: str | None) -> str | None:
        return None if v is None else _email(v)

    @field_validator("webhook")
    @classmethod
    def _check_webhook(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("a webhook must be an http:// or https:// URL")
        return v


class DigestSchedule(_Model):
    """The optional daily digest: off unless ``enabled``; sent at ``at`` (HH:MM) local time."""

    enabled: bool = False
    at: str = Field(default="07:30", description="Local time of day, HH:MM (24 hours).")

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, v: Any) -> Any:
        if isinstance(v, int) and 0 <= v < 24 * 60:  # YAML 1.1 reads 07:30 unquoted as 450
            return f"{v // 60:02d}:{v % 60:02d}"
        if not isinstance(v, str) or not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", v):
            raise ValueError('must be a time of day HH:MM, e.g. "07:30"')
        return v

    @property
    def time(self) -> time:
        hours, minutes = self.at.split(":")
        return time(int(hours), int(minutes))


class AgencyRoutes(_Model):
    """Who is alerted for one agency (or for every agency, under ``"*"``)."""

    liaison: tuple[str, ...] | None = None
    levels: dict[Annotated[int, Field(ge=1)], tuple[str, ...]] = Field(default_factory=dict)


class Target(_Model):
    """One way to reach one officer. ``url`` is an apprise URL and may hold a secret: never log
    it; log ``label``."""

    officer: str
    channel: Literal["email", "webhook", "chat"]
    index: int = 0
    url: str = Field(repr=False)
    label: str

    @property
    def id(self) -> str:
        """Stable identity inside a receipt, e.g. ``kadis-dinkes/email``."""
        suffix = f"{self.index}" if self.channel == "chat" else ""
        return f"{self.officer}/{self.channel}{suffix}"


class Directory(_Model):
    """The validated directory (see the module docstring)."""

    language: Language = "id"
    case_url: str = Field(
        default="http://127.0.0.1:8080/v1/cases/{tracking}",
        description="Where an officer looks the case up; {tracking} is the tracking number.",
    )
    smtp: SmtpServer | None = None
    officers: tuple[Officer, ...]
    agencies: dict[str, AgencyRoutes]
    digest: DigestSchedule = DigestSchedule()

    @field_validator("case_url")
    @classmethod
    def _case_url(cls, v: str) -> str:
        if "{tracking}" not in v:
            raise ValueError("must contain {tracking}")
        return v

    # -- lookups ---------------------------------------------------------------------------

    def officer(self, officer_id: str) -> Officer:
        for officer in self.officers:
            if officer.id == officer_id:
                return officer
        raise KeyError(officer_id)

    def _routes(self, agency: str | None) -> list[AgencyRoutes]:
        found = [self.agencies[agency]] if agency is not None and agency in self.agencies else []
        if ANY_AGENCY in self.agencies:
            found.append(self.agencies[ANY_AGENCY])
        return found

    def liaisons(self, agency: str | None) -> list[Officer]:
        """The officers a warning for ``agency`` goes to (its own entry first, else ``*``)."""
        for routes in self._routes(agency):
            if routes.liaison is not None:
                return [self.officer(o) for o in routes.liaison]
        return []

    def level_officers(self, agency: str | None, level: int) -> list[Officer]:
        """The officers alerted when a case of ``agency`` reaches escalation ``level``."""
        for routes in self._routes(agency):
            if level in routes.levels:
                return [self.officer(o) for o in routes.levels[level]]
        return []

    def targets(self, officer: Officer) -> list[Target]:
        """Every apprise target of ``officer``, in a stable order."""
        found: list[Target] = []
        if officer.email is not None and self.smtp is not None:
            found.append(
                Target(
                    officer=officer.id,
                    channel="email",
                    url=_mailto(self.smtp, officer.email),
                    label=f"email {officer.email}",
                )
            )
        if officer.webhook is not None:
            url = officer.webhook
            scheme = "jsons" if url.startswith("https://") else "json"
            found.append(
                Target(
                    officer=officer.id,
                    channel="webhook",
                    url=f"{scheme}://{url.split('://', 1)[1]}",
                    label=f"webhook {url.split('://', 1)[1].split('/', 1)[0]}",
                )
            )
        for i, url in enumerate(officer.chat):
            found.append(
                Target(
                    officer=officer.id,
                    channel="chat",
                    index=i,
                    url=url,
                    label=f"chat {url.split('://', 1)[0]}",
                )
            )
        return found

    def language_for(self, officer: Officer) -> Language:
        return officer.language or self.language

    def digest_officers(self) -> list[Officer]:
        """The officers who get the daily digest (none unless ``digest.enabled``)."""
        if not self.digest.enabled:
            return []
        return [o for o in self.officers if o.digest]

    def officer_agencies(self, officer_id: str) -> list[str]:
        """The agency codes (not ``"*"``) whose routes name ``officer_id``, sorted."""
        found = set()
        for code, routes in self.agencies.items():
            if code == ANY_AGENCY:
                continue
            named = set(routes.liaison or ()).union(*routes.levels.values())
            if officer_id in named:
                found.add(code)
        return sorted(found)

    def officer_zone(self, officer: Officer, policy: Policy) -> str:
        """The time zone of ``officer``'s digest: the zone of the agencies whose routes name
        them when they agree on one, else the policy's default zone."""
        zones = set()
        for code in self.officer_agencies(officer.id):
            try:
                zones.add(policy.tz_for(code))
            except KeyError:
                continue
        return zones.pop() if len(zones) == 1 else policy.default_tz


def _mailto(smtp: SmtpServer, to: str) -> str:
    from urllib.parse import quote, urlencode

    auth = ""
    if smtp.user:
        password = os.environ.get(smtp.password_env, "") if smtp.password_env else ""
        auth = quote(smtp.user, safe="") + (f":{quote(password, safe='')}" if password else "")
        auth += "@"
    query = urlencode(
        {
            "from": smtp.sender,
            "name": smtp.sender_name,
            "to": to,
            "mode": smtp.mode,
            "format": "text",
            "cto": str(int(smtp.timeout)),
        }
    )
    return f"mailto://{auth}{smtp.host}:{smtp.port}?{query}"


# -- loading and checking -------------------------------------------------------------------------


def _where(loc: tuple[Any, ...], data: Any) -> str:
    parts: list[str] = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(part, int) and parts:
            label = f"[{part}]"
            if i == 1 and loc[0] == "officers" and isinstance(node, list) and part < len(node):
                entry = node[part]
                if isinstance(entry, dict) and "id" in entry:
                    label += f" (id {entry['id']!r})"
            parts[-1] += label
        else:
            parts.append(str(part))
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return ".".join(parts) or "<file>"


def _check_references(directory: Directory, policy: Policy | None) -> str | None:
    """The first cross-reference problem as ``entry: message``, or None."""
    import apprise

    ids: set[str] = set()
    for i, officer in enumerate(directory.officers):
        where = f"officers[{i}] (id {officer.id!r})"
        if officer.id in ids:
            return f"{where}.id: duplicate officer id"
        ids.add(officer.id)
        if officer.email is not None and directory.smtp is None:
            return f"{where}.email: an email target needs the 'smtp' block"
        if not directory.targets(officer):
            return f"{where}: no email, webhook or chat to reach this officer"
        for j, url in enumerate(officer.chat):
            if not apprise.Apprise().add(url):
                return f"{where}.chat[{j}]: not a URL apprise can send to (scheme {url[:12]!r}...)"
        for target in directory.targets(officer):
            if target.channel == "webhook" and not apprise.Apprise().add(target.url):
                return f"{where}.webhook: not a valid URL"
    known = {a.code for a in policy.agencies} if policy is not None else None
    for code, routes in directory.agencies.items():
        where = f"agencies.{code}"
        if known is not None and code != ANY_AGENCY and code not in known:
            return f"{where}: unknown agency {code!r} (known: {', '.join(sorted(known))})"
        for j, officer_id in enumerate(routes.liaison or ()):
            if officer_id not in ids:
                return f"{where}.liaison[{j}]: unknown officer {officer_id!r}"
        for level, officers in routes.levels.items():
            if policy is not None:
                top = policy.ladder_for(None if code == ANY_AGENCY else code).top
                if level > top:
                    return f"{where}.levels.{level}: the escalation ladder has levels 1..{top}"
            for j, officer_id in enumerate(officers):
                if officer_id not in ids:
                    return f"{where}.levels.{level}[{j}]: unknown officer {officer_id!r}"
    return None


def load_directory(path: str | Path, policy: Policy | None = None) -> Directory:
    """Read and check the directory; raises `DirectoryError` (one line) on the first problem."""
    path = Path(path)
    name = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DirectoryError(f"{path}: cannot read the officer directory: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise DirectoryError(f"{name}: not valid YAML{at}") from None
    if not isinstance(data, dict):
        raise DirectoryError(f"{name}: the directory must be a mapping (officers, agencies)")
    try:
        directory = Directory.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "missing":
            message = "missing required field"
        raise DirectoryError(f"{name}: {_where(tuple(error['loc']), data)}: {message}") from None
    problem = _check_references(directory, policy)
    if problem is not None:
        raise DirectoryError(f"{name}: {problem}")
    return directory
