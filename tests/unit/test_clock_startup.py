"""A worker restarted while the broker is down waits for it instead of exiting (issue 12: the
chaos run saw ``KafkaTimeoutError: Unable to bootstrap`` end a restarted worker)."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest
from kafka.errors import KafkaTimeoutError

from consumers.engine.clock import SimulatedClock, replay_clock_topic_when_reachable

START = datetime.fromisoformat("2026-12-07T09:00:00+09:00")


def test_the_clock_replay_waits_for_an_unreachable_broker(caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[list[str]] = []

    def broker_back_on_the_third_attempt(
        clock: SimulatedClock, bootstrap: list[str], topic: str
    ) -> int:
        attempts.append(bootstrap)
        if len(attempts) < 3:  # what kafka-python raised in the chaos run
            raise KafkaTimeoutError(f"Unable to bootstrap from {bootstrap}")
        return 7

    down = ["127.0.0.1:9"]
    with caplog.at_level(logging.WARNING, logger="consumers.engine.clock"):
        offset = replay_clock_topic_when_reachable(
            SimulatedClock(START),
            down,
            "t.control.clock",
            retry_seconds=0.01,
            replay=broker_back_on_the_third_attempt,
        )
    assert offset == 7
    assert len(attempts) == 3
    lines = [r.getMessage() for r in caplog.records if r.name == "consumers.engine.clock"]
    assert len(lines) == 2, lines  # one line when it starts waiting, one when it is back
    assert "waiting" in lines[0]
    assert "reachable" in lines[1]
