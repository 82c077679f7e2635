"""The policy: every configurable number and table of the workflow core, loaded from YAML.

`load_policy()` without a path reads the packaged defaults (``workflow/defaults/policy.yaml``:
Kabupaten Maluku Tengah, WIT). ``overrides`` are deep-merged over the file before validation
(defaults < file < explicit overrides). Any problem raises `PolicyError` whose message is one
line naming the entry, e.g. ``policy.yaml: agencies[3].tz: 'Asia/Tokyo' is not one of the
WIB/WITA/WIT zones (Asia/Jakarta, Asia/Makassar, Asia/Jayapura)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from workflow.calendar import REGIONAL_DAY_OFF, OfficeHours, WorkingCalendar
from workflow.enums import Priority
from workflow.escalation import EscalationLadder
from workflow.regional import (
    CalendarRules,
    OfficeHoursOverride,
    RegionalDayOff,
    calendar_rules_for,
    check_regional_rules,
)
from workflow.routing import Router, RoutingRule, normalize_key
from workflow.sla import ComplaintClass, DayType, SlaTarget, Stage
from workflow.validation import describe_validation_error

__all__ = [
    "DEFAULT_POLICY_PATH",
    "INDONESIAN_ZONES",
    "Agency",
    "Policy",
    "PolicyError",
    "Region",
    "SlaPolicy",
    "TimeZoneName",
    "load_policy",
]

TimeZoneName = Literal["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"]
"""WIB (UTC+7), WITA (UTC+8), WIT (UTC+9)."""
INDONESIAN_ZONES: tuple[str, ...] = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
DEFAULT_POLICY_PATH = Path(__file__).parent / "defaults" / "policy.yaml"
"""The packaged default policy (shipped as package data, see pyproject)."""
_ZONE_HINT = "is not one of the WIB/WITA/WIT zones (Asia/Jakarta, Asia/Makassar, Asia/Jayapura)"


class PolicyError(ValueError):
    """The policy file or overrides are invalid; the message is one line naming the entry."""


def _wd(n: int) -> SlaTarget:
    return SlaTarget(amount=n, unit=DayType.WORKING)


class Region(BaseModel):
    """The local government the engine serves (Kemendagri code and name)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^\d{2}(\.\d{2})*$")
    name: str = Field(min_length=1)


class Agency(BaseModel):
    """A responsible agency (OPD) with its time zone and, optionally, its own ladder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9_\-]*$")
    name: str = Field(min_length=1)
    tz: TimeZoneName = "Asia/Jayapura"
    ladder: EscalationLadder | None = None
    """None = the policy's default ladder."""


def _default_resolution() -> dict[ComplaintClass, SlaTarget]:
    return {
        ComplaintClass.LIGHT: _wd(2),
        ComplaintClass.NORMATIVE: _wd(5),
        ComplaintClass.NO_OVERSIGHT: _wd(14),
        ComplaintClass.EXAMINATION: _wd(60),
    }


