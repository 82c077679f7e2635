"""The notifier's pure pieces: directory checks, routing, alert planning and words, retries."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from consumers.notifier.alerts import (
    CaseInfo,
    format_duration,
    format_office_time,
    plan_alert,
    render,
)
from consumers.notifier.delivery import Backoff
from consumers.notifier.directory import DirectoryError, load_directory
from workflow.events import (
    CaseEscalated,
    CaseEscalatedPayload,
    CaseReferred,
    CaseReferredPayload,
    SlaWarningPayload,
    SlaWarningRaised,
)
from workflow.policy import load_policy
from workflow.sla import DayType, SlaClock, Stage
from workflow.values import Timers

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "deploy" / "notifier" / "officers.yaml"
POLICY = load_policy()
T0 = datetime.fromisoformat("2026-12-07T09:00:00+09:00")

GOOD = """
smtp: {host: 127.0.0.1, port: 2525, sender: aduan@example.go.id, mode: insecure}
officers:
  - {id: a, name: A, role: Admin Penghubung, email: a@example.go.id}
  - {id: b, name: B, role: Kepala OPD, webhook: "http://127.0.0.1:9/hook", language: en}
agencies:
  "*": {liaison: [a], levels: {2: [a]}}
  DINKES: {levels: {1: [b]}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "officers.yaml"
    path.write_text(text)
    return path


def test_the_sample_directory_is_valid_and_covers_every_level_of_every_agency() -> None:
    directory = load_directory(SAMPLE, POLICY)
    for agency in POLICY.agencies:
        assert directory.liaisons(agency.code), agency.code
        for level in range(1, POLICY.ladder_for(agency.code).top + 1):
            assert directory.level_officers(agency.code, level), (agency.code, level)
    assert [o.id for o in directory.level_officers("DINKES", 1)] == ["kadis-dinkes"]
    assert [o.id for o in directory.level_officers("DINKES", 2)] == ["sekda", "inspektur"]


def test_routes_fall_back_to_star_and_targets_are_built(tmp_path: Path) -> None:
    directory = load_directory(write(tmp_path, GOOD), POLICY)
    assert [o.id for o in directory.liaisons("DINKES")] == ["a"]
    assert [o.id for o in directory.level_officers("DINKES", 1)] == ["b"]
    assert directory.level_officers("PUPR", 1) == []
    (email,) = directory.targets(directory.officer("a"))
    assert email.url.startswith("mailto://127.0.0.1:2525?")
    assert "to=a%40example.go.id" in email.url
    assert "mode=insecure" in email.url
    (hook,) = directory.targets(directory.officer("b"))
    assert hook.url == "json://127.0.0.1:9/hook"
    assert hook.id == "b/webhook"
    assert directory.language_for(directory.officer("b")) == "en"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("DINKES: {levels: {1: [b]}}", "DINKES: {levels: {1: [kadis]}}"),
            "officers.yaml: agencies.DINKES.levels.1[0]: unknown officer 'kadis'",
        ),
        (("DINKES:", "DINKESS:"), "officers.yaml: agencies.DINKESS: unknown agency 'DINKESS'"),
        (
            ("{2: [a]}", "{4: [a]}"),
            "officers.yaml: agencies.*.levels.4: the escalation ladder has levels 1..3",
        ),
        (
            ("email: a@example.go.id", "email: not-an-address"),
            "officers.yaml: officers[0] (id 'a').email: not a valid email address",
        ),
        (
            ('webhook: "http://127.0.0.1:9/hook"', "webhook: ftp://x"),
            "officers.yaml: officers[1] (id 'b').webhook: a webhook must be an http:// or https://",
        ),
        (
            ('webhook: "http://127.0.0.1:9/hook"', 'chat: ["nosuchservice://x"]'),
            "officers.yaml: officers[1] (id 'b').chat[0]: not a URL apprise can send to",
        ),
        (("id: b,", "id: a,"), "officers.yaml: officers[1] (id 'a').id: duplicate officer id"),
        (("role: Kepala OPD, ", ""), "officers.yaml: officers[1] (id 'b').role: missing required"),
        (("liaison: [a]", "liason: [a]"), "officers.yaml: agencies.*.liason: unknown field"),
    ],
)
def test_an_invalid_directory_fails_with_one_line_naming_the_entry(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(DirectoryError) as info:
        load_directory(write(tmp_path, text), POLICY)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(expected), message


def test_email_without_smtp_and_officer_without_target_are_refused(tmp_path: Path) -> None:
    no_smtp = "\n".join(line for line in GOOD.splitlines() if not line.startswith("smtp"))
    with pytest.raises(DirectoryError, match=r"officers\[0\] \(id 'a'\).email: an email target"):
        load_directory(write(tmp_path, no_smtp), POLICY)
    bare = GOOD.replace(', webhook: "http://127.0.0.1:9/hook"', "")
    with pytest.raises(DirectoryError, match=r"\(id 'b'\): no email, webhook or chat"):
        load_directory(write(tmp_path, bare), POLICY)


def clock(stage: Stage = Stage.FOLLOW_UP_PLAN) -> SlaClock:
    # 5 working days of 8 h from Monday 09:00 WIT: deadline Monday 14 Dec 16:00 WIT.
    return SlaClock(
        stage=stage,
        unit=DayType.WORKING,
        started_at=T0,
        budget_seconds=47.5 * 3600,
        running_since=T0,
    )


def escalated(level: int, at: datetime) -> CaseEscalated:
    return CaseEscalated(
        event_id=f"e-{level}",
        occurred_at=at,
        case_id="ADU-TEST-0000-0001",
        payload=CaseEscalatedPayload(
            level=level, automatic=True, stage=Stage.FOLLOW_UP_PLAN, timers=Timers(clock=clock())
        ),
    )


def test_an_escalation_is_planned_for_the_stage_agency_and_says_how_late() -> None:
    info = CaseInfo(agency="DINKES", triage_agency="SETDA-TRIASE")
    at = datetime.fromisoformat("2026-12-17T16:00:00+09:00")
    alert = plan_alert(escalated(2, at), info, 2, POLICY)
    assert alert is not None
    assert (alert.kind, alert.level, alert.agency) == ("escalation", 2, "DINKES")
    assert alert.key == "ADU-TEST-0000-0001|escalation|L2"
    # Three working days late (Tue-Thu, 08:00-16:00): lateness in office time, not wall time.
    assert alert.left_seconds == -24 * 3600
    subject, body = render(alert, "id", POLICY, "http://gw/v1/cases/{tracking}", "Sekda")
    assert subject == (
        "[aduan] Eskalasi tingkat 2 (Sekretaris Daerah / Inspektorat): ADU-TEST-0000-0001"
    )
    assert "dieskalasi ke tingkat 2" in body
    assert "Instansi (OPD)     : Dinas Kesehatan (DINKES)" in body
    assert "Tahap              : rencana tindak lanjut" in body
    assert "Tenggat tahap      : 14 Des 2026 16:00 WIT" in body
    assert "Keterlambatan      : 24 jam kerja\n" in body  # not "terlambat" twice
    assert "Waktu pemberitahuan: 17 Des 2026 16:00 WIT" in body
    assert "mohon tidak membalas email ini" in body
    assert "http://gw/v1/cases/ADU-TEST-0000-0001" in body
    subject_en, body_en = render(alert, "en", POLICY, "http://gw/v1/cases/{tracking}", "Sekda")
    assert subject_en.startswith("[aduan] Escalation level 2")
    assert "Lateness           : 24 office hours" in body_en
    _, on_chat = render(alert, "id", POLICY, "x/{tracking}", "Sekda", channel="chat")
    assert "mohon tidak membalas" not in on_chat  # the no-reply footer is for email only
    assert "Identitas pelapor tidak dicantumkan" in on_chat


def test_a_verification_warning_goes_by_the_triage_desk_and_shows_time_left() -> None:
    event = SlaWarningRaised(
        event_id="w1",
        occurred_at=datetime.fromisoformat("2026-12-08T12:00:00+09:00"),
        case_id="ADU-TEST-0000-0002",
        payload=SlaWarningPayload(
            stage=Stage.VERIFICATION, threshold=0.5, timers=Timers(clock=clock(Stage.VERIFICATION))
        ),
    )
    info = CaseInfo(agency="DINKES", triage_agency="SETDA-TRIASE")
    alert = plan_alert(event, info, 0, POLICY)
    assert alert is not None
    assert (alert.kind, alert.agency, alert.key) == (
        "warning",
        "SETDA-TRIASE",
        "ADU-TEST-0000-0002|warning|verification|"
        f"{clock(Stage.VERIFICATION).started_at.isoformat()}|50",
    )
    # The key comes from the event alone: the case's escalation level since then changes nothing.
    later = plan_alert(event, info, 2, POLICY)
    assert later is not None
    assert later.key == alert.key
    subject, body = render(alert, "id", POLICY, "x/{tracking}", "Admin")
    assert subject == (
        "[aduan] Peringatan batas waktu 50%: ADU-TEST-0000-0002 - verifikasi dan disposisi"
    )
    assert "telah menggunakan 50% dari batas waktu." in body
    # Issue 14 finding 3: this read "6 hari 4 jam" (wall time) for office time left.
    assert "Sisa waktu         : 36,5 jam kerja\n" in body  # 47.5 h budget, 11 h used


def test_other_events_are_not_alerted() -> None:
    event = CaseReferred(
        event_id="r",
        occurred_at=T0,
        case_id="ADU-X",
        payload=CaseReferredPayload(agency="DINKES", timers=Timers()),
    )
    assert plan_alert(event, None, 0, POLICY) is None


def test_alerts_never_carry_reporter_fields() -> None:
    alert = plan_alert(escalated(1, T0 + timedelta(days=8)), None, 1, POLICY)
    assert alert is not None
    _, body = render(alert, "id", POLICY, "x/{tracking}", "Kepala OPD")
    fields = {f for f in alert.__dataclass_fields__}
    assert not {"reporter", "name", "phone", "email", "subject", "text"} & fields
    assert "Identitas pelapor tidak dicantumkan" in body


def test_durations_read_naturally() -> None:
    assert format_duration(timedelta(minutes=35), "id") == "35 menit"
    assert format_duration(timedelta(days=1, hours=2), "en") == "1 day 2 hours"
    assert format_duration(timedelta(days=2), "id") == "2 hari"


def test_backoff_grows_with_jitter_and_stays_under_the_cap() -> None:
    policy = Backoff(base=0.5, cap=4.0)
    rng = random.Random(7)
    for retry, upper in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0), (500, 4.0)]:
        delays = {policy.delay(retry, rng) for _ in range(50)}
        assert all(upper / 2 <= d <= upper for d in delays)
        assert len(delays) > 1  # jitter


