"""Pure pieces of the Kafka shell: settings, the changelog framing, the simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from consumers.cli.common import CliError
from consumers.cli.engine import parse_duration
from consumers.engine.clock import SimulatedClock
from consumers.engine.records import frame, unframe
from consumers.settings import EngineSettings


def test_settings_defaults_environment_and_overrides(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ADUAN_CONFIG", raising=False)
    assert EngineSettings().kafka_bootstrap == ["127.0.0.1:9092"]
    config = tmp_path / "aduan.yaml"
    config.write_text("topic_prefix: fromfile\ntopic_partitions: 3\n")
    monkeypatch.setenv("ADUAN_CONFIG", str(config))
    monkeypatch.setenv("ADUAN_KAFKA_BOOTSTRAP", "h1:1, h2:2")
    monkeypatch.setenv("ADUAN_TOPIC_PARTITIONS", "4")
    settings = EngineSettings(web_port=7000)
    assert settings.kafka_bootstrap == ["h1:1", "h2:2"]
    assert settings.topic_partitions == 4  # environment beats the file
    assert settings.topic_prefix == "fromfile"
    assert settings.web_port == 7000
    assert settings.topic("cases.events") == "fromfile.cases.events"
    assert settings.full_app_id == "fromfile.aduan"
    assert settings.broker_url == "kafka://h1:1;kafka://h2:2"


def test_unknown_setting_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "aduan.yaml"
    config.write_text("topic_prefx: typo\n")
    monkeypatch.setenv("ADUAN_CONFIG", str(config))
    with pytest.raises(ValueError, match="topic_prefx"):
        EngineSettings()


def test_changelog_framing_round_trips_and_rejects_garbage() -> None:
    parts = [b'{"case": 1}', b'{"event": 1}', b""]
    assert unframe(frame(parts)) == parts
    with pytest.raises(ValueError, match="magic"):
        unframe(b'{"not": "framed"}')
    with pytest.raises(ValueError, match="truncated"):
        unframe(frame(parts)[:-5] + b"\x00\x00\x00\xff")
    with pytest.raises(ValueError, match="snapshot"):
        unframe(frame([]))


def test_simulated_clock_only_moves_forward() -> None:
    start = datetime(2026, 12, 7, tzinfo=UTC)
    clock = SimulatedClock(start)
    assert clock.set(start + timedelta(days=3))
    assert not clock.set(start)
    assert clock.now() == start + timedelta(days=3)
    with pytest.raises(ValueError, match="timezone"):
        SimulatedClock(datetime(2026, 1, 1))


def test_durations() -> None:
    assert parse_duration("3d") == timedelta(days=3)
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("2w") == timedelta(weeks=2)
    with pytest.raises(CliError, match="duration"):
        parse_duration("3 days")


def test_simulated_clock_reset_may_go_back_for_the_replayed_history() -> None:
    start = datetime(2026, 12, 7, tzinfo=UTC)
    clock = SimulatedClock(start)
    clock.reset(start - timedelta(days=30))
    assert clock.now() == start - timedelta(days=30)
    assert clock.set(start - timedelta(days=29))


def test_table_recovery_keeps_the_case_but_not_the_relayed_outbox() -> None:
    from datetime import datetime as dt

    from consumers.engine.records import CaseRecord, CaseRecordCodec, encode_record
    from workflow.codec import encode
    from workflow.core import Workflow
    from workflow.intake import ComplaintPayload, ComplaintSubmitted
    from workflow.policy import load_policy
    from workflow.reporter import Reporter

    at = dt.fromisoformat("2026-12-07T09:00:00+09:00")
    complaint = ComplaintSubmitted(
        event_id="m-1",
        occurred_at=at,
        payload=ComplaintPayload(
            channel="web",
            channel_message_id="w-1",
            received_at=at,
            reporter=Reporter(name="Budi"),
            subject="Jalan rusak",
            text="Jalan rusak di Amahai",
        ),
    )
    case, events = Workflow(load_policy()).handle(None, complaint, at)
    assert case is not None
    framed = encode_record(CaseRecord(case, tuple(encode(e) for e in events)))
    assert unframe(framed)[1:] == [encode(e) for e in events]  # the relay still gets them
    recovered = CaseRecordCodec()._loads(framed)
    assert recovered == CaseRecord(case)
