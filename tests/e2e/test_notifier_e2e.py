"""From a silent agency to an officer's inbox: worker and notifier processes, a real SMTP server.

Only public interfaces: the complaint goes in on complaints.intake, the verifier's commands on
cases.commands, the simulated clock moves, and the test reads what the SMTP server received.
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from consumers.notifier.sink import start_sink
from tests.e2e import builders as b
from tests.e2e.harness import EngineHarness, free_port, wait_for
from tests.e2e.test_engine_flows import has, send, wit

DIRECTORY = """
case_url: "http://127.0.0.1:8080/v1/cases/{{tracking}}"
smtp: {{host: 127.0.0.1, port: {smtp}, sender: aduan@malukutengahkab.go.id, mode: insecure,
        timeout: 10}}
officers:
  - {{id: penghubung, name: Admin Penghubung Dinkes, role: Admin Penghubung,
      email: penghubung.dinkes@malukutengahkab.go.id}}
  - {{id: kadis, name: Kepala Dinas Kesehatan, role: Kepala OPD,
      email: kadis.dinkes@malukutengahkab.go.id}}
agencies:
  "*": {{liaison: [penghubung], levels: {{1: [kadis]}}}}
"""


def test_a_silent_agency_alerts_its_head_by_email_without_the_confidential_reporter(
    engine: EngineHarness, tmp_path: Path
) -> None:
    engine.start_worker()
    controller, sink = start_sink(port=free_port(), echo=False)
    directory = tmp_path / "officers.yaml"
    directory.write_text(DIRECTORY.format(smtp=controller.port))
    log = (tmp_path / "notifier.log").open("ab")
    metrics_port = free_port()
    notifier = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "notifier"],
        env=engine.env(
            free_port(),
            ADUAN_NOTIFIER_DIRECTORY=str(directory),
            ADUAN_NOTIFIER_GROUP_ID=f"{engine.prefix}-notifier",
            ADUAN_NOTIFIER_METRICS_PORT=str(metrics_port),
        ),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        t = engine.start
        complaint = b.complaint(
            "wa-rahasia-01",
            t,
            confidentiality="confidential",
            name="Yohanis Tuhuteru",
            phone="081299887766",
        )
        case_id = complaint.derived_case_id
        send(engine, complaint, b.formal(case_id, t), b.material(case_id, t))
        events = engine.reader("cases.events")
        events.wait(has("CaseReferred"), 90, "the referral")
        # Follow-up plan due at the close of Mon 14 Dec: the agency stays silent.
        engine.set_clock(wit("2026-12-14T16:00:00"))
        events.wait(has("CaseEscalated", level=1), 60, "escalation to level 1")

        def head_alerted() -> bool:
            return any("kadis.dinkes@malukutengahkab.go.id" in r for _, r, _ in sink.messages)

        wait_for(head_alerted, 90, "the Kepala OPD's email", interval=0.2)
        assert notifier.poll() is None, (tmp_path / "notifier.log").read_text()[-2000:]
        mails = {tuple(rcpts): message for _, rcpts, message in sink.messages}
        head = mails[("kadis.dinkes@malukutengahkab.go.id",)]
        assert case_id in head["subject"]
        body = head.get_body(preferencelist=("plain",)).get_content()
        assert "Dinas Kesehatan" in body
        assert f"http://127.0.0.1:8080/v1/cases/{case_id}" in body
        for message in mails.values():
            text = message.as_string()
            for secret in ("Yohanis", "Tuhuteru", "81299887766"):
                assert secret not in text
        # The 50% and 75% warnings went to the liaison, each once.
        liaison = [m for _, r, m in sink.messages if "penghubung" in r[0]]
        subjects = [str(m["subject"]) for m in liaison]
        assert sorted(subjects) == sorted(set(subjects))
        assert len(liaison) >= 2
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
            exposition = r.read().decode()
        delivered = re.search(
            r'^aduan_notifications_total\{outcome="delivered"\} (\S+)$', exposition, re.M
        )
        assert delivered is not None, exposition
        assert float(delivered.group(1)) == len(sink.messages)
    finally:
        notifier.terminate()
        notifier.wait(timeout=30)
        controller.stop()
