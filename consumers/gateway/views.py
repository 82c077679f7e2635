"""What each audience may see of a case: the public view, role-based operator views, Open311.

Confidentiality rules (UU 37/2008 Pasal 24(2), SP4N-LAPOR! "anonim"/"rahasia"), on top of what
the engine already removed (snapshots and events hold only a `ReporterView`):

* public (no token): never any reporter data; what else is shown is decided by
  `workflow.disclosure.public_disclosure` (a ``confidential`` case: status and dates only; text
  and location only once verified, redacted of personal data; listings: verified and later);
* ``agency_officer``: only cases referred to their agency; reporter identity only for
  ``public`` reporters (no pseudonym, which would let them link an anonymous reporter's cases);
* ``verifier``, ``escalation_officer``, ``admin``: the stored `ReporterView` (identity for
  public reporters, a pseudonym at most for the others).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from consumers.adapters.open311 import GENERAL_SERVICE, SERVICES
from consumers.gateway.security import Operator, OperatorRole
from states.lifecycle import CaseState
from workflow.case import Case
from workflow.disclosure import FULL_DISCLOSURE, Disclosure, public_disclosure, public_text
from workflow.enums import Confidentiality
from workflow.events import Event
from workflow.policy import Policy
from workflow.reporter import ReporterView
from workflow.responsibility import responsible_agency, stage_calendar
from workflow.sla import deadline

STATE_NOTES: dict[CaseState, str] = {
    CaseState.RECEIVED: "Diterima, menunggu verifikasi.",
    CaseState.VERIFYING: "Sedang diverifikasi.",
    CaseState.AWAITING_INFORMATION: "Menunggu kelengkapan informasi dari pelapor.",
    CaseState.VERIFIED: "Terverifikasi, akan diteruskan ke instansi.",
    CaseState.REFERRED: "Diteruskan ke instansi yang berwenang.",
    CaseState.IN_PROGRESS: "Sedang ditindaklanjuti oleh instansi.",
    CaseState.RESOLVED: "Selesai ditindaklanjuti, menunggu konfirmasi pelapor.",
    CaseState.CLOSED: "Selesai dan ditutup.",
    CaseState.REJECTED: "Diarsipkan (tidak dapat ditindaklanjuti).",
    CaseState.WITHDRAWN: "Dicabut atau ditutup karena informasi tidak dilengkapi.",
}


def is_confidential(case: Case) -> bool:
    return case.reporter.confidentiality is Confidentiality.CONFIDENTIAL


def agency_name(policy: Policy, code: str | None) -> str | None:
    if code is None:
        return None
    try:
        return policy.agency(code).name
    except KeyError:
        return code


def expected_at(case: Case, policy: Policy) -> datetime | None:
    """The deadline of the running stage clock (None when none runs or it is paused)."""
    clock = case.timers.clock
    if clock is None or case.is_final:
        return None
    return deadline(clock, stage_calendar(policy, case, clock.stage))


def updated_at(case: Case, history: list[Event]) -> datetime:
    return history[-1].occurred_at if history else case.opened_at


def _opened(history: list[Event]) -> Any:
    for event in history:
        if event.type == "CaseOpened":
            return event.payload
    return None


def public_view(case: Case, history: list[Event], policy: Policy) -> dict[str, Any]:
    """What anyone holding the tracking number may see (`workflow.disclosure` decides)."""
    return _case_view(case, history, policy, public_disclosure(case))


def _case_view(
    case: Case, history: list[Event], policy: Policy, shown: Disclosure
) -> dict[str, Any]:
    due = expected_at(case, policy)
    view: dict[str, Any] = {
        "tracking_number": case.case_id,
        "state": case.state.value,
        "status": "closed" if case.is_final else "open",
        "status_note": STATE_NOTES[case.state],
        "opened_at": case.opened_at.isoformat(),
        "updated_at": updated_at(case, history).isoformat(),
        "expected_at": due.isoformat() if due else None,
        "confidential": is_confidential(case),
    }
    if shown.nature:
        view["agency"] = case.agency
        view["agency_name"] = agency_name(policy, case.agency)
        view["escalation_level"] = case.escalation_level
        view["subject"] = public_text(case, case.subject, shown)
        view["channel"] = case.channel.value
        view["report_type"] = case.report_type.value
        view["category"] = case.category.value if case.category else None
    view["history"] = [{"type": e.type, "at": e.occurred_at.isoformat()} for e in history]
    return view


def may_see(operator: Operator, case: Case) -> bool:
    """Agency officers see only the cases referred to their agency."""
    if operator.role is OperatorRole.AGENCY_OFFICER:
        return case.agency is not None and case.agency == operator.agency
    return True


def reporter_for(operator: Operator, reporter: ReporterView) -> dict[str, Any]:
    data = reporter.model_dump(mode="json")
    if operator.role is OperatorRole.AGENCY_OFFICER:
        if reporter.confidentiality is not Confidentiality.PUBLIC:
            data.update(name=None, phone=None, email=None)
        data["pseudonym"] = None
    return data


def _event_for(operator: Operator, event: Event) -> dict[str, Any]:
    data = event.model_dump(mode="json")
    if event.type == "CaseOpened":
        data["payload"]["reporter"] = reporter_for(operator, event.payload.reporter)
    return data


def operator_view(
    operator: Operator, case: Case, history: list[Event], policy: Policy
) -> dict[str, Any]:
    """The full view a role may see (the caller has checked `may_see`)."""
    view = _case_view(case, history, policy, FULL_DISCLOSURE)
    snapshot = case.model_dump(mode="json", exclude={"applied", "applied_keys", "timer_mark"})
    snapshot["reporter"] = reporter_for(operator, case.reporter)
    opened = _opened(history)
    view.update(
        case=snapshot,
        subject=case.subject,
        text=opened.text if opened else None,
        location=opened.location.model_dump(mode="json") if opened and opened.location else None,
        attachments=[a.model_dump(mode="json") for a in opened.attachments] if opened else [],
        external_reference=opened.external_reference if opened else None,
        history=[_event_for(operator, e) for e in history],
    )
    return view


# -- Open311 GeoReport v2 -------------------------------------------------------------------


def open311_request(case: Case, history: list[Event], policy: Policy) -> dict[str, Any]:
    """One service request in GeoReport v2 form, as the public may see it."""
    shown = public_disclosure(case)
    due = expected_at(case, policy)
    opened = _opened(history)
    location = opened.location if opened and shown.location else None
    code = (case.category.value if case.category else GENERAL_SERVICE) if shown.nature else None
    return {
        "service_request_id": case.case_id,
        "status": "closed" if case.is_final else "open",
        "status_notes": STATE_NOTES[case.state],
        "service_name": _service_name(code) if code else None,
        "service_code": code,
        "description": _open311_description(case, opened, shown),
        "agency_responsible": (
            agency_name(policy, responsible_agency(case)) if shown.nature else None
        ),
        "service_notice": None,
        "requested_datetime": case.opened_at.isoformat(),
        "updated_datetime": updated_at(case, history).isoformat(),
        "expected_datetime": due.isoformat() if due else None,
        "address": public_text(case, location.address, shown)
        if location and location.address
        else None,
        "address_id": None,
        "zipcode": None,
        "lat": location.latitude if location else None,
        "long": location.longitude if location else None,
        "media_url": None,
    }


def _open311_description(case: Case, opened: Any, shown: Disclosure) -> str | None:
    """The subject, and the text once the case is moderated, both redacted."""
    if not shown.nature:
        return None
    subject = public_text(case, case.subject, shown)
    if not shown.text or opened is None:
        return subject
    body = public_text(case, opened.text.strip(), shown)
    return body if body.startswith(subject.rstrip("…")) else f"{subject}\n\n{body}"


def _service_name(code: str | None) -> str:
    return SERVICES.get(code or GENERAL_SERVICE, SERVICES[GENERAL_SERVICE])[0]


def open311_services() -> list[dict[str, Any]]:
    """services.json: one service per maladministration type plus a general one."""
    return [
        {
            "service_code": code,
            "service_name": name,
            "description": description,
            "metadata": False,
            "type": "realtime",
            "keywords": code.replace("_", ","),
            "group": "maladministrasi" if code != GENERAL_SERVICE else "umum",
        }
        for code, (name, description) in SERVICES.items()
    ]
