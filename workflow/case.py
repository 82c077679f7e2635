"""The Case aggregate: the compact snapshot the case table holds and ``cases.state`` carries.

A `Case` is immutable; `workflow.core.Workflow.evolve` returns a new one per event. It holds no
clear identity of an anonymous or confidential reporter (only the `ReporterView`), no complaint
text (that lives in the ``CaseOpened`` event on the audit trail) and a compact, bounded memory of
the messages it applied, so a snapshot stays around 1-2 KB: a million open cases fit in memory.

Idempotency under at-least-once delivery: a message applies at most once in the case's life.

* Every non-timer message the case applied (the intake, each command, including rejected ones)
  leaves its 8-byte `message_key` in ``applied_keys``: 8 bytes per message, no list, no strings.
  At `APPLIED_CAP` remembered messages the case is full: a further new command is refused with a
  ``CommandRejected(command_limit)`` that is not folded into the case (the shell dead-letters the
  command with its bytes), so nothing is ever silently forgotten. The memory is bounded by
  ``8 * APPLIED_CAP`` = 4 KiB per case; a typical case (intake and ~10 commands) holds ~90 bytes.
* Timer messages need no list. ``TimerFired`` is identified by its ``due_at``; ``timer_mark`` is
  the instant the timer last changed the case, and a timer whose ``due_at`` is at or before it
  (or in the future) does nothing. A timer that changed the case was due (``due_at <= now``), and
  the mark becomes that ``now``, so the same timer can never act again, however late it comes
  back. `Workflow.timer_message` never builds a timer at or before the mark.
* A duplicate intake is caught without either: the case already exists.

Snapshots written before this (schema_version 1, ``applied`` a list of the last 32 keys as hex
strings) still load: the list is folded into ``applied_keys`` (``applied`` stays empty now).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    model_validator,
)

from states.lifecycle import FINAL_STATES, CaseState
from workflow.enums import Channel, MaladministrationCategory, Priority, ReportType
from workflow.escalation import LevelReached
from workflow.reporter import ReporterView
from workflow.sla import ComplaintClass
from workflow.values import Timers

__all__ = ["APPLIED_CAP", "KEY_SIZE", "Case", "PackedKeys", "has_key", "message_key"]

APPLIED_CAP = 512
"""How many non-timer messages one case can apply in its life (see the module docstring)."""
KEY_SIZE = 8
"""Bytes per remembered message: a 64-bit digest (collision odds ~1e-14 at the cap)."""


def message_key(message_id: str) -> bytes:
    """The 64-bit digest of a message id kept in `Case.applied_keys`."""
    return hashlib.blake2b(message_id.encode(), digest_size=KEY_SIZE).digest()


def has_key(keys: bytes, key: bytes) -> bool:
    """True if ``key`` is one of the packed ``keys`` (aligned: a match across two keys is not)."""
    position = keys.find(key)
    while position >= 0:
        if position % KEY_SIZE == 0:
            return True
        position = keys.find(key, position + 1)
    return False


def _packed_from_json(value: Any) -> Any:
    # JSON carries the packed keys as base64 text; Python callers pass bytes.
    return base64.b64decode(value, validate=True) if isinstance(value, str) else value


PackedKeys = Annotated[
    bytes,
    BeforeValidator(_packed_from_json),
    PlainSerializer(lambda b: base64.b64encode(b).decode(), return_type=str, when_used="json"),
]
"""Concatenated 8-byte keys; base64 in JSON (both ``model_dump(mode="json")`` and JSON text)."""


class Case(BaseModel):
    """One complaint case. JSON round-trips exactly (``model_validate_json(model_dump_json())``).

    ``escalation_level`` is orthogonal to ``state`` (see `states.lifecycle`): 0 = not escalated.
    It is the level on the ladder of ``escalation_agency``, the agency that is (or was last)
    late; when the case passes to another agency the level is handed over to it (that agency's
    own level, 0 if it never was late on this case) and the previous agency's level goes to
    ``escalation_history`` (see `workflow.escalation_state`). Per agency the level only rises,
    so a notifier keyed on (case, agency, level) alerts each level of each ladder once.
    ``wake_at`` is the earliest of the next SLA warning/breach, the
    reporter deadline and the next escalation step: the instant the SLA timer must look at the
    case (None when nothing is pending, e.g. in final states).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    case_id: str
    state: CaseState
    version: int
    """Number of events applied."""
    correlation_id: str
    """The id of the message that opened the case (every event of the case carries it)."""
    applied: tuple[str, ...] = ()
    """Legacy (hex keys of the last 32 messages): folded into ``applied_keys`` on load; empty."""
    applied_keys: PackedKeys = b""
    """`message_key` of every non-timer message applied, in order (see the module docstring)."""
    timer_mark: AwareDatetime | None = None
    """When a ``TimerFired`` last changed the case; timers due at or before it do nothing."""
    opened_at: AwareDatetime
    channel: Channel
    report_type: ReportType
    category: MaladministrationCategory | None = None
    subject: str
    reporter: ReporterView
    triage_agency: str
    suggested_agency: str
    candidates: tuple[str, ...] = ()
    agency: str | None = None
    """The agency the case is referred to (None before referral)."""
    returned_by: tuple[str, ...] = ()
    """Agencies that returned the referral; excluded from re-routing."""
    complaint_class: ComplaintClass | None = None
    priority: Priority | None = None
    """The intake's priority, or the verifier's once verified (None: never given)."""
    incident_date: date | None = None
    """When the reporter says the maladministration happened (None: not given)."""
    incident_older_than_two_years: bool | None = None
    """The verifier's two-year check (`workflow.incident_age`); None without an incident date."""
    plan_posted: bool = False
    handler: str | None = None
    """The officer who took the case over, if any."""
    escalation_level: int = 0
    """The level on ``escalation_agency``'s ladder (0 = that agency has not been escalated)."""
    escalation_agency: str | None = None
    """Whose ladder ``escalation_level`` counts on; None until the first escalation or hand-over
    (and in snapshots older than this field: then the case's current owner)."""
    escalation_history: tuple[LevelReached, ...] = ()
    """The highest level reached on each earlier agency's ladder, one entry per agency, in the
    order they were left (never the current ``escalation_agency``)."""
    reopen_until: AwareDatetime | None = None
    reopen_count: int = 0
    timers: Timers = Timers()
    wake_at: AwareDatetime | None = None
    incident_id: str | None = None
    """The mass-complaint incident the case is linked to (`workflow.incidents`), if any."""
    incident_reporters: int = 0
    """Reporters of that incident when last recorded (its priority, `incident_priority`)."""
    incidents_refused: tuple[str, ...] = ()
    """Incidents an operator unlinked the case from: never linked to again."""

    @model_validator(mode="after")
    def _fold_legacy_applied(self) -> Case:
        """An old snapshot's ``applied`` hex keys become the first of ``applied_keys``. (After,
        not before, validation: a "before" validator makes pydantic build the whole JSON as
        Python objects first, which costs ~500 bytes per recovered case.)"""
        if self.applied:
            legacy = b"".join(bytes.fromhex(key) for key in self.applied)
            self.__dict__["applied_keys"] = legacy + self.applied_keys
            self.__dict__["applied"] = ()
        return self

    @property
    def applied_count(self) -> int:
        """How many non-timer messages the case applied (and remembers)."""
        return len(self.applied_keys) // KEY_SIZE

    @property
    def is_final(self) -> bool:
        """True in closed, rejected and withdrawn: nothing leaves a final state."""
        return self.state in FINAL_STATES
