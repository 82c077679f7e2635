"""Fixtures for end-to-end tests: an isolated engine deployment (own topic prefix) per test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import delete_topics_with_prefix
from tests.e2e.harness import EngineHarness

#: Monday 7 December 2026, 09:00 in Masohi (WIT): an ordinary working week.
MONDAY_0900_WIT = datetime.fromisoformat("2026-12-07T09:00:00+09:00")


@pytest.fixture
def engine(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> Iterator[EngineHarness]:
    harness = EngineHarness(kafka_bootstrap, topic_prefix, tmp_path, start=MONDAY_0900_WIT)
    harness.provision()
    try:
        yield harness
    finally:
        harness.close()
        delete_topics_with_prefix(kafka_bootstrap, [topic_prefix])
