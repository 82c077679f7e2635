"""`aduan submit` numbers a complaint without a case id as the gateway does: the keyed tracking
number under ADUAN_GATEWAY_TRACKING_SECRET (the dev default in dev mode), and refuses with one
line without a secret outside dev mode. The producer is a recorder: what is checked here is the
number and the published bytes, not Kafka."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from consumers.cli import cases
from consumers.cli.common import CliError
from consumers.gateway.security import DEV_TRACKING_SECRET
from tests.e2e import builders as b
from tests.e2e.conftest import MONDAY_0900_WIT
from workflow.codec import encode, parse_intake
from workflow.intake import case_id_for

SECRET = "a-long-random-tracking-secret-0123456789"


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []

    def send(self, topic: str, key: bytes, value: bytes) -> Any:
        self.sent.append((topic, key, value))
        return self

    def get(self, timeout: float) -> None:
        return None

    def close(self) -> None:
        return None


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    for name in [k for k in os.environ if k.startswith("ADUAN_")]:
        monkeypatch.delenv(name)
    producer = Recorder()
    monkeypatch.setattr(cases, "make_producer", lambda settings: producer)
    return producer


def complaint_file(tmp_path: Path) -> Path:
    path = tmp_path / "complaint.json"
    path.write_bytes(encode(b.complaint("web-4711", MONDAY_0900_WIT)))
    return path


@pytest.mark.parametrize(("env", "key"), [
    ({"ADUAN_GATEWAY_TRACKING_SECRET": SECRET}, SECRET.encode()),
    ({"ADUAN_GATEWAY_DEV_MODE": "true"}, DEV_TRACKING_SECRET),
])  # fmt: skip
def test_submit_without_a_case_id_uses_the_gateways_keyed_number(
    recorder: Recorder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    key: bytes,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cases.submit(complaint_file(tmp_path))
    expected = case_id_for("web", "web-4711", key)
    assert expected != case_id_for("web", "web-4711")  # the old, unkeyed number
    assert capsys.readouterr().out.strip() == expected
    [(topic, sent_key, value)] = recorder.sent
    assert (topic, sent_key) == ("complaints.intake", expected.encode())
    published = parse_intake(value)
    assert published.case_id == expected
    assert published.event_id == f"intake:{expected}"


def test_submit_without_a_secret_outside_dev_mode_is_a_one_line_error(
    recorder: Recorder, tmp_path: Path
) -> None:
    with pytest.raises(CliError) as refused:
        cases.submit(complaint_file(tmp_path))
    assert "ADUAN_GATEWAY_TRACKING_SECRET" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert recorder.sent == []
