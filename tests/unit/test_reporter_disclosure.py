"""The public lookup shows the texts written for the reporter (issue 15 part 5): the question,
the plan, the resolution, the rejection reason; never notes, actors or officers' details, and
nothing of a confidential case."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from consumers.gateway.views import public_view
from tests.e2e import builders as b
from tests.unit.test_reporter_messages import POLICY, T0
from workflow.commands import RejectComplaint, RejectPayload
from workflow.core import Workflow
from workflow.enums import RejectionReason


def drive(*steps: Any) -> tuple[Any, list[Any]]:
    workflow = Workflow(POLICY)
    case, history = None, []
    for step in steps:
        case, events = workflow.handle(case, step, step.occurred_at)
        history += events
    return case, history


def test_the_lookup_shows_question_plan_and_resolution() -> None:
    complaint = b.complaint("d-1", T0)
    cid = complaint.derived_case_id
    at = [T0 + timedelta(hours=h) for h in range(1, 9)]
    case, history = drive(
        complaint,
        b.formal(cid, at[0]),
        b.request_information(cid, at[1]),
        b.provide_information(cid, at[2]),
        b.material(cid, at[3]),
        b.accept(cid, at[4]),
        b.plan(cid, at[5]),
        b.resolve(cid, at[6]),
    )
    view = public_view(case, history, POLICY)
    by_type = {entry["type"]: entry for entry in view["history"]}
    assert by_type["InformationRequested"]["question"] == "Mohon sebutkan nama puskesmas."
    assert by_type["FollowUpPlanPosted"]["plan"] == "Menambah petugas jaga pagi."
    resolved = by_type["ComplaintResolved"]
    assert resolved["resolution_text"] == "Jadwal petugas diperbaiki sejak Senin."
    assert resolved["reopen_until"]
    shown = json.dumps(view)
    assert "verifier-01" not in shown
    assert "liaison" not in shown


def test_a_rejection_shows_the_reason_never_the_officers_detail() -> None:
    complaint = b.complaint("d-2", T0)
    cid = complaint.derived_case_id
    reject = RejectComplaint(
        event_id=b.new_id(),
        occurred_at=T0 + timedelta(hours=1),
        case_id=cid,
        payload=RejectPayload(
            actor=b.VERIFIER, reason=RejectionReason.DUPLICATE, detail="sama dengan kasus X"
        ),
    )
    case, history = drive(complaint, reject)
    [rejected] = [e for e in public_view(case, history, POLICY)["history"] if "reason" in e]
    assert rejected["reason"] == "duplicate"
    assert "kasus X" not in json.dumps(public_view(case, history, POLICY))


def test_a_confidential_case_shows_no_texts() -> None:
    complaint = b.complaint("d-3", T0, confidentiality="confidential")
    cid = complaint.derived_case_id
    case, history = drive(complaint, b.formal(cid, T0), b.request_information(cid, T0))
    view = public_view(case, history, POLICY)
    assert "puskesmas" not in json.dumps(view).lower()


def test_personal_data_in_a_question_is_redacted() -> None:
    complaint = b.complaint("d-4", T0)
    cid = complaint.derived_case_id
    ask = b.request_information(cid, T0)
    ask = ask.model_copy(
        update={"payload": ask.payload.model_copy(update={"question": "Hubungi 081234567890?"})}
    )
    case, history = drive(complaint, b.formal(cid, T0), ask)
    [entry] = [e for e in public_view(case, history, POLICY)["history"] if "question" in e]
    assert "081234567890" not in entry["question"]
