"""A message applies at most once in a case's whole life (issue 12, defect 1).

The case keeps an 8-byte digest of every non-timer message it applied; timer messages are
idempotent by their due instant; past `APPLIED_CAP` further commands are refused loudly.
"""

from __future__ import annotations

import json
from datetime import timedelta

from test_core_support import T0, Driver, command, workflow

from workflow.case import APPLIED_CAP, Case, message_key

HOUR = timedelta(hours=1)


def busy(d: Driver, pairs: int) -> None:
    """``2 * pairs`` commands that all apply (take over, refer back, ...)."""
    for _ in range(pairs):
        d.send("TakeOver", after=HOUR)
        d.send("ReferBack", after=HOUR)


def test_a_command_resent_after_forty_others_is_not_applied_again() -> None:
    d = Driver()
    escalate = command("EscalateManually", d.c.case_id, at=d.now, event_id="esc-1")
    (escalated,) = d.apply(escalate)
    assert escalated.type == "CaseEscalated"
    assert d.c.escalation_level == 1
    busy(d, 20)
    before = d.c
    assert d.apply(escalate, d.now + HOUR) == []
    assert d.c == before
    assert d.c.escalation_level == 1


def test_the_intake_and_the_first_command_are_remembered_for_ever() -> None:
    d = Driver()
    first = command("CompleteFormalVerification", d.c.case_id, at=d.now, event_id="first")
    d.apply(first)
    busy(d, 100)
    assert d.apply(first, d.now + HOUR) == []


def test_a_rejected_command_is_remembered_too() -> None:
    d = Driver()
    accept = command("AcceptReferral", d.c.case_id, at=d.now, event_id="too-early")
    assert d.apply(accept)[0].type == "CommandRejected"
    busy(d, 40)
    assert d.apply(accept, d.now + HOUR) == []


def test_past_the_cap_a_new_command_is_refused_loudly_and_changes_nothing() -> None:
    d = Driver()
    while d.c.applied_count < APPLIED_CAP:
        d.send("TakeOver" if d.c.handler is None else "ReferBack", after=HOUR)
    full = d.c
    (refused,) = workflow().decide(full, command("EscalateManually", full.case_id), d.now)
    assert refused.type == "CommandRejected"
    assert refused.payload.reason_code == "command_limit"
    assert str(APPLIED_CAP) in refused.payload.detail
    # handle() does not fold it: the case is unchanged (the shell dead-letters the command)
    after, events = workflow().handle(full, command("EscalateManually", full.case_id), d.now)
    assert after == full
    assert [e.payload.reason_code for e in events] == ["command_limit"]
    # an already applied command is still a silent duplicate, and timers still run
    assert workflow().decide(full, command("TakeOver", full.case_id, event_id="x"), d.now)
    assert workflow().handle(full, d.wf.timer_message(full, d.now), d.now)[0] is not None


def test_memory_is_eight_bytes_per_applied_message_and_the_snapshot_round_trips() -> None:
    d = Driver()
    busy(d, 5)
    assert d.c.applied_count == 11  # the intake and ten commands
    assert len(d.c.applied_keys) == 8 * 11
    assert Case.model_validate_json(d.c.model_dump_json()) == d.c
    assert len(d.c.model_dump_json()) < 2500


# A snapshot exactly as the previous release wrote it to cases.state (applied: the hex keys of
# the intake "intake-1", "old-take" (TakeOver) and "old-esc" (EscalateManually)).
OLD_SNAPSHOT = (
    '{"applied":["a40b73b2a751f33c","2deca540b85bb470","fa517e2b6c72b358"],'
    '"category":"penundaan_berlarut","candidates":["PUPR"],"agency":null,"returned_by":[],'
    '"complaint_class":null,"plan_posted":false,"handler":"off-1","escalation_level":1,'
    '"reopen_until":null,"reopen_count":0,"timers":{"clock":{"stage":"verification",'
    '"unit":"working","started_at":"2026-03-02T09:00:00+09:00","budget_seconds":111600.0,'
    '"spent_seconds":0.0,"running_since":"2026-03-02T09:00:00+09:00","warned":[],'
    '"breached":false},"clock_next_at":"2026-03-04T08:30:00+09:00","reporter_clock":null,'
    '"reporter_due_at":null,"escalation_due_at":"2026-03-05T16:00:00+09:00"},'
    '"wake_at":"2026-03-04T08:30:00+09:00","case_id":"ADU-XCI7-EZRM-7RG7","state":"received",'
    '"version":3,"correlation_id":"intake-1","opened_at":"2026-03-02T09:00:00+09:00",'
    '"channel":"web","report_type":"pengaduan","subject":"Jalan rusak di depan puskesmas",'
    '"reporter":{"confidentiality":"public","name":"Siti Rahmawati","phone":"+6281234567890",'
    '"email":"siti@example.co.id","pseudonym":null,"contactable":true},'
    '"triage_agency":"SETDA-TRIASE","suggested_agency":"DINKES"}'
)


def test_an_old_snapshot_with_the_applied_list_still_loads_and_still_dedupes() -> None:
    old = Case.model_validate_json(OLD_SNAPSHOT)
    assert old.applied == ()
    assert old.applied_count == 3
    assert old.applied_keys[:8] == message_key("intake-1")
    assert old == Case.model_validate(json.loads(OLD_SNAPSHOT))
    # round-trips in its new form, through JSON text and through JSON-mode dicts
    assert Case.model_validate_json(old.model_dump_json()) == old
    assert Case.model_validate(old.model_dump(mode="json")) == old
    wf, now = workflow(), T0 + timedelta(days=1)
    again = command("EscalateManually", old.case_id, at=now, event_id="old-esc")
    assert wf.decide(old, again, now) == []
    # a new command still applies, and is remembered beside the migrated keys
    new = command("ReferBack", old.case_id, at=now, event_id="new-refer")
    after, events = wf.handle(old, new, now)
    assert events
    assert after is not None
    assert after.applied_count == 4
    assert wf.decide(after, new, now) == []


def test_a_timer_redelivered_after_the_case_moved_on_does_nothing() -> None:
    d = Driver()
    first_timer = d.wf.timer_message(d.c, d.c.wake_at or T0)
    assert d.tick()  # the first warning
    busy(d, 3)
    while d.c.wake_at is not None and d.c.escalation_level < 2:
        d.tick()
    later = d.c.wake_at or d.now
    assert d.wf.handle(d.c, first_timer, later + HOUR)[1] == []
