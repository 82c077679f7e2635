"""decide / evolve: the pure, deterministic heart of the engine (docs/core-interface.md).

``decide(case, message, now) -> events`` validates a message against the lifecycle table and the
guards and returns past-tense events; ``evolve(case, event) -> case`` applies one event and never
fails for an event ``decide`` produced. ``decide`` computes every time-dependent value (clocks,
deadlines, the next instants the timer must look at) with the policy's calendars and puts it
*into* the event (`workflow.messages.Timers`), so ``evolve`` needs no calendar and replaying a
case's events rebuilds it exactly even after the holiday calendar changed.

Semantics (DOMAIN.md; gaps filled as documented here):

* Intake opens the case (``CaseOpened``, state received) with routing's suggestion, ranked
  alternatives for re-routing, and the verification clock started at ``received_at`` in the
  triage desk's calendar. A duplicate intake for an existing case yields ``[]``.
* ``CompleteMaterialVerification`` yields ``CaseVerified`` then ``CaseReferred`` (to the named
  agency, else routing's suggestion); the verification clock stops and the follow-up plan clock
  starts in the agency's calendar. ``RequestInformation`` pauses the stage clock and starts the
  30-calendar-day reporter clock; ``ProvideInformation`` resumes the stage clock with its spent
  time; the timer withdraws the case when the reporter stays silent.
* ``ReturnReferral`` re-refers to the next ranked candidate that has not returned the case, else
  the triage desk. ``PostFollowUpPlan`` (also from referred: it implies acceptance) stops the
  follow-up plan clock and starts the resolution clock (target by complaint class).
  ``ResolveComplaint`` pauses the stage clock, starts the reporter confirmation clock and fixes
  the reopen window; ``DisputeResolution`` within it resumes the paused clock (`reopen_clock`:
  not reset, no instant escalation); silence past the confirmation deadline closes the case.
* SLA: on ``TimerFired`` each newly reached warning threshold of the running stage clock yields
  ``SlaWarningRaised``; reaching 100% yields ``SlaBreached`` then ``CaseEscalated`` to the next
  level of the ladder of the agency running the stage (the triage desk's ladder for
  verification). Each level's deadline counts from the instant it was alerted; when it passes
  the next level is alerted; at the top an ``EscalationReminderIssued`` follows every reminder
  interval. Completing the stage (or pausing it for the reporter) stops the escalation timer; the
  level itself never goes down. ``EscalateManually`` raises the level by one.
* Rejections: no case -> ``CommandRejected(unknown_case)`` (not folded into any case); a role not
  allowed to send the command -> ``forbidden``; a trigger not in the table for the state ->
  ``not_allowed_in_state``; a guard failing -> ``guard_failed``. A rejection of a command for an
  existing case is an event of that case, so its message id counts as applied.
* Event ids: uuid5 of (causing message id, index); ``causation_id`` = message id,
  ``correlation_id`` = the id of the case's first message; ``occurred_at`` = ``now``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from states.lifecycle import GUARDS, CaseState, Lifecycle, Transition, lifecycle
from workflow.calendar import WorkingCalendar
from workflow.case import APPLIED_LIMIT, Case, message_key
from workflow.escalation import EscalationLadder
from workflow.messages import (
    NO_TIMERS,
    ActorNotePayload,
    AgencyReassigned,
    AgencyReassignedPayload,
    CaseEscalated,
    CaseEscalatedPayload,
    CaseOpened,
    CaseOpenedPayload,
    CaseReferred,
    CaseReferredBack,
    CaseReferredPayload,
    CaseTakenOver,
    CaseVerified,
    CaseVerifiedPayload,
    ClosedForReporterSilence,
    Command,
    CommandRejected,
    CommandRejectedPayload,
    ComplaintRejected,
    ComplaintRejectedPayload,
    ComplaintResolved,
    ComplaintResolvedPayload,
    ComplaintSubmitted,
    ComplaintWithdrawn,
    Confidentiality,
    EscalationReminderIssued,
    EscalationReminderPayload,
    Event,
    FollowUpPlanPosted,
    FollowUpPlanPostedPayload,
    FormalVerificationCompleted,
    InformationProvided,
    InformationProvidedPayload,
    InformationRequested,
    InformationRequestedPayload,
    ReferralAccepted,
    ReferralReturned,
    ReferralReturnedPayload,
    RejectionCode,
    ReporterView,
    ResolutionConfirmed,
    ResolutionDisputed,
    ResolutionDisputedPayload,
    SlaBreached,
    SlaBreachedPayload,
    SlaWarningPayload,
    SlaWarningRaised,
    TimerClosurePayload,
    TimerFired,
    TimerPayload,
    Timers,
    WithdrawnForMissingInformation,
    reporter_view,
    timer_event_id,
)
from workflow.policy import Policy
from workflow.sla import (
    ComplaintClass,
    SlaClock,
    SlaTarget,
    Stage,
    deadline,
    deadline_for,
    due_marks,
    mark,
    next_mark_at,
    pause_clock,
    reopen_clock,
    resume_clock,
    start_clock,
)

__all__ = ["EVENT_STATE", "Workflow", "event_id_for"]

_NAMESPACE = uuid.UUID("5b0c7a52-3f7e-5d4a-9c1e-6164756e0001")
_NAMESPACE_BYTES = _NAMESPACE.bytes
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
_MAX_CANDIDATES = 4
_MAX_REMINDER_STEPS = 1000

Message = ComplaintSubmitted | Command

EVENT_STATE: dict[str, CaseState] = {
    "CaseOpened": CaseState.RECEIVED,
    "FormalVerificationCompleted": CaseState.VERIFYING,
    "CaseVerified": CaseState.VERIFIED,
    "CaseReferred": CaseState.REFERRED,
    "InformationRequested": CaseState.AWAITING_INFORMATION,
    "InformationProvided": CaseState.VERIFYING,
    "ComplaintRejected": CaseState.REJECTED,
    "ResolutionConfirmed": CaseState.CLOSED,
    "ResolutionDisputed": CaseState.IN_PROGRESS,
    "ComplaintWithdrawn": CaseState.WITHDRAWN,
    "ReferralAccepted": CaseState.IN_PROGRESS,
    "FollowUpPlanPosted": CaseState.IN_PROGRESS,
    "ComplaintResolved": CaseState.RESOLVED,
    "AgencyReassigned": CaseState.REFERRED,
    "ClosedForReporterSilence": CaseState.CLOSED,
    "WithdrawnForMissingInformation": CaseState.WITHDRAWN,
}
"""The state each state-changing event leads to (the others leave the state as it is)."""


_NAMESPACE_SHA1 = hashlib.sha1(_NAMESPACE_BYTES)


def event_id_for(message_id: str, index: int) -> str:
    """Deterministic id of the ``index``-th event caused by message ``message_id``: the
    RFC 4122 version-5 UUID of ``"{message_id}#{index}"`` (same value as `uuid.uuid5`, built
    without the UUID object, which costs more than the hash)."""
    sha = _NAMESPACE_SHA1.copy()
    sha.update(f"{message_id}#{index}".encode())
    h = sha.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_T = TypeVar("_T", bound=BaseModel)
_TEMPLATES: dict[type[BaseModel], tuple[dict[str, Any], set[str]]] = {}
_set = object.__setattr__
_object_new = object.__new__


def _template(cls: type[BaseModel]) -> tuple[dict[str, Any], set[str]]:
    found = _TEMPLATES.get(cls)
    if found is None:
        defaults = {
            name: field.get_default(call_default_factory=True)
            for name, field in cls.model_fields.items()
            if not field.is_required()
        }
        found = _TEMPLATES[cls] = (defaults, set(cls.model_fields))
    return found


def _new(cls: type[_T], **values: Any) -> _T:
    """Build a model from values the core already validated (a leaner `model_construct`:
    pydantic's costs ~5 µs per call, a third of the hot path's budget)."""
    defaults, fields = _TEMPLATES.get(cls) or _template(cls)
    obj = _object_new(cls)
    if defaults:
        merged = defaults.copy()
        merged.update(values)
        values = merged
    _set(obj, "__dict__", values)
    # Every field counts as set (the defaults are explicit). The set is shared and never mutated
    # in place: the models are frozen and pydantic's model_copy copies it before adding to it.
    _set(obj, "__pydantic_fields_set__", fields)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def _replace(obj: _T, updates: dict[str, Any]) -> _T:
    """A copy of a frozen model with ``updates`` applied (no validation; see `_new`)."""
    new = _object_new(obj.__class__)
    values = obj.__dict__.copy()
    values.update(updates)
    _set(new, "__dict__", values)
    _set(new, "__pydantic_fields_set__", obj.__pydantic_fields_set__)
    _set(new, "__pydantic_extra__", None)
    _set(new, "__pydantic_private__", None)
    return new


_KEYS: dict[str, str] = {}
_KEYS_LIMIT = 4096


def _key(message_id: str) -> str:
    """`message_key`, memoised briefly: decide and evolve both need the key of one message."""
    key = _KEYS.get(message_id)
    if key is None:
        if len(_KEYS) >= _KEYS_LIMIT:
            _KEYS.clear()
        key = _KEYS[message_id] = message_key(message_id)
    return key


_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _case_id_for(channel: str, channel_message_id: str) -> str:
    """`workflow.messages.case_id_for` without `base64.b32encode` (pure Python, slow): the
    first 12 base32 characters of the 10-byte digest are its top 60 bits (a test checks the
    two agree)."""
    digest = hashlib.sha256(f"{channel}\x1f{channel_message_id}".encode()).digest()
    n = int.from_bytes(digest[:8], "big") >> 4
    c = "".join([_B32[(n >> shift) & 31] for shift in range(55, -1, -5)])
    return f"ADU-{c[0:4]}-{c[4:8]}-{c[8:12]}"


def _reporter_view(reporter: Any, key: bytes | None) -> ReporterView:
    """`reporter_view`, with the common public case built without `model_construct` (fields in
    declared order, as model_construct puts them, so the JSON is byte-identical)."""
    if reporter.confidentiality is not Confidentiality.PUBLIC:
        return reporter_view(reporter, key)
    view = _object_new(ReporterView)
    _set(
        view,
        "__dict__",
        {
            "confidentiality": reporter.confidentiality,
            "name": reporter.name,
            "phone": reporter.phone,
            "email": reporter.email,
            "pseudonym": None,
            "contactable": reporter.phone is not None or reporter.email is not None,
        },
    )
    _set(view, "__pydantic_fields_set__", _template(ReporterView)[1])
    _set(view, "__pydantic_extra__", None)
    _set(view, "__pydantic_private__", None)
    return view


def _earliest(timers: Timers) -> datetime | None:
    instants = [
        t
        for t in (timers.clock_next_at, timers.reporter_due_at, timers.escalation_due_at)
        if t is not None
    ]
    return min(instants) if instants else None


class _Rejection(Exception):
    def __init__(self, code: RejectionCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


Guard = Callable[["Workflow", Case, Any, datetime], bool]


class Workflow:
    """The workflow of one deployment: the policy, its calendars and the compiled lifecycle.

    Build once and share; every method is pure (the shell passes ``now``).
    ``reporter_key`` is the secret for reporter pseudonyms (HMAC-SHA256); without it the
    identity of anonymous and confidential reporters is omitted entirely.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        reporter_key: bytes | None = None,
        lifecycle_: Lifecycle | None = None,
    ) -> None:
        self.policy = policy
        self.lifecycle = lifecycle_ or lifecycle()
        self._table = self.lifecycle.table
        self._reporter_key = reporter_key
        self._thresholds: tuple[float, ...] = tuple(policy.sla.warning_thresholds)
        self._router = policy.router()
        self._known = frozenset(a.code for a in policy.agencies)
        self._calendars: dict[str | None, WorkingCalendar] = {}
        self._ladders: dict[str | None, EscalationLadder] = {}
        # Pure functions of the (frozen) policy, memoised: the policy builds some of these
        # values (targets, the reopen grace) anew on every call.
        self._targets: dict[tuple[Stage, Any], SlaTarget] = {}
        self._classes: dict[tuple[Any, str | None], ComplaintClass] = {}
        self._reopen_grace = policy.sla.reopen_grace
        self._guards: dict[str, Guard] = _GUARD_FUNCTIONS
        missing = {g for t in self._table.values() for g in t.guards} - set(self._guards)
        if missing:
            raise ValueError(f"guards without an implementation: {sorted(missing)}")
        self._handlers: dict[str, Callable[[Case, Any, datetime], list[Any]]] = {
            "CompleteFormalVerification": self._formal,
            "CompleteMaterialVerification": self._material,
            "RequestInformation": self._request_information,
            "RejectComplaint": self._reject,
            "ProvideInformation": self._provide_information,
            "ConfirmResolution": self._confirm,
            "DisputeResolution": self._dispute,
            "WithdrawComplaint": self._withdraw,
            "AcceptReferral": self._accept,
            "ReturnReferral": self._return,
            "PostFollowUpPlan": self._post_plan,
            "ResolveComplaint": self._resolve,
            "ReassignAgency": self._reassign,
            "EscalateManually": self._escalate_manually,
            "TakeOver": self._take_over,
            "ReferBack": self._refer_back,
        }
        self._appliers: dict[str, Callable[[Case, Any], dict[str, Any]]] = {
            "FormalVerificationCompleted": _no_change,
            "CaseVerified": _apply_verified,
            "CaseReferred": _apply_referred,
            "InformationRequested": _apply_timers,
            "InformationProvided": _apply_timers,
            "ComplaintRejected": _apply_timers,
            "ResolutionConfirmed": _apply_final,
            "ResolutionDisputed": _apply_disputed,
            "ComplaintWithdrawn": _apply_final,
            "ReferralAccepted": _no_change,
            "ReferralReturned": _apply_returned,
            "FollowUpPlanPosted": _apply_plan,
            "ComplaintResolved": _apply_resolved,
            "AgencyReassigned": _apply_reassigned,
            "CaseEscalated": _apply_escalated,
            "EscalationReminderIssued": _apply_timers,
            "CaseTakenOver": _apply_taken_over,
            "CaseReferredBack": _apply_referred_back,
            "SlaWarningRaised": _apply_timers,
            "SlaBreached": _apply_timers,
            "ClosedForReporterSilence": _apply_timers,
            "WithdrawnForMissingInformation": _apply_timers,
            "CommandRejected": _no_change,
        }

    # -- public API -----------------------------------------------------------------------------

    def decide(self, case: Case | None, message: Message, now: datetime) -> list[Event]:
        """The events ``message`` causes on ``case`` at ``now``; never raises for bad input."""
        if message.type == "ComplaintSubmitted":
            return [] if case is not None else [self._open(message, now)]
        if case is None:
            return [
                self._event(
                    CommandRejected,
                    message.case_id,
                    message,
                    0,
                    now,
                    message.event_id,
                    _new(
                        CommandRejectedPayload,
                        command_type=message.type,
                        reason_code="unknown_case",
                        detail=f"case_id: no case {message.case_id!r} exists",
                    ),
                )
            ]
        if _key(message.event_id) in case.applied:
            return []
        if message.type == "TimerFired":
            return self._timer(case, message, now)
        try:
            self._check(case, message, type(message).trigger, now)
            return self._handlers[message.type](case, message, now)
        except _Rejection as rejection:
            return [self._rejected(case, message, now, rejection.code, rejection.detail)]

    def evolve(self, case: Case | None, event: Event) -> Case:
        """``case`` after ``event``. Raises ValueError for an event that cannot apply to None
        (only ``CaseOpened`` starts a case; an ``unknown_case`` rejection has no case)."""
        if event.type == "CaseOpened":
            return _open_case(event)
        if case is None:
            raise ValueError(f"{event.type} cannot apply to a case that does not exist")
        updates = self._appliers[event.type](case, event)
        state = EVENT_STATE.get(event.type)
        if state is not None:
            updates["state"] = state
        updates["version"] = case.version + 1
        if event.causation_id is not None:
            key = _key(event.causation_id)
            applied = case.applied
            if not applied or applied[-1] != key:
                updates["applied"] = (*applied[-(APPLIED_LIMIT - 1) :], key)
        timers = updates.get("timers")
        if timers is not None:
            updates["wake_at"] = _earliest(timers)
        return _replace(case, updates)

    def handle(
        self, case: Case | None, message: Message, now: datetime
    ) -> tuple[Case | None, list[Event]]:
        """decide, then fold the events with evolve (an unknown-case rejection folds nothing)."""
        events = self.decide(case, message, now)
        for event in events:
            if case is None and event.type == "CommandRejected":
                continue
            case = self.evolve(case, event)
        return case, events

    def replay(self, events: Iterable[Event]) -> Case | None:
        """Rebuild a case from its events (``unknown_case`` rejections are skipped)."""
        case: Case | None = None
        for event in events:
            if case is None and event.type == "CommandRejected":
                continue
            case = self.evolve(case, event)
        return case

    def timer_message(self, case: Case, now: datetime) -> TimerFired:
        """The system command for the SLA timer to look at ``case`` (due at ``case.wake_at``)."""
        due_at = case.wake_at or now
        return _new(
            TimerFired,
            event_id=timer_event_id(case.case_id, due_at),
            schema_version=1,
            occurred_at=now,
            case_id=case.case_id,
            causation_id=None,
            correlation_id=case.correlation_id,
            payload=_new(TimerPayload, due_at=due_at),
        )

    def calendar(self, agency: str | None) -> WorkingCalendar:
        """The calendar of an agency (None -> the default zone), cached."""
        cal = self._calendars.get(agency)
        if cal is None:
            cal = self.policy.calendar_for(agency if agency in self._known else None)
            self._calendars[agency] = cal
        return cal

    def ladder(self, agency: str | None) -> EscalationLadder:
        """The escalation ladder of an agency (None -> the default ladder), cached."""
        ladder = self._ladders.get(agency)
        if ladder is None:
            ladder = self.policy.ladder_for(agency if agency in self._known else None)
            self._ladders[agency] = ladder
        return ladder

    # -- plumbing -------------------------------------------------------------------------------

    def _event(
        self,
        cls: type[Any],
        case_id: str,
        message: Message,
        index: int,
        now: datetime,
        correlation_id: str,
        payload: Any,
    ) -> Any:
        return _new(
            cls,
            event_id=event_id_for(message.event_id, index),
            schema_version=1,
            occurred_at=now,
            case_id=case_id,
            causation_id=message.event_id,
            correlation_id=correlation_id,
            payload=payload,
        )

    def _rejected(
        self, case: Case, message: Message, now: datetime, code: RejectionCode, detail: str
    ) -> CommandRejected:
        payload = _new(
            CommandRejectedPayload, command_type=message.type, reason_code=code, detail=detail
        )
        return cast(
            CommandRejected,
            self._event(
                CommandRejected, case.case_id, message, 0, now, case.correlation_id, payload
            ),
        )

    def _check(self, case: Case, message: Any, trigger: str, now: datetime) -> Transition:
        actor = message.payload.actor
        if actor.role not in type(message).roles:
            raise _Rejection(
                "forbidden",
                f"payload.actor.role: a {actor.role.value} may not send {message.type}",
            )
        return self._transition(case, message, trigger, now)

    def _transition(self, case: Case, message: Any, trigger: str, now: datetime) -> Transition:
        transition = self._table.get((case.state, trigger))
        if transition is None:
            raise _Rejection(
                "not_allowed_in_state",
                f"{message.type} is not allowed in state '{case.state.value}'",
            )
        for guard in transition.guards:
            if not self._guards[guard](self, case, message, now):
                raise _Rejection("guard_failed", f"{guard}: {GUARDS[guard]}")
        return transition

    def _stage_agency(self, case: Case, stage: Stage) -> str | None:
        if stage in (Stage.VERIFICATION, Stage.REPORTER_INFORMATION):
            return case.triage_agency
        return case.agency or case.triage_agency

    def _running(self, clock: SlaClock, cal: WorkingCalendar) -> Timers:
        """Timers with ``clock`` as the stage clock and nothing else pending."""
        return _new(
            Timers,
            clock=clock,
            clock_next_at=next_mark_at(clock, cal, self._thresholds),
            reporter_clock=None,
            reporter_due_at=None,
            escalation_due_at=None,
        )

    def _start(self, stage: Stage, agency: str | None, now: datetime, cls: Any = None) -> Timers:
        cal = self.calendar(agency)
        target = self._targets.get((stage, cls))
        if target is None:
            target = self._targets[stage, cls] = self.policy.sla.target(stage, cls)
        return self._running(start_clock(stage, target, now, cal), cal)

    def _escalation_restart(self, case: Case, clock: SlaClock | None, now: datetime) -> Any:
        """After a paused stage resumes: a breached, escalated case gets its current level's
        deadline again from ``now`` (no instant escalation)."""
        if clock is None or not clock.breached or case.escalation_level == 0:
            return None
        agency = self._stage_agency(case, clock.stage)
        return deadline_for(
            self.ladder(agency).deadline_after(case.escalation_level), now, self.calendar(agency)
        )

    # -- intake ---------------------------------------------------------------------------------

    def _open(self, message: ComplaintSubmitted, now: datetime) -> CaseOpened:
        p = message.payload
        region = p.location.region_code if p.location is not None else None
        text = f"{p.subject}\n{p.text}"
        category = p.category.value if p.category is not None else None
        ranked = self._router.rank(
            agency_hint=p.agency_hint,
            service=p.service,
            category=category,
            region_code=region,
            text=text,
            limit=1 + _MAX_CANDIDATES,
        )
        decision = ranked[0]
        candidates = [d.agency for d in ranked[1:] if not d.fallback]
        triage = self.policy.triage_agency
        timers = self._start(Stage.VERIFICATION, triage, p.received_at)
        case_id = message.case_id or _case_id_for(p.channel, p.channel_message_id)
        payload = _new(
            CaseOpenedPayload,
            channel=p.channel,
            channel_message_id=p.channel_message_id,
            received_at=p.received_at,
            reporter=_reporter_view(p.reporter, self._reporter_key),
            subject=p.subject,
            text=p.text,
            report_type=p.report_type,
            category=p.category,
            service=p.service,
            agency_hint=p.agency_hint,
            location=p.location,
            attachments=p.attachments,
            language=p.language,
            external_reference=p.external_reference,
            triage_agency=triage,
            suggested_agency=decision.agency,
            routing_rule=decision.rule,
            routing_fallback=decision.fallback,
            candidates=tuple(candidates),
            timers=timers,
        )
        return cast(
            CaseOpened,
            self._event(CaseOpened, case_id, message, 0, now, message.event_id, payload),
        )

    # -- command handlers -----------------------------------------------------------------------

    def _formal(self, case: Case, m: Any, now: datetime) -> list[Any]:
        payload = _new(ActorNotePayload, actor=m.payload.actor, note=m.payload.note, timers=None)
        return [
            self._event(
                FormalVerificationCompleted, case.case_id, m, 0, now, case.correlation_id, payload
            )
        ]

    def _material(self, case: Case, m: Any, now: datetime) -> list[Any]:
        p = m.payload
        agency = p.agency or case.suggested_agency
        rule = "verifier" if p.agency else "routing"
        key = (p.complaint_class, case.category.value if case.category is not None else None)
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = self.policy.sla.complaint_class(*key)
        verified = self._event(
            CaseVerified,
            case.case_id,
            m,
            0,
            now,
            case.correlation_id,
            _new(CaseVerifiedPayload, actor=p.actor, complaint_class=cls, note=p.note),
        )
        # The automatic `refer` transition from verified (guard has_agency).
        probe = _replace(case, {"state": CaseState.VERIFIED, "agency": agency})
        self._transition(probe, m, "refer", now)
        return [verified, self._referred(case, m, 1, agency, rule, now)]

    def _referred(
        self, case: Case, m: Any, index: int, agency: str, rule: str | None, now: datetime
    ) -> Any:
        """`CaseReferred` to ``agency``, with the follow-up plan clock started in its calendar."""
        return self._event(
            CaseReferred,
            case.case_id,
            m,
            index,
            now,
            case.correlation_id,
            _new(
                CaseReferredPayload,
                agency=agency,
                rule=rule,
                timers=self._start(Stage.FOLLOW_UP_PLAN, agency, now),
            ),
        )

    def _wait_on_reporter(
        self, case: Case, stage: Stage, target: SlaTarget, agency: str | None, now: datetime
    ) -> Timers:
        """Timers while the case waits on the reporter: the stage clock paused (its time kept),
        the reporter's own clock running in ``agency``'s calendar, no escalation pending."""
        clock = case.timers.clock
        if clock is not None:
            clock = pause_clock(clock, now, self.calendar(self._stage_agency(case, clock.stage)))
        cal = self.calendar(agency)
        waiting = start_clock(stage, target, now, cal)
        timers: Timers = _new(
            Timers,
            clock=clock,
            clock_next_at=None,
            reporter_clock=waiting,
            reporter_due_at=deadline(waiting, cal),
            escalation_due_at=None,
        )
        return timers

    def _request_information(self, case: Case, m: Any, now: datetime) -> list[Any]:
        timers = self._wait_on_reporter(
            case,
            Stage.REPORTER_INFORMATION,
            self.policy.sla.reporter_information,
            case.triage_agency,
            now,
        )
        payload = _new(
            InformationRequestedPayload,
            actor=m.payload.actor,
            question=m.payload.question,
            timers=timers,
        )
        return [
            self._event(InformationRequested, case.case_id, m, 0, now, case.correlation_id, payload)
        ]

    def _provide_information(self, case: Case, m: Any, now: datetime) -> list[Any]:
        clock = case.timers.clock
        timers = NO_TIMERS
        if clock is not None:
            cal = self.calendar(self._stage_agency(case, clock.stage))
            timers = self._running(resume_clock(clock, now, cal), cal)
            due = self._escalation_restart(case, clock, now)
            if due is not None:
                timers = _replace(timers, {"escalation_due_at": due})
        payload = _new(
            InformationProvidedPayload,
            actor=m.payload.actor,
            text=m.payload.text,
            attachments=m.payload.attachments,
            timers=timers,
        )
        return [
            self._event(InformationProvided, case.case_id, m, 0, now, case.correlation_id, payload)
        ]

    def _reject(self, case: Case, m: Any, now: datetime) -> list[Any]:
        payload = _new(
            ComplaintRejectedPayload,
            actor=m.payload.actor,
            reason=m.payload.reason,
            detail=m.payload.detail,
            timers=NO_TIMERS,
        )
        return [
            self._event(ComplaintRejected, case.case_id, m, 0, now, case.correlation_id, payload)
        ]

    def _final_note(self, cls: type[Any], case: Case, m: Any, now: datetime) -> list[Any]:
        payload = _new(
            ActorNotePayload, actor=m.payload.actor, note=m.payload.note, timers=NO_TIMERS
        )
        return [self._event(cls, case.case_id, m, 0, now, case.correlation_id, payload)]

    def _confirm(self, case: Case, m: Any, now: datetime) -> list[Any]:
        return self._final_note(ResolutionConfirmed, case, m, now)

    def _withdraw(self, case: Case, m: Any, now: datetime) -> list[Any]:
        return self._final_note(ComplaintWithdrawn, case, m, now)

    def _note(self, cls: type[Any], case: Case, m: Any, now: datetime) -> list[Any]:
        payload = _new(ActorNotePayload, actor=m.payload.actor, note=m.payload.note, timers=None)
        return [self._event(cls, case.case_id, m, 0, now, case.correlation_id, payload)]

    def _accept(self, case: Case, m: Any, now: datetime) -> list[Any]:
        return self._note(ReferralAccepted, case, m, now)

    def _take_over(self, case: Case, m: Any, now: datetime) -> list[Any]:
        return self._note(CaseTakenOver, case, m, now)

    def _refer_back(self, case: Case, m: Any, now: datetime) -> list[Any]:
        return self._note(CaseReferredBack, case, m, now)

    def _dispute(self, case: Case, m: Any, now: datetime) -> list[Any]:
        clock = case.timers.clock
        timers = NO_TIMERS
        if clock is not None:
            cal = self.calendar(self._stage_agency(case, clock.stage))
            reopened = reopen_clock(clock, now, cal, self._reopen_grace, self._thresholds)
            timers = self._running(reopened, cal)
        payload = _new(
            ResolutionDisputedPayload, actor=m.payload.actor, reason=m.payload.reason, timers=timers
        )
        return [
            self._event(ResolutionDisputed, case.case_id, m, 0, now, case.correlation_id, payload)
        ]

    def _return(self, case: Case, m: Any, now: datetime) -> list[Any]:
        p = m.payload
        returning = case.agency or case.triage_agency
        returned = {*case.returned_by, returning}
        target = next(
            (
                a
                for a in (case.suggested_agency, *case.candidates)
                if a not in returned and a != case.triage_agency
            ),
            case.triage_agency,
        )
        rule = "triage" if target == case.triage_agency else "next_candidate"
        first = self._event(
            ReferralReturned,
            case.case_id,
            m,
            0,
            now,
            case.correlation_id,
            _new(
                ReferralReturnedPayload,
                actor=p.actor,
                agency=returning,
                reason=p.reason,
                detail=p.detail,
            ),
        )
        return [first, self._referred(case, m, 1, target, rule, now)]

    def _post_plan(self, case: Case, m: Any, now: datetime) -> list[Any]:
        p = m.payload
        cls: ComplaintClass = (
            p.complaint_class or case.complaint_class or (self.policy.sla.default_class)
        )
        timers = self._start(Stage.RESOLUTION, case.agency, now, cls)
        payload = _new(
            FollowUpPlanPostedPayload,
            actor=p.actor,
            plan=p.plan,
            complaint_class=cls,
            timers=timers,
        )
        return [
            self._event(FollowUpPlanPosted, case.case_id, m, 0, now, case.correlation_id, payload)
        ]

    def _resolve(self, case: Case, m: Any, now: datetime) -> list[Any]:
        timers = self._wait_on_reporter(
            case,
            Stage.REPORTER_CONFIRMATION,
            self.policy.sla.reporter_confirmation,
            case.agency,
            now,
        )
        cal = self.calendar(case.agency)
        payload = _new(
            ComplaintResolvedPayload,
            actor=m.payload.actor,
            resolution_text=m.payload.resolution_text,
            reopen_until=deadline_for(self.policy.sla.reopen_window, now, cal),
            timers=timers,
        )
        return [
            self._event(ComplaintResolved, case.case_id, m, 0, now, case.correlation_id, payload)
        ]

    def _reassign(self, case: Case, m: Any, now: datetime) -> list[Any]:
        p = m.payload
        payload = _new(
            AgencyReassignedPayload,
            actor=p.actor,
            from_agency=case.agency,
            agency=p.agency,
            reason=p.reason,
            timers=self._start(Stage.FOLLOW_UP_PLAN, p.agency, now),
        )
        return [
            self._event(AgencyReassigned, case.case_id, m, 0, now, case.correlation_id, payload)
        ]

    def _escalate_manually(self, case: Case, m: Any, now: datetime) -> list[Any]:
        stage = case.timers.clock.stage if case.timers.clock is not None else None
        agency = self._stage_agency(case, stage) if stage is not None else case.agency
        level = case.escalation_level + 1
        due = deadline_for(self.ladder(agency).deadline_after(level), now, self.calendar(agency))
        payload = _new(
            CaseEscalatedPayload,
            level=level,
            automatic=False,
            stage=stage,
            actor=m.payload.actor,
            reason=m.payload.reason,
            timers=_replace(case.timers, {"escalation_due_at": due}),
        )
        return [self._event(CaseEscalated, case.case_id, m, 0, now, case.correlation_id, payload)]

    # -- the SLA timer --------------------------------------------------------------------------

    def _timer(self, case: Case, m: TimerFired, now: datetime) -> list[Any]:
        timers = case.timers
        if case.is_final:
            return []
        events: list[Any] = []

        def emit(cls: type[Any], payload: Any) -> None:
            events.append(
                self._event(cls, case.case_id, m, len(events), now, case.correlation_id, payload)
            )

        # 1. The reporter's deadline ends the case.
        waiting = timers.reporter_clock
        due_by = timers.reporter_due_at
        if waiting is not None and due_by is not None and now >= due_by:
            trigger, cls = (
                ("information_timeout", WithdrawnForMissingInformation)
                if waiting.stage is Stage.REPORTER_INFORMATION
                else ("silence_timeout", ClosedForReporterSilence)
            )
            if (case.state, trigger) in self._table:
                emit(
                    cls,
                    _new(TimerClosurePayload, deadline=due_by, timers=NO_TIMERS),
                )
                return events
        # 2. Warnings and the breach of the running stage clock.
        level = case.escalation_level
        clock = timers.clock
        if clock is not None and timers.clock_next_at is not None and now >= timers.clock_next_at:
            agency = self._stage_agency(case, clock.stage)
            cal = self.calendar(agency)
            for fraction in due_marks(clock, now, cal, self._thresholds):
                at = deadline(clock, cal) if fraction >= 1.0 else None
                clock = mark(clock, fraction)
                timers = _replace(
                    timers,
                    {
                        "clock": clock,
                        "clock_next_at": next_mark_at(clock, cal, self._thresholds),
                    },
                )
                if at is None:
                    emit(
                        SlaWarningRaised,
                        _new(
                            SlaWarningPayload, stage=clock.stage, threshold=fraction, timers=timers
                        ),
                    )
                    continue
                emit(
                    SlaBreached,
                    _new(SlaBreachedPayload, stage=clock.stage, deadline=at, timers=timers),
                )
                ladder = self.ladder(agency)
                nxt = ladder.next_level(level)
                if nxt is None:
                    # Already at the top: remind now and keep reminding.
                    timers = _replace(
                        timers,
                        {"escalation_due_at": deadline_for(ladder.reminder_interval, at, cal)},
                    )
                    emit(
                        EscalationReminderIssued,
                        _new(EscalationReminderPayload, level=level, timers=timers),
                    )
                else:
                    level = nxt
                    timers = _replace(
                        timers,
                        {"escalation_due_at": deadline_for(ladder.deadline_after(level), at, cal)},
                    )
                    emit(
                        CaseEscalated,
                        _new(
                            CaseEscalatedPayload,
                            level=level,
                            automatic=True,
                            stage=clock.stage,
                            actor=None,
                            reason=None,
                            timers=timers,
                        ),
                    )
        # 3. The current level's deadline passed: next level, or a reminder at the top.
        steps = 0
        while timers.escalation_due_at is not None and now >= timers.escalation_due_at:
            due = timers.escalation_due_at
            stage = clock.stage if clock is not None else None
            agency = self._stage_agency(case, stage) if stage is not None else case.agency
            ladder, cal = self.ladder(agency), self.calendar(agency)
            nxt = ladder.next_level(level)
            if nxt is not None:
                level = nxt
                timers = _replace(
                    timers,
                    {"escalation_due_at": deadline_for(ladder.deadline_after(level), due, cal)},
                )
                emit(
                    CaseEscalated,
                    _new(
                        CaseEscalatedPayload,
                        level=level,
                        automatic=True,
                        stage=stage,
                        actor=None,
                        reason=None,
                        timers=timers,
                    ),
                )
                continue
            following = deadline_for(ladder.reminder_interval, due, cal)
            while following <= now and steps < _MAX_REMINDER_STEPS:
                following = deadline_for(ladder.reminder_interval, following, cal)
                steps += 1
            timers = _replace(timers, {"escalation_due_at": following})
            emit(
                EscalationReminderIssued,
                _new(EscalationReminderPayload, level=level, timers=timers),
            )
            break
        return events


