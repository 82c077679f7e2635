"""The operator CLI against a real broker and worker: each command works, each error is one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from consumers.gateway.security import DEV_TRACKING_SECRET
from tests.e2e import builders as b
from tests.e2e.harness import EngineHarness, free_port
from tests.e2e.test_engine_flows import has, send
from workflow.intake import with_tracking_number


def aduan(engine: EngineHarness, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consumers.cli", *args],
        env=engine.env(free_port(), **env),
        cwd=engine.workdir,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("aduan: "), lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


def test_operator_commands_on_a_running_engine(engine: EngineHarness, tmp_path: Path) -> None:
    engine.start_worker()
    t = engine.start
    complaint = b.complaint("cli-0001", t)
    path = tmp_path / "complaint.json"
    path.write_bytes(b.wire(complaint)[1])

    submitted = aduan(engine, "submit", str(path), ADUAN_GATEWAY_DEV_MODE="true")
    assert submitted.returncode == 0, submitted.stderr
    case_id = submitted.stdout.strip().splitlines()[-1]
    assert case_id == with_tracking_number(complaint, DEV_TRACKING_SECRET).case_id  # as the gateway
    send(engine, b.formal(case_id, t), b.material(case_id, t))
    engine.reader("cases.events").wait(has("CaseReferred"), 30, "the referral")

    shown = aduan(engine, "case", "show", case_id, "--json")
    assert shown.returncode == 0, shown.stderr
    snapshot: dict[str, Any] = json.loads(shown.stdout)
    assert (snapshot["case_id"], snapshot["state"], snapshot["agency"]) == (
        case_id,
        "referred",
        "DINKES",
    )
    history = aduan(engine, "case", "history", case_id)
    assert history.returncode == 0, history.stderr
    for event_type in ("CaseOpened", "FormalVerificationCompleted", "CaseReferred"):
        assert event_type in history.stdout
    tail = aduan(engine, "events", "tail", "-n", "2", "--case", case_id)
    assert tail.returncode == 0, tail.stderr
    assert [json.loads(line)["type"] for line in tail.stdout.splitlines()] == [
        "CaseVerified",
        "CaseReferred",
    ]
    replay = aduan(engine, "replay", "--check")
    assert replay.returncode == 0, replay.stdout + replay.stderr

    schemas = aduan(engine, "schema", "export", "--out", str(tmp_path / "schemas"))
    assert schemas.returncode == 0, schemas.stderr
    exported = json.loads((tmp_path / "schemas" / "ComplaintSubmitted.schema.json").read_text())
    assert "payload" in exported["properties"]
    diagram = aduan(engine, "diagram")
    assert diagram.returncode == 0, diagram.stderr
    assert "stateDiagram-v2" in diagram.stdout

    # Errors: one readable line and a non-zero exit.
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "ComplaintSubmitted"}')
    assert "invalid complaint" in one_line_error(aduan(engine, "submit", str(bad)))
    assert "cannot read" in one_line_error(aduan(engine, "submit", str(tmp_path / "missing")))
    one_line_error(aduan(engine, "case", "show", "ADU-AAAA-BBBB-CCCC"))
    one_line_error(aduan(engine, "clock", "set", "2026-12-01T09:00:00"))  # no offset
    one_line_error(aduan(engine, "schema", "export", "--out", "/proc/not-writable"))
    unreachable = aduan(
        engine,
        "submit",
        str(path),
        ADUAN_KAFKA_BOOTSTRAP="127.0.0.1:1",
        ADUAN_GATEWAY_DEV_MODE="true",
    )
    one_line_error(unreachable)
