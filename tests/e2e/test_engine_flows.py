"""Whole complaint flows through the real broker and a real worker process, topics only.

The worker runs on the simulated clock, so SLA time (days, weeks) passes when the test says so.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

from tests.e2e import builders as b
from tests.e2e.conftest import MONDAY_0900_WIT
from tests.e2e.harness import EngineHarness, EventLog
from workflow.case import Case
from workflow.policy import load_policy
from workflow.sla import SlaClock, deadline

WIT = MONDAY_0900_WIT.tzinfo


def wit(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=WIT)


def of_case(events: list[dict[str, Any]], case_id: str) -> list[dict[str, Any]]:
    return [e for e in events if e["case_id"] == case_id]


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def has(type_: str, **payload: Any) -> Any:
    def check(events: list[dict[str, Any]]) -> bool:
        return any(
            e["type"] == type_ and all(e["payload"].get(k) == v for k, v in payload.items())
            for e in events
        )

    return check


def send(engine: EngineHarness, *messages: Any) -> None:
    for message in messages:
        key, value = b.wire(message)
        topic = "complaints.intake" if message.type == "ComplaintSubmitted" else "cases.commands"
        engine.publish(topic, value, key)


def final_snapshot(states: EventLog, case_id: str) -> Case:
    snapshots = [r for r in states.records if r.key == case_id.encode()]
    assert snapshots, f"no snapshot of {case_id} on cases.state"
    return Case.model_validate_json(snapshots[-1].value)


def test_web_complaint_goes_through_every_stage_to_closed(engine: EngineHarness) -> None:
    engine.start_worker()
    t = MONDAY_0900_WIT
    complaint = b.complaint("web-form-0001", t)
    case_id = complaint.derived_case_id
    send(
        engine,
        complaint,
        b.formal(case_id, t),
        b.material(case_id, t),
        b.accept(case_id, t),
        b.resolve(case_id, t),
        b.confirm(case_id, t),
    )
    events = engine.reader("cases.events")
    seen = events.wait(has("ResolutionConfirmed"), 30, "the reporter's confirmation")
    assert types(of_case(seen, case_id)) == [
        "CaseOpened",
        "FormalVerificationCompleted",
        "CaseVerified",
        "CaseReferred",
        "ReferralAccepted",
        "ComplaintResolved",
        "ResolutionConfirmed",
    ]
    versions = [e["event_id"] for e in of_case(seen, case_id)]
    assert len(set(versions)) == len(versions)
    states = engine.reader("cases.state")
    states.wait(lambda _: any(r.key == case_id.encode() for r in states.records), 10, "state")
    wait_final = time.monotonic() + 10
    while final_snapshot(states, case_id).state != "closed" and time.monotonic() < wait_final:
        states.poll()
    final = final_snapshot(states, case_id)
    assert final.state == "closed"
    assert final.agency == "DINKES"
    assert final.version == 7


def test_missing_information_pauses_the_clock_then_withdraws_after_30_days(
    engine: EngineHarness,
) -> None:
    worker = engine.start_worker()
    t = MONDAY_0900_WIT
    complaint = b.complaint("web-form-0002", t)
    case_id = complaint.derived_case_id
    # A second case whose verification clock runs: its breach shows the timer has worked through
    # the jump in time, so the silence about the paused case means something.
    probe = b.complaint("web-form-0002-probe", t)
    send(engine, complaint, probe, b.formal(case_id, t), b.request_information(case_id, t))
    events = engine.reader("cases.events")
    events.wait(has("InformationRequested"), 30, "the information request")

    # 29 days on: far past the 3-working-day verification target, but that clock is paused.
    # The reporter's reminder (day 24 of 30, in office hours: 4 Jan 2027 08:00) is due by then.
    engine.set_clock(t + timedelta(days=29))
    events.wait(has("SlaBreached", stage="verification"), 15, "the probe case's breach")
    events.wait(has("ReporterReminderIssued"), 15, "the reporter's reminder")
    mine = of_case(events.values(), case_id)
    assert types(mine) == [
        "CaseOpened",
        "FormalVerificationCompleted",
        "InformationRequested",
        "ReporterReminderIssued",
    ]
    assert mine[-1]["payload"]["deadline"].startswith("2027-01-07T00:00:00")

    # 30 calendar days, counted to the end of the 30th day after the request: 6 Jan 2027, 24:00.
    engine.set_clock(wit("2027-01-07T00:00:00"))
    seen = events.wait(has("WithdrawnForMissingInformation"), 15, "the automatic withdrawal")
    mine = of_case(seen, case_id)
    assert types(mine)[-1] == "WithdrawnForMissingInformation"
    assert not [e for e in mine if e["payload"].get("stage") == "verification"], types(mine)
    states = engine.reader("cases.state")
    states.wait(
        lambda _: bool(states.records) and final_snapshot(states, case_id).state == "withdrawn",
        10,
        "the withdrawn snapshot",
    )
    assert worker.alive()


def test_silent_agency_gets_warnings_a_breach_and_two_escalation_levels(
    engine: EngineHarness,
) -> None:
    engine.start_worker()
    t = MONDAY_0900_WIT
    complaint = b.complaint("web-form-0003", t)
    case_id = complaint.derived_case_id
    send(engine, complaint, b.formal(case_id, t), b.material(case_id, t))
    events = engine.reader("cases.events")
    events.wait(has("CaseReferred"), 30, "the referral")

    # Follow-up plan target: 5 working days -> close of Monday 14 Dec (16:00 WIT); 47.5 office
    # hours from Mon 7 Dec 09:00. 50% falls on Thu 10 Dec 08:45, 75% on Fri 11 Dec 12:37:30.
    engine.set_clock(wit("2026-12-10T09:00:00"))
    events.wait(has("SlaWarningRaised", stage="follow_up_plan", threshold=0.5), 15, "50%")
    engine.set_clock(wit("2026-12-11T13:00:00"))
    events.wait(has("SlaWarningRaised", stage="follow_up_plan", threshold=0.75), 15, "75%")
    assert "SlaBreached" not in types(of_case(events.values(), case_id))

    # The deadline itself: engine time flows on from it (paced, see run_clock), and the breach
    # must be decided within 1 s of it in engine time (its occurred_at is when it was decided).
    sent = time.monotonic()
    escalated = has("CaseEscalated", level=1)
    engine.run_clock(
        wit("2026-12-14T16:00:00"), lambda: (events.poll() or True) and escalated(events.values())
    )
    visible_after = time.monotonic() - sent
    mine = of_case(events.values(), case_id)
    breach = next(e for e in mine if e["type"] == "SlaBreached")
    assert breach["payload"]["stage"] == "follow_up_plan"
    assert datetime.fromisoformat(breach["payload"]["deadline"]) == wit("2026-12-14T16:00:00")
    lateness = datetime.fromisoformat(breach["occurred_at"]) - wit("2026-12-14T16:00:00")
    assert lateness < timedelta(seconds=1), f"breach decided {lateness} after its deadline"
    print(
        f"breach decided {lateness.total_seconds() * 1000:.0f} ms (engine time) after its"
        f" deadline; visible on cases.events {visible_after * 1000:.0f} ms (real) after"
    )

    # Level 1 (Kepala OPD) has 3 working days: close of Thu 17 Dec.
    engine.set_clock(wit("2026-12-17T15:00:00"))
    engine.set_clock(wit("2026-12-17T16:00:00"))
    events.wait(has("CaseEscalated", level=2), 15, "escalation to level 2")
    levels = [
        e["payload"]["level"]
        for e in of_case(events.values(), case_id)
        if e["type"] == "CaseEscalated"
    ]
    assert levels == [1, 2]


def test_complaint_before_joint_leave_gets_the_calendar_deadline(engine: EngineHarness) -> None:
    """Wed 23 Dec 2026 15:00 WIT; 24 Dec is cuti bersama, 25 Dec Christmas, 26-27 a weekend.
    Three working days (the day of receipt not counted): 28, 29, 30 Dec -> close of 30 Dec,
    16:00 WIT. Office time in between: 1 h + 3 x 8 h = 25 h."""
    received = wit("2026-12-23T15:00:00")
    engine.start = received
    engine.start_worker()
    complaint = b.complaint("web-form-0004", received)
    case_id = complaint.derived_case_id
    send(engine, complaint)
    events = engine.reader("cases.events")
    opened = events.wait(has("CaseOpened"), 30, "the case")[0]
    clock = SlaClock.model_validate(opened["payload"]["timers"]["clock"])
    assert clock.stage == "verification"
    assert clock.budget_seconds == 25 * 3600
    calendar = load_policy().calendar_for("SETDA-TRIASE")
    assert deadline(clock, calendar) == wit("2026-12-30T16:00:00")

    # 75% of 25 h is reached on 30 Dec at 09:45; the breach exactly at 16:00, not before.
    engine.set_clock(wit("2026-12-30T15:59:00"))
    seen = events.wait(has("SlaWarningRaised", stage="verification", threshold=0.75), 15, "75%")
    assert "SlaBreached" not in types(of_case(seen, case_id))
    engine.set_clock(wit("2026-12-30T16:00:00"))
    seen = events.wait(has("SlaBreached", stage="verification"), 15, "the breach")
    breach = next(e for e in seen if e["type"] == "SlaBreached")
    assert datetime.fromisoformat(breach["payload"]["deadline"]) == wit("2026-12-30T16:00:00")


def test_the_same_intake_message_three_times_opens_one_case(engine: EngineHarness) -> None:
    engine.start_worker()
    t = MONDAY_0900_WIT
    complaint = b.complaint("wa-msg-778899", t, channel=b.Channel.WHATSAPP)
    case_id = complaint.derived_case_id
    key, value = b.wire(complaint)
    engine.publish("complaints.intake", value, key)
    engine.publish("complaints.intake", value, key)
    # The channel retried with a new event id, and without a key: still the same case.
    retry = complaint.model_copy(update={"event_id": b.new_id()})
    engine.publish("complaints.intake", b.wire(retry)[1], None)
    send(engine, b.formal(case_id, t))
    events = engine.reader("cases.events")
    events.wait(has("FormalVerificationCompleted"), 30, "the verification after the copies")
    time.sleep(1.0)  # let a late copy (the re-keyed one) arrive if it were to open a case
    events.poll()
    assert types(of_case(events.values(), case_id)).count("CaseOpened") == 1
    assert [e for e in events.values() if e["type"] == "CaseOpened"].__len__() == 1


def test_bad_intake_goes_to_deadletter_and_valid_messages_around_it_are_processed(
    engine: EngineHarness,
) -> None:
    worker = engine.start_worker()
    t = MONDAY_0900_WIT
    first = b.complaint("web-form-0100", t)
    last = b.complaint("web-form-0101", t)
    good = json.loads(b.wire(first)[1])
    naive = json.loads(json.dumps(good))
    naive["occurred_at"] = "2026-12-07T09:00:00"
    naive["payload"]["channel_message_id"] = "naive"
    version = json.loads(json.dumps(good))
    version["schema_version"] = 99
    missing = json.loads(json.dumps(good))
    del missing["payload"]["text"]
    unknown = json.loads(json.dumps(good))
    unknown["type"] = "ComplaintTeleported"
    far_future = json.loads(json.dumps(good))
    far_future["payload"]["received_at"] = "9999-12-31T23:59:59+09:00"
    far_future["payload"]["channel_message_id"] = "far-future"
    bad: list[tuple[bytes, str]] = [
        (b"this is not json", "not_json"),
        (b'{"type": "ComplaintSubmitted", "x": "\xff\xfe"}', "invalid_utf8"),
        (json.dumps(version).encode(), "unsupported_schema_version"),
        (json.dumps(missing).encode(), "invalid_field"),
        (json.dumps(naive).encode(), "invalid_field"),
        (json.dumps(unknown).encode(), "unknown_type"),
        (json.dumps(far_future).encode(), "invalid_field"),
        (b"[1, 2, 3]", "not_an_object"),
        (b"{" + b" " * (300 * 1024) + b"}", "oversized"),
    ]
    engine.publish("complaints.intake", b.wire(first)[1], b.wire(first)[0])
    for value, _ in bad:
        engine.publish("complaints.intake", value, b"bad-key")
    engine.publish("complaints.intake", b.wire(last)[1], b.wire(last)[0])

    events = engine.reader("cases.events")
    opened = events.wait(
        lambda vs: len([e for e in vs if e["type"] == "CaseOpened"]) == 2, 30, "both valid cases"
    )
    assert {e["case_id"] for e in opened} == {first.derived_case_id, last.derived_case_id}

    dead = engine.reader("deadletter")
    wait = time.monotonic() + 20
    while len(dead.records) < len(bad) and time.monotonic() < wait:
        dead.poll()
    assert len(dead.records) == len(bad)
    by_value = {r.value: r for r in dead.records}
    intake_topic = engine.topic("complaints.intake")
    for value, reason in bad:
        record = by_value[value]  # the original bytes, untouched
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["aduan.error.reason"] == reason, (reason, headers)
        assert headers["aduan.error.detail"]
        assert headers["aduan.source.topic"] == intake_topic
        assert int(headers["aduan.source.offset"]) >= 0
        assert record.key == b"bad-key"
    assert worker.alive()


def test_rocksdb_store_keeps_cases_and_deadlines_across_a_restart(engine: EngineHarness) -> None:
    """With the on-disk store, a restarted worker still knows the case and rebuilds its SLA
    deadline index from the table: the verification breach still comes, from the new worker."""
    first = engine.start_worker("r1", ADUAN_STORE="rocksdb://")
    t = MONDAY_0900_WIT
    complaint = b.complaint("web-form-rocks", t)
    case_id = complaint.derived_case_id
    send(engine, complaint, b.formal(case_id, t))
    events = engine.reader("cases.events")
    events.wait(has("FormalVerificationCompleted"), 30, "the formal verification")
    first.stop()
    second = engine.start_worker("r2", ADUAN_STORE="rocksdb://")
    # Verification target: 3 working days -> close of Thu 10 Dec.
    engine.set_clock(wit("2026-12-10T16:00:00"))
    events.wait(has("SlaBreached", stage="verification"), 15, "the breach after the restart")
    send(engine, b.material(case_id, t))
    events.wait(has("CaseReferred"), 15, "the referral after the restart")
    assert (second.stats() or {}).get("timers_fired", 0) >= 1