class SlaPolicy(BaseModel):
    """SLA targets per stage and complaint class, warning thresholds and the reopen rules.

    The resolution target is chosen by `resolution_target`: an explicit complaint class wins;
    else ``class_by_priority`` for the case's priority; else ``class_by_category`` for its
    (maladministration or service) category; else ``default_class``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    verification: SlaTarget = _wd(3)
    follow_up_plan: SlaTarget = _wd(5)
    resolution: dict[ComplaintClass, SlaTarget] = Field(default_factory=_default_resolution)
    default_class: ComplaintClass = ComplaintClass.NORMATIVE
    class_by_category: dict[str, ComplaintClass] = Field(default_factory=dict)
    """Maladministration or service category -> complaint class (keys compared normalized)."""
    class_by_priority: dict[str, ComplaintClass] = Field(default_factory=dict)
    """Priority label (e.g. "urgent") -> complaint class."""
    reporter_information: SlaTarget = SlaTarget(amount=30, unit=DayType.CALENDAR)
    reporter_confirmation: SlaTarget = _wd(10)
    reporter_reminder_at: float = Field(default=0.8, gt=0, lt=1)
    """The reporter is reminded once when this fraction of their time to answer a question or
    confirm a resolution has passed (0.8: day 24 of 30; 2 working days before the 10th)."""
    warning_thresholds: tuple[float, ...] = (0.5, 0.75)
    reopen_window: SlaTarget = _wd(10)
    """After resolution, how long a dispute by the reporter reopens the case."""
    reopen_grace_working_days: int = Field(default=1, ge=1)
    """A reopened case cannot breach before the close of this many working days later."""
    intake_future_skew_seconds: int = Field(default=300, ge=0)
    """An intake whose ``received_at`` is more than this ahead of the engine's clock opens its
    case at the engine's clock (the claim is recorded): a future start would hold the clock."""
    intake_max_age_hours: int = Field(default=24, ge=1)
    """An intake whose ``received_at`` is more than this behind the engine's clock opens its case
    at the engine's clock (the claim is recorded): a backdated start would breach at once. Set it
    above the longest backlog the engine may have to catch up on after an outage."""

    @field_validator("warning_thresholds")
    @classmethod
    def _check_thresholds(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 < f < 1 for f in v):
            raise ValueError(f"warning thresholds must lie strictly between 0 and 1, got {v}")
        if list(v) != sorted(set(v)):
            raise ValueError(f"warning thresholds must be strictly ascending, got {v}")
        return v

    @field_validator("class_by_priority")
    @classmethod
    def _check_priorities(cls, v: dict[str, ComplaintClass]) -> dict[str, ComplaintClass]:
        """An entry no message can select would silently do nothing: refuse it."""
        known = [p.value for p in Priority]
        seen: dict[str, str] = {}
        for label in v:
            key = normalize_key(label)
            if key not in known:
                raise ValueError(
                    f"{label!r}: no intake or verification carries this priority, so the entry "
                    f"can have no effect (priorities: {', '.join(known)})"
                )
            if key in seen:
                raise ValueError(f"{label!r} and {seen[key]!r} name one priority")
            seen[key] = label
        return v

    @model_validator(mode="after")
    def _check_classes(self) -> SlaPolicy:
        missing = [c.value for c in ComplaintClass if c not in self.resolution]
        if missing:
            raise ValueError(f"resolution: no target for complaint class {', '.join(missing)}")
        return self

    @property
    def reopen_grace(self) -> SlaTarget:
        """The reopen grace as a target (working days)."""
        return _wd(self.reopen_grace_working_days)

    def complaint_class(
        self,
        complaint_class: ComplaintClass | str | None = None,
        category: str | None = None,
        priority: str | None = None,
    ) -> ComplaintClass:
        """The complaint class that applies (see the class docstring for the order)."""
        if complaint_class is not None:
            return ComplaintClass(complaint_class)
        if priority is not None:
            by_priority = {normalize_key(k): v for k, v in self.class_by_priority.items()}
            found = by_priority.get(normalize_key(priority))
            if found is not None:
                return found
        if category is not None:
            by_category = {normalize_key(k): v for k, v in self.class_by_category.items()}
            found = by_category.get(normalize_key(category))
            if found is not None:
                return found
        return self.default_class

    def resolution_target(
        self,
        complaint_class: ComplaintClass | str | None = None,
        category: str | None = None,
        priority: str | None = None,
    ) -> SlaTarget:
        """The resolution target for a complaint class, or as derived from category/priority."""
        return self.resolution[self.complaint_class(complaint_class, category, priority)]

    def target(
        self, stage: Stage, complaint_class: ComplaintClass | str | None = None
    ) -> SlaTarget:
        """The target of a stage (RESOLUTION by complaint class; ESCALATION is per ladder level
        and raises ValueError here)."""
        match stage:
            case Stage.VERIFICATION:
                return self.verification
            case Stage.FOLLOW_UP_PLAN:
                return self.follow_up_plan
            case Stage.RESOLUTION:
                return self.resolution_target(complaint_class)
            case Stage.REPORTER_INFORMATION:
                return self.reporter_information
            case Stage.REPORTER_CONFIRMATION:
                return self.reporter_confirmation
            case _:
                raise ValueError("the escalation deadline comes from the ladder level")


class _Caches:
    """Lazily built helpers of a policy; invisible to equality so caching changes nothing."""

    __slots__ = ("calendars", "router")

    def __init__(self) -> None:
        # Keyed by everything they are built from, so a `model_copy(update=...)` that shares
        # this object with its original can never see a stale entry.
        self.calendars: dict[
            tuple[str, OfficeHours, tuple[date, ...], CalendarRules], WorkingCalendar
        ] = {}
        self.router: dict[tuple[Any, ...], Router] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Caches)

    def __hash__(self) -> int:
        return 0


