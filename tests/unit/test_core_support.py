"""Builders shared by the core tests (no tests here): a controllable clock and a case driver."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from workflow.case import Case
from workflow.commands import COMMAND_TYPES
from workflow.core import Workflow
from workflow.events import Event
from workflow.intake import ComplaintSubmitted
from workflow.policy import Policy, load_policy

WIT = ZoneInfo("Asia/Jayapura")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=WIT)  # a Monday, 09:00 WIT
VERIFIER = {"id": "ver-1", "role": "verifier"}
REPORTER = {"id": "rep-1", "role": "reporter"}
OFFICER = {"id": "off-1", "role": "officer"}
NAME, PHONE_RAW = "Siti Rahmawati", "0812-3456-7890"
PHONE, EMAIL = "+6281234567890", "siti@example.co.id"


@cache
def policy() -> Policy:
    return load_policy()


@cache
def workflow() -> Workflow:
    return Workflow(policy(), reporter_key=b"test-pseudonym-key")


def agency_actor(agency: str | None = None) -> dict[str, Any]:
    actor: dict[str, Any] = {"id": "opd-1", "role": "agency"}
    if agency is not None:
        actor["agency"] = agency
    return actor


def intake(
    n: int = 1,
    *,
    at: datetime = T0,
    confidentiality: str = "public",
    **extra: Any,
) -> ComplaintSubmitted:
    payload: dict[str, Any] = {
        "channel": "web",
        "channel_message_id": f"web-{n}",
        "received_at": at,
        "reporter": {
            "name": NAME,
            "phone": PHONE_RAW,
            "email": EMAIL,
            "confidentiality": confidentiality,
        },
        "subject": "Jalan rusak di depan puskesmas",
        "text": "Jalan rusak parah sejak tiga bulan, belum ada perbaikan.",
        "category": "penundaan_berlarut",
    }
    payload.update(extra)
    return ComplaintSubmitted.model_validate(
        {"event_id": f"intake-{n}", "occurred_at": at, "payload": payload}
    )


_IDS = itertools.count(1)

SAMPLE_PAYLOADS: dict[str, dict[str, Any]] = {
    "CompleteFormalVerification": {},
    "CompleteMaterialVerification": {},
    "RequestInformation": {"question": "Mohon alamat lengkap."},
    "RejectComplaint": {"reason": "duplicate"},
    "ProvideInformation": {"text": "Jl. Abdullah Soulissa no. 5"},
    "ConfirmResolution": {},
    "DisputeResolution": {"reason": "Belum diperbaiki"},
    "WithdrawComplaint": {},
    "AcceptReferral": {},
    "ReturnReferral": {"reason": "not_within_authority"},
    "PostFollowUpPlan": {"plan": "Perbaikan minggu depan"},
    "ResolveComplaint": {"resolution_text": "Jalan sudah diperbaiki"},
    "ReassignAgency": {"agency": "PUPR"},
    "EscalateManually": {"reason": "Tidak ada respons"},
    "TakeOver": {},
    "ReferBack": {},
}
DEFAULT_ACTOR = {
    "CompleteFormalVerification": VERIFIER,
    "CompleteMaterialVerification": VERIFIER,
    "RequestInformation": VERIFIER,
    "RejectComplaint": VERIFIER,
    "ProvideInformation": REPORTER,
    "ConfirmResolution": REPORTER,
    "DisputeResolution": REPORTER,
    "WithdrawComplaint": REPORTER,
    "AcceptReferral": agency_actor(),
    "ReturnReferral": agency_actor(),
    "PostFollowUpPlan": agency_actor(),
    "ResolveComplaint": agency_actor(),
    "ReassignAgency": OFFICER,
    "EscalateManually": OFFICER,
    "TakeOver": OFFICER,
    "ReferBack": OFFICER,
}


def command(
    type_: str,
    case_id: str,
    *,
    at: datetime = T0,
    event_id: str | None = None,
    actor: dict[str, Any] | None = None,
    **payload: Any,
) -> Any:
    body = {**SAMPLE_PAYLOADS[type_], **payload, "actor": actor or DEFAULT_ACTOR[type_]}
    return COMMAND_TYPES[type_].model_validate(
        {
            "event_id": event_id or f"{type_}-{next(_IDS)}",
            "occurred_at": at,
            "case_id": case_id,
            "payload": body,
        }
    )


class Driver:
    """One case driven through the core with a controllable clock; records every event."""

    def __init__(self, wf: Workflow | None = None, **intake_args: Any) -> None:
        self.wf = wf or workflow()
        self.now = intake_args.get("at", T0)
        self.case: Case | None = None
        self.events: list[Event] = []
        self.snapshots: list[Case] = []
        self.last = self.apply(intake(**intake_args))

    @property
    def c(self) -> Case:
        assert self.case is not None
        return self.case

    def apply(self, message: Any, at: datetime | None = None) -> list[Event]:
        if at is not None:
            self.now = at
        self.case, events = self.wf.handle(self.case, message, self.now)
        self.events.extend(events)
        if self.case is not None:
            self.snapshots.append(self.case)
        self.last = events
        return events

    def send(
        self, type_: str, *, after: timedelta | None = None, at: datetime | None = None, **kw: Any
    ) -> list[Event]:
        if after is not None:
            at = self.now + after
        when = at or self.now
        return self.apply(command(type_, self.c.case_id, at=when, **kw), when)

    def tick(self, at: datetime | None = None) -> list[Event]:
        """Fire the SLA timer at ``at`` (default: the case's wake_at)."""
        when = at or self.c.wake_at
        assert when is not None, "nothing is pending"
        return self.apply(self.wf.timer_message(self.c, when), when)

    def types(self) -> list[str]:
        return [e.type for e in self.last]

    def to(self, *path: str) -> Driver:
        for step in path:
            events = self.send(step, after=timedelta(hours=1))
            assert all(e.type != "CommandRejected" for e in events), events
        return self
