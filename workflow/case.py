"""The Case aggregate: the compact snapshot the case table holds and ``cases.state`` carries.

A `Case` is immutable; `workflow.core.Workflow.evolve` returns a new one per event. It holds no
clear identity of an anonymous or confidential reporter (only the `ReporterView`), no complaint
text (that lives in the ``CaseOpened`` event on the audit trail) and a bounded list of applied
message ids, so a snapshot stays around 1-2 KB: a million open cases fit in memory.

Applied message ids (idempotency under at-least-once delivery). The case keeps a short digest of
the ids of the last `APPLIED_LIMIT` messages it applied. A duplicate reaches a case in two ways:
(1) redelivery after a crash or rebalance, which replays only the messages after the last
committed offset of the partition, i.e. seconds of traffic, of which very few are for one case;
(2) a duplicate intake message, which is caught without the list because the case already
exists (the case id is derived from channel + channel message id). Timer messages need no memory
at all: once applied, the timers have moved on and a repeated firing finds nothing due. So a
short window suffices; a duplicate older than the window is still harmless in nearly all states
because the state has moved on and the command is rejected as not allowed.
"""

from __future__ import annotations

import hashlib

from pydantic import AwareDatetime, BaseModel, ConfigDict

from states.lifecycle import FINAL_STATES, CaseState
from workflow.enums import Channel, MaladministrationCategory, ReportType
from workflow.escalation import LevelReached
from workflow.reporter import ReporterView
from workflow.sla import ComplaintClass
from workflow.values import Timers

__all__ = ["APPLIED_LIMIT", "Case", "message_key"]

APPLIED_LIMIT = 32
"""How many applied message ids a case remembers (see the module docstring)."""


def message_key(message_id: str) -> str:
    """The 64-bit digest of a message id kept in `Case.applied` (16 hex characters)."""
    return hashlib.blake2b(message_id.encode(), digest_size=8).hexdigest()


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
    """`message_key` of the last `APPLIED_LIMIT` applied message ids, oldest first."""
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

    @property
    def is_final(self) -> bool:
        """True in closed, rejected and withdrawn: nothing leaves a final state."""
        return self.state in FINAL_STATES