def test_an_escalation_shows_the_deadline_of_the_level_it_reached() -> None:
    due = datetime.fromisoformat("2026-12-22T16:00:00+09:00")
    event = escalated(1, datetime.fromisoformat("2026-12-17T16:00:00+09:00"))
    timers = event.payload.timers.model_copy(update={"escalation_due_at": due})
    event = event.model_copy(
        update={"payload": event.payload.model_copy(update={"timers": timers})}
    )
    info = CaseInfo(agency="DINKES", triage_agency="SETDA-TRIASE")
    alert = plan_alert(event, info, 1, POLICY)
    assert alert is not None
    assert alert.level_deadline == due
    _, body = render(alert, "id", POLICY, "x/{tracking}", "Kepala OPD")
    assert "Tenggat tahap      : 14 Des 2026 16:00 WIT\n" in body
    assert "Tenggat tingkat 1  : 22 Des 2026 16:00 WIT\n" in body
    _, body_en = render(alert, "en", POLICY, "x/{tracking}", "Kepala OPD")
    assert "Level 1 deadline   : 22 Dec 2026 16:00 WIT\n" in body_en


def test_office_time_reads_in_office_hours_with_the_languages_decimal_mark() -> None:
    assert format_office_time(15.5 * 3600, "id") == "15,5 jam kerja"
    assert format_office_time(15.5 * 3600, "en") == "15.5 office hours"
    assert format_office_time(8 * 3600, "id") == "8 jam kerja"
    assert format_office_time(40 * 60, "id") == "40 menit kerja"
