"""Issue 14 finding 4 on a running system: the late agency's own head hears of its lateness.

A worker and a notifier process on the real broker, a real SMTP server. The case breaches at the
triage desk during verification and climbs the desk's ladder to the top (level 3); it is then
referred to PUPR, which stays silent for 15 working days. PUPR's Kepala Dinas (level 1 of PUPR's
ladder) must receive the level-1 alert, although the case reached level 1 at the desk before.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from consumers.notifier.sink import start_sink
from tests.e2e import builders as b
from tests.e2e.harness import EngineHarness, free_port, wait_for
from tests.e2e.test_engine_flows import has, send, wit

DESK_HEAD = "kabag.organisasi@malukutengahkab.go.id"
PUPR_HEAD = "kadis.pupr@malukutengahkab.go.id"

DIRECTORY = """
case_url: "http://127.0.0.1:8080/v1/cases/{{tracking}}"
smtp: {{host: 127.0.0.1, port: {smtp}, sender: aduan@malukutengahkab.go.id, mode: insecure,
        timeout: 2}}
officers:
  - {{id: penghubung, name: Admin Penghubung, role: Admin Penghubung,
      email: penghubung@malukutengahkab.go.id}}
  - {{id: kabag-triase, name: Kepala Bagian Organisasi Setda, role: Kepala OPD,
      email: {desk_head}}}
  - {{id: kadis-pupr, name: Kepala Dinas PUPR, role: Kepala OPD, email: {pupr_head}}}
  - {{id: sekda, name: Sekretaris Daerah, role: Sekretaris Daerah,
      email: sekda@malukutengahkab.go.id}}
  - {{id: ombudsman, name: Ombudsman RI Perwakilan Maluku, role: Ombudsman,
      email: pengaduan.maluku@ombudsman.example}}
agencies:
  "*": {{liaison: [penghubung], levels: {{2: [sekda], 3: [ombudsman]}}}}
  SETDA-TRIASE: {{levels: {{1: [kabag-triase]}}}}
  PUPR: {{levels: {{1: [kadis-pupr]}}}}
"""


def test_a_referral_after_an_escalated_verification_alerts_the_new_agencys_head(
    engine: EngineHarness, tmp_path: Path
) -> None:
    engine.start_worker()
    controller, sink = start_sink(port=free_port(), echo=False)
    directory = tmp_path / "officers.yaml"
    directory.write_text(
        DIRECTORY.format(smtp=controller.port, desk_head=DESK_HEAD, pupr_head=PUPR_HEAD)
    )
    log_path = tmp_path / "notifier.log"
    notifier = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "notifier"],
        env=engine.env(
            free_port(),
            ADUAN_NOTIFIER_DIRECTORY=str(directory),
            ADUAN_NOTIFIER_GROUP_ID=f"{engine.prefix}-notifier",
            ADUAN_NOTIFIER_METRICS_PORT=str(free_port()),
        ),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=log_path.open("ab"),
        stderr=subprocess.STDOUT,
    )

    def mails_to(address: str) -> list[object]:
        return [m for _, rcpts, m in sink.messages if address in rcpts]

    try:
        t = engine.start
        complaint = b.complaint("web-pupr-0001", t, agency_hint="PUPR")
        case_id = complaint.derived_case_id
        send(engine, complaint, b.formal(case_id, t))
        events = engine.reader("cases.events")
        # Verification never completes: the desk breaches and climbs its ladder to the top.
        late_at_desk = wit("2026-12-28T10:00:00")
        engine.set_clock(late_at_desk)
        events.wait(has("CaseEscalated", level=3, agency="SETDA-TRIASE"), 30, "desk level 3")
        wait_for(lambda: len(mails_to(DESK_HEAD)) == 1, 30, "the desk head's alert", interval=0.2)
        send(engine, b.material(case_id, late_at_desk, agency="PUPR"))
        events.wait(has("CaseReferred", agency="PUPR"), 30, "the referral to PUPR")
        # PUPR stays silent for 15 working days (5 for the plan, then its own ladder).
        engine.set_clock(wit("2027-01-20T10:00:00"))
        seen = events.wait(has("CaseEscalated", level=1, agency="PUPR"), 30, "PUPR level 1")
        wait_for(lambda: mails_to(PUPR_HEAD), 30, "PUPR's Kepala Dinas's alert", interval=0.2)
        assert notifier.poll() is None, log_path.read_text()[-2000:]

        ours = [e for e in seen if e["case_id"] == case_id and e["type"] == "CaseEscalated"]
        desk = [e["payload"]["level"] for e in ours if e["payload"]["agency"] == "SETDA-TRIASE"]
        assert desk == [1, 2, 3]
        (pupr_mail,) = mails_to(PUPR_HEAD)
        assert case_id in pupr_mail["subject"]  # type: ignore[index]
        body = pupr_mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]
        assert "Dinas Pekerjaan Umum" in body
        assert len(mails_to(DESK_HEAD)) == 1  # the desk's head is not alerted again for PUPR
    finally:
        notifier.terminate()
        notifier.wait(timeout=30)
        controller.stop()