# -- guards ------------------------------------------------------------------------------------


def _g_has_agency(wf: Workflow, case: Case, m: Any, now: datetime) -> bool:
    return case.agency is not None and case.agency in wf._known


def _g_known_agency(wf: Workflow, case: Case, m: Any, now: datetime) -> bool:
    agency = getattr(m.payload, "agency", None)
    return agency is None or agency in wf._known


def _g_different_agency(wf: Workflow, case: Case, m: Any, now: datetime) -> bool:
    return bool(m.payload.agency != case.agency)


def _g_responsible_agency(wf: Workflow, case: Case, m: Any, now: datetime) -> bool:
    actor_agency = m.payload.actor.agency
    return actor_agency is None or actor_agency == case.agency


def _g_has_resolution_text(wf: Workflow, case: Case, m: Any, now: datetime) -> bool:
    return bool(m.payload.resolution_text.strip())


def _g_plan_not_posted(wf: Workflow, case: Case, m: Any, now: datetime) -> bool:
    return not case.plan_posted


def _g_within_reopen_window(wf: Workflow, case: Case, m: Any, now: datetime) -> bool:
    return case.reopen_until is not None and now <= case.reopen_until


def _g_below_top_level(wf: Workflow, case: Case, m: Any, now: datetime) -> bool:
    clock = case.timers.clock
    agency = wf._stage_agency(case, clock.stage) if clock is not None else case.agency
    return case.escalation_level < wf.ladder(agency).top