class Policy(BaseModel):
    """The whole configurable policy of one deployment; frozen, validated at load.

    Calendars (one per time zone) and the router are built lazily once and cached on the
    instance.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: Region = Region(code="81.01", name="Kabupaten Maluku Tengah")
    default_tz: TimeZoneName = "Asia/Jayapura"
    office_hours: OfficeHours = OfficeHours()
    extra_days_off: tuple[date, ...] = ()
    """Regional days off on top of national holidays and cuti bersama (every agency; no name:
    `regional_days_off` names them and can limit them to agencies or zones)."""
    regional_days_off: tuple[RegionalDayOff, ...] = ()
    office_hours_overrides: tuple[OfficeHoursOverride, ...] = ()
    """Office hours by date range (e.g. Ramadan), per agency or zone or for all."""
    agencies: tuple[Agency, ...]
    sla: SlaPolicy = SlaPolicy()
    ladder: EscalationLadder = EscalationLadder()
    routing: tuple[RoutingRule, ...] = ()
    triage_agency: str

    _caches: _Caches = PrivateAttr(default_factory=_Caches)

    @model_validator(mode="after")
    def _check_references(self) -> Policy:
        codes: dict[str, int] = {}
        for i, agency in enumerate(self.agencies):
            if agency.code in codes:
                raise ValueError(
                    f"agencies[{i}].code: duplicate agency code {agency.code!r} "
                    f"(also agencies[{codes[agency.code]}])"
                )
            codes[agency.code] = i
        if not codes:
            raise ValueError("agencies: at least one agency is required")
        if self.triage_agency not in codes:
            raise ValueError(f"triage_agency: unknown agency {self.triage_agency!r}")
        for i, rule in enumerate(self.routing):
            if rule.agency not in codes:
                raise ValueError(f"routing[{i}].agency: unknown agency {rule.agency!r}")
        zones = {a.code: str(a.tz) for a in self.agencies}
        check_regional_rules(zones, self.regional_days_off, self.office_hours_overrides)
        return self

    def agency(self, code: str) -> Agency:
        """The agency with this code; KeyError naming the known codes otherwise."""
        for agency in self.agencies:
            if agency.code == code:
                return agency
        known = ", ".join(a.code for a in self.agencies)
        raise KeyError(f"unknown agency {code!r}; known agencies: {known}")

    def tz_for(self, agency_code: str | None) -> str:
        """The time zone of an agency, or the default zone for None."""
        return self.default_tz if agency_code is None else self.agency(agency_code).tz

    def calendar_for(self, agency_code: str | None) -> WorkingCalendar:
        """The working calendar of an agency: its zone, and the regional days off and office
        hour overrides that hold for it (None -> the default zone); cached per distinct set."""
        tz = self.tz_for(agency_code)
        rules = calendar_rules_for(
            agency_code, tz, self.regional_days_off, self.office_hours_overrides
        )
        key = (tz, self.office_hours, self.extra_days_off, rules)
        cal = self._caches.calendars.get(key)
        if cal is None:
            named, overrides = rules
            days_off = {**dict.fromkeys(self.extra_days_off, REGIONAL_DAY_OFF), **dict(named)}
            cal = WorkingCalendar(tz, self.office_hours, days_off, hours_overrides=overrides)
            self._caches.calendars[key] = cal
        return cal

    def router(self) -> Router:
        """The compiled router (built once)."""
        codes = tuple(a.code for a in self.agencies)
        key = (self.routing, self.triage_agency, codes)
        router = self._caches.router.get(key)
        if router is None:
            router = Router(self.routing, self.triage_agency, codes)
            self._caches.router[key] = router
        return router

    def ladder_for(self, agency: str | Agency | None) -> EscalationLadder:
        """The agency's own ladder, else the policy default (also for None)."""
        if agency is None:
            return self.ladder
        found = self.agency(agency) if isinstance(agency, str) else agency
        return found.ladder or self.ladder

    def resolution_target(
        self,
        complaint_class: ComplaintClass | str | None = None,
        category: str | None = None,
        priority: str | None = None,
    ) -> SlaTarget:
        """Shortcut for `SlaPolicy.resolution_target`."""
        return self.sla.resolution_target(complaint_class, category, priority)


# -- loading -----------------------------------------------------------------------------------


def _deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _deep_merge(base[key], value) if key in base else value
        return merged
    return over


def _explain(err: Mapping[str, Any]) -> str | None:
    """Policy errors may show the offending value (a policy file holds no secrets)."""
    msg = str(err.get("msg", "invalid"))
    if msg.startswith("Value error, "):
        return None
    loc = err.get("loc", ())
    if err.get("type") == "literal_error" and loc and str(loc[-1]).endswith("tz"):
        return f"{err.get('input')!r} {_ZONE_HINT}"
    if err.get("type") == "extra_forbidden":
        return "unknown entry"
    if "input" in err and err.get("type") != "missing":
        shown = repr(err["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return f"{msg} (got {shown})"
    return msg


def policy_error(source: str, exc: ValidationError) -> PolicyError:
    """Turn a pydantic validation error into a one-line `PolicyError` naming the entry."""
    detail = describe_validation_error(
        exc, root="", first_only=True, brackets=True, explain=_explain
    )
    return PolicyError(f"{source}: {detail}")


def load_policy(
    path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> Policy:
    """Load and validate a policy from YAML (None -> the packaged defaults).

    ``overrides`` is deep-merged over the file's content (mappings merge key by key; lists and
    scalars replace). Raises `PolicyError` with one line naming the file and entry.
    """
    if path is None:
        source = "policy.yaml"
        text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    else:
        source = Path(path).name
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PolicyError(f"{source}: {where}invalid YAML: {problem}") from exc
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise PolicyError(f"{source}: the top level must be a mapping, got {type(data).__name__}")
    if overrides:
        data = _deep_merge(data, overrides)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise policy_error(source, exc) from exc
