"""The reminder before the reporter's deadline (issue 15 part 1): emitted by the core's SLA timer,
once, in office hours, cancelled by the answer; messaging words it in Indonesian."""

from __future__ import annotations

from datetime import timedelta

from test_core_support import Driver, agency_actor, workflow

from consumers.reporter.messages import load_texts, moment_of
from states.lifecycle import CaseState
from workflow.sla import Stage

HOUR = timedelta(hours=1)
TEXTS = load_texts("https://lapor.example/v1/cases/", "Asia/Jayapura")


def _in_office_hours(d: Driver, agency: str | None) -> bool:
    at = d.c.timers.reporter_remind_at
    assert at is not None
    cal = workflow().calendar(agency)
    interval = cal.office_interval(cal.local_date(at))
    return interval is not None and interval[0] <= at <= interval[1]


def test_information_reminder_comes_once_in_office_hours_before_the_deadline() -> None:
    d = Driver().to("CompleteFormalVerification")
    d.send("RequestInformation", after=HOUR)
    asked, due, remind = d.now, d.c.timers.reporter_due_at, d.c.timers.reporter_remind_at
    assert due is not None
    assert remind is not None
    # 80% of the 30 days (policy reporter_reminder_at), moved out of the night into office hours
    assert asked + timedelta(days=24) <= remind < due
    assert _in_office_hours(d, d.c.triage_agency)
    assert d.c.wake_at == remind
    assert d.tick(remind - timedelta(seconds=1)) == []
    timer = workflow().timer_message(d.c, remind)
    (reminder,) = d.apply(timer, remind)
    assert reminder.type == "ReporterReminderIssued"
    assert reminder.payload.stage is Stage.REPORTER_INFORMATION
    assert reminder.payload.deadline == due
    assert d.c.timers.reporter_remind_at is None
    assert d.apply(timer, remind + HOUR) == []  # a redelivered timer reminds nobody twice
    assert d.c.wake_at == due  # next: the deadline, no second reminder
    assert [e.type for e in d.tick()] == ["WithdrawnForMissingInformation"]


def test_confirmation_reminder_before_the_silence_closure() -> None:
    d = Driver().to(
        "CompleteFormalVerification",
        "CompleteMaterialVerification",
        "AcceptReferral",
        "ResolveComplaint",
    )
    due, remind = d.c.timers.reporter_due_at, d.c.timers.reporter_remind_at
    assert due is not None
    assert remind is not None
    assert remind < due
    assert _in_office_hours(d, d.c.agency)
    (reminder,) = d.tick()
    assert reminder.payload.stage is Stage.REPORTER_CONFIRMATION
    assert d.c.state is CaseState.RESOLVED
    assert [e.type for e in d.tick()] == ["ClosedForReporterSilence"]


def test_an_answer_before_the_reminder_cancels_it() -> None:
    d = Driver().to("CompleteFormalVerification", "CompleteMaterialVerification")
    d.send("RequestInformation", after=HOUR, actor=agency_actor("DINKES"))
    assert d.c.timers.reporter_remind_at is not None
    d.send("ProvideInformation", after=timedelta(days=2))
    assert d.c.timers.reporter_remind_at is None
    assert d.c.wake_at == d.c.timers.clock_next_at


def test_a_timer_that_comes_only_after_the_deadline_closes_without_reminding() -> None:
    d = Driver().to("CompleteFormalVerification")
    d.send("RequestInformation", after=HOUR)
    due = d.c.timers.reporter_due_at
    assert due is not None
    d.apply(workflow().timer_message(d.c, due + HOUR), due + HOUR)  # the engine was down
    assert d.types() == ["WithdrawnForMissingInformation"]


def test_the_reminder_moment_reads_as_an_indonesian_reminder() -> None:
    d = Driver().to("CompleteFormalVerification")
    d.send("RequestInformation", after=HOUR)
    (reminder,) = d.tick()
    moment = moment_of(reminder, workflow().policy)
    assert moment is not None
    assert moment.kind == "reminder_information"
    rendered = TEXTS.render(moment)
    assert rendered.body.startswith("Pengingat: pengaduan")
    assert "paling lambat" in rendered.body
    assert " WIT" in rendered.body
    assert rendered.template == "aduan_pengingat_informasi"
    assert moment.key("sms") != moment.key("email")  # once per (case, moment, channel)