def _g_not_taken_over(wf: Workflow, case: Case, m: Any, now: datetime) -> bool:
    return case.handler is None


def _g_taken_over(wf: Workflow, case: Case, m: Any, now: datetime) -> bool:
    return case.handler is not None


_GUARD_FUNCTIONS: dict[str, Guard] = {
    "has_agency": _g_has_agency,
    "known_agency": _g_known_agency,
    "different_agency": _g_different_agency,
    "responsible_agency": _g_responsible_agency,
    "has_resolution_text": _g_has_resolution_text,
    "plan_not_posted": _g_plan_not_posted,
    "within_reopen_window": _g_within_reopen_window,
    "below_top_level": _g_below_top_level,
    "not_taken_over": _g_not_taken_over,
    "taken_over": _g_taken_over,
}


# -- evolve helpers (pure; no calendar) ----------------------------------------------------------


def _open_case(event: Any) -> Case:
    p = event.payload
    key = message_key(event.causation_id) if event.causation_id else None
    return _new(
        Case,
        case_id=event.case_id,
        state=CaseState.RECEIVED,
        version=1,
        correlation_id=event.correlation_id or event.event_id,
        applied=(key,) if key else (),
        opened_at=p.received_at,
        channel=p.channel,
        report_type=p.report_type,
        category=p.category,
        subject=p.subject,
        reporter=p.reporter,
        triage_agency=p.triage_agency,
        suggested_agency=p.suggested_agency,
        candidates=p.candidates,
        agency=None,
        returned_by=(),
        complaint_class=None,
        plan_posted=False,
        handler=None,
        escalation_level=0,
        reopen_until=None,
        reopen_count=0,
        timers=p.timers,
        wake_at=_earliest(p.timers),
    )


