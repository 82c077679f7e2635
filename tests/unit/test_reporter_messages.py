"""Which events become reporter messages, and their Indonesian words (issue 15 part 1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from consumers.reporter.messages import Texts, load_texts, moment_of
from tests.e2e import builders as b
from workflow.commands import (
    LinkToIncident,
    RejectComplaint,
    RejectPayload,
    RequestInformation,
    RequestInformationPayload,
)
from workflow.core import Workflow
from workflow.enums import RejectionReason
from workflow.policy import load_policy

T0 = b.datetime.fromisoformat("2026-12-07T09:00:00+09:00")
POLICY = load_policy()
TEXTS = load_texts("https://lapor.example/v1/cases/", "Asia/Jayapura")


def run(*steps: Any) -> list[Any]:
    """Every event of a case driven through the real core."""
    workflow = Workflow(POLICY)
    case, events = None, []
    for step in steps:
        case, produced = workflow.handle(case, step, step.occurred_at)
        events += produced
    return events


def messages(events: list[Any]) -> dict[str, str]:
    out = {}
    for event in events:
        moment = moment_of(event, POLICY)
        if moment is not None:
            out[moment.kind] = TEXTS.render(moment).body
    return out


def test_a_case_from_intake_to_confirmation_tells_the_reporter_each_step() -> None:
    complaint = b.complaint("m-r1", T0, confidentiality="confidential")
    cid = complaint.derived_case_id
    at = [T0 + timedelta(hours=h) for h in range(1, 10)]
    events = run(
        complaint,
        b.formal(cid, at[0]),
        b.request_information(cid, at[1]),
        b.provide_information(cid, at[2]),
        b.material(cid, at[3]),
        b.accept(cid, at[4]),
        b.plan(cid, at[5]),
        b.resolve(cid, at[6]),
        b.confirm(cid, at[7]),
    )
    said = messages(events)
    assert list(said) == [
        "received",
        "information_requested",
        "information_received",
        "referred",
        "plan_posted",
        "resolved",
        "closed_confirmed",
    ]
    assert cid in said["received"]
    assert "https://lapor.example/v1/cases/" + cid in said["received"]
    assert '"Mohon sebutkan nama puskesmas."' in said["information_requested"]
    assert "paling lambat" in said["information_requested"]
    assert " WIT" in said["information_requested"]
    assert "Dinas Kesehatan" in said["referred"] or "DINKES" in said["referred"]
    assert "Menambah petugas jaga pagi." in said["plan_posted"]
    assert "Jadwal petugas diperbaiki sejak Senin." in said["resolved"]
    assert "balas YA" in said["resolved"]
    assert "TIDAK" in said["resolved"]
    for body in said.values():
        assert "verifier-01" not in body  # never an actor's identity
        assert "{" not in body


def test_a_rejection_is_told_as_a_plain_reason_without_the_officers_note() -> None:
    complaint = b.complaint("m-r2", T0)
    cid = complaint.derived_case_id
    reject = RejectComplaint(
        event_id=b.new_id(),
        occurred_at=T0 + timedelta(hours=1),
        case_id=cid,
        payload=RejectPayload(
            actor=b.VERIFIER, reason=RejectionReason.DUPLICATE, detail="internal: dup of X"
        ),
    )
    said = messages(run(complaint, reject))
    assert "pengaduan yang sama sudah pernah diterima" in said["rejected"]
    assert "internal" not in said["rejected"]


def test_dates_are_written_the_indonesian_way() -> None:
    assert TEXTS.when(b.datetime.fromisoformat("2026-12-07T07:00:00+00:00")) == (
        "7 Desember 2026 pukul 16.00 WIT"
    )


def test_whatsapp_template_parameters_follow_the_declared_order() -> None:
    complaint = b.complaint("m-r3", T0)
    [opened] = [e for e in run(complaint) if e.type == "CaseOpened"]
    moment = moment_of(opened, POLICY)
    assert moment is not None
    rendered = TEXTS.render(moment)
    assert rendered.template == "aduan_diterima"
    assert rendered.params == (complaint.derived_case_id,)


def test_an_agency_question_tells_the_reporter_the_clock_waits_and_the_case_goes_on() -> None:
    complaint = b.complaint("m-r3", T0)
    cid = complaint.derived_case_id
    at = [T0 + timedelta(hours=h) for h in range(1, 6)]
    question = RequestInformation(
        event_id=b.new_id(),
        occurred_at=at[3],
        case_id=cid,
        payload=RequestInformationPayload(actor=b.agency_actor("DINKES"), question="Jam berapa?"),
    )
    events = run(complaint, b.formal(cid, at[0]), b.material(cid, at[1]), b.accept(cid, at[2]))
    events += run_on(events, question)
    said = messages(events)
    body = said["information_requested_agency"]
    assert '"Jam berapa?"' in body
    assert "paling lambat" in body
    assert "dihentikan sementara" in body
    assert "dicabut" not in body
    assert "information_requested" not in said  # not the verifier's "withdrawn" warning
    due = events[-1].payload.timers.reporter_due_at
    lapsed = run_on(events, WORKFLOW.timer_message(replay(events), due))
    assert [e.type for e in lapsed] == ["InformationRequestLapsed"]
    assert "dilanjutkan" in messages(lapsed)["information_lapsed"]


WORKFLOW = Workflow(POLICY)


def replay(events: list[Any]) -> Any:
    return WORKFLOW.replay(events)


def run_on(events: list[Any], message: Any) -> list[Any]:
    """The events ``message`` causes on the case ``events`` built."""
    _, produced = WORKFLOW.handle(replay(events), message, message.occurred_at)
    return produced


def test_the_reporters_language_where_a_translation_exists_else_indonesian() -> None:
    complaint = b.complaint("m-r4", T0)
    cid = complaint.derived_case_id
    events = run(complaint, b.formal(cid, T0 + timedelta(hours=1)))
    moment = moment_of(events[0], POLICY)
    assert moment is not None
    english = TEXTS.render(moment, "en-GB")
    assert english.language == "en"
    assert english.body.startswith(f"We have received your complaint with number {cid}.")
    assert english.template == "aduan_diterima"  # the same template, approved per language
    unknown = TEXTS.render(moment, "jv")  # no Javanese texts: Indonesian
    assert unknown.language == "id"
    assert unknown.body.startswith("Pengaduan Anda telah kami terima")
    assert TEXTS.when(T0, "en").endswith("at 09.00 WIT")


def test_a_translation_missing_one_message_falls_back_for_that_message_only() -> None:
    data = {
        "id": TEXTS._data["id"],
        "en": {**TEXTS._data["en"], "kinds": {"received": TEXTS._data["en"]["kinds"]["received"]}},
    }
    texts = Texts(data, TEXTS.lookup_url, TEXTS.tz)
    complaint = b.complaint("m-r5", T0)
    cid = complaint.derived_case_id
    said = {}
    for event in run(complaint, b.formal(cid, T0), b.request_information(cid, T0)):
        moment = moment_of(event, POLICY)
        if moment is not None:
            said[moment.kind] = texts.render(moment, "en")
    assert said["received"].language == "en"
    asked = said["information_requested"]
    assert asked.language == "id"
    assert "paling lambat" in asked.body
    assert " pukul " in asked.body  # the date in the message's own language
    assert texts.reply("opted_out", cid, "en").body.startswith("You will receive no more")


def _link(case_id: str, reporters: int, at: Any) -> Any:
    return LinkToIncident.model_validate(
        {
            "event_id": f"incident-link:{case_id}:INC-{case_id}:{reporters}",
            "occurred_at": at,
            "case_id": case_id,
            "payload": {"incident_id": "INC-ADU-AAAA-BBBB-CCCC", "reporters": reporters},
        }
    )


def test_a_linked_reporter_is_told_once_per_incident_with_the_count_and_nothing_else() -> None:
    complaint = b.complaint("m-inc1", T0)
    cid = complaint.derived_case_id
    events = run(complaint, _link(cid, 2, T0), _link(cid, 3, T0 + timedelta(hours=1)))
    linked = [e for e in events if e.type == "IncidentLinked"]
    assert len(linked) == 2  # the count rose: the case records it again
    moments = [moment_of(e, POLICY) for e in linked]
    assert {m.kind for m in moments if m} == {"incident_linked"}
    # One moment (one receipt key) for both: the reporter is not told again as more join.
    assert len({m.key("sms") for m in moments if m}) == 1
    first = moments[0]
    assert first is not None
    body = TEXTS.render(first).body
    assert cid in body
    assert "2 laporan" in body
    assert "diverifikasi satu kali" in body
    assert "INC-" not in body  # no other reporter's number, not even inside the incident's
    assert "ADU-AAAA" not in body
    english = TEXTS.render(first, "en").body
    assert "2 reports" in english