def _no_change(case: Case, event: Any) -> dict[str, Any]:
    return {}


def _apply_timers(case: Case, event: Any) -> dict[str, Any]:
    timers = event.payload.timers
    return {} if timers is None else {"timers": timers}


def _apply_final(case: Case, event: Any) -> dict[str, Any]:
    return {"timers": NO_TIMERS}


def _apply_verified(case: Case, event: Any) -> dict[str, Any]:
    return {"complaint_class": event.payload.complaint_class, "timers": NO_TIMERS}


def _apply_referred(case: Case, event: Any) -> dict[str, Any]:
    return {"agency": event.payload.agency, "plan_posted": False, "timers": event.payload.timers}


def _apply_returned(case: Case, event: Any) -> dict[str, Any]:
    agency = event.payload.agency
    returned = case.returned_by if agency in case.returned_by else (*case.returned_by, agency)
    return {"returned_by": returned}


def _apply_plan(case: Case, event: Any) -> dict[str, Any]:
    p = event.payload
    return {"plan_posted": True, "complaint_class": p.complaint_class, "timers": p.timers}


def _apply_resolved(case: Case, event: Any) -> dict[str, Any]:
    p = event.payload
    return {"reopen_until": p.reopen_until, "timers": p.timers}


def _apply_disputed(case: Case, event: Any) -> dict[str, Any]:
    return {
        "reopen_count": case.reopen_count + 1,
        "reopen_until": None,
        "timers": event.payload.timers,
    }


def _apply_reassigned(case: Case, event: Any) -> dict[str, Any]:
    p = event.payload
    return {"agency": p.agency, "plan_posted": False, "timers": p.timers}


def _apply_escalated(case: Case, event: Any) -> dict[str, Any]:
    p = event.payload
    return {"escalation_level": max(case.escalation_level, p.level), "timers": p.timers}


def _apply_taken_over(case: Case, event: Any) -> dict[str, Any]:
    return {"handler": event.payload.actor.id}


def _apply_referred_back(case: Case, event: Any) -> dict[str, Any]:
    return {"handler": None}
