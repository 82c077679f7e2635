"""`make run` on a fresh, empty broker: `aduan topics`, then `aduan worker`, then the very first
complaint becomes a case without a restart. (Before the fix the worker's first message crashed
the case agent: faust's changelog topic was not yet in the consumer's metadata.)

Own broker: the point is that nothing exists on it yet, not even faust's internal topics.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from consumers.topics import admin_client
from tests.e2e import builders as b
from tests.e2e.harness import EngineHarness, free_port
from tests.e2e.test_broker_outage import OwnBroker
from tests.e2e.test_engine_flows import has, send

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def assert_engine_topics(bootstrap: str) -> None:
    admin = admin_client(bootstrap)
    try:
        described = {d["name"]: d for d in admin.describe_topics(list(admin.list_topics()))}
        changelog, leader = (
            described.get("aduan-cases-changelog"),
            described.get("aduan-__assignor-__leader"),
        )
        assert changelog is not None, sorted(described)
        assert leader is not None, sorted(described)
        intake = described["complaints.intake"]
        assert len(changelog["partitions"]) == len(intake["partitions"]) == 6
        assert len(leader["partitions"]) == 1
        configs = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, "aduan-cases-changelog")]
        )
        entries = configs["topic"]["aduan-cases-changelog"]
        assert entries["cleanup.policy"]["value"] == "compact"
        assert entries["min.compaction.lag.ms"]["value"] == str(24 * 60 * 60 * 1000)
    finally:
        admin.close()


def test_first_complaint_on_a_fresh_broker_opens_a_case(tmp_path: Path) -> None:
    broker = OwnBroker(free_port(), free_port(), tmp_path / "var")
    broker.start()
    harness = EngineHarness(broker.bootstrap, "", tmp_path, start=datetime.now(UTC))
    try:
        # as `make run`: the system clock, the topics first, then the worker
        env = harness.env(free_port(), ADUAN_CLOCK="system")
        topics = subprocess.run(
            [sys.executable, "-m", "consumers.cli", "topics"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
        assert topics.returncode == 0, topics.stdout + topics.stderr
        # faust's topics exist before the worker starts: its first message can no longer
        # arrive before its changelog is in the consumer's metadata (a race)
        assert_engine_topics(broker.bootstrap)
        # the complaint is there before the worker has even started (a form sent at once)
        send(harness, b.complaint("fresh-0001", datetime.now(UTC)))
        worker = harness.start_worker(ADUAN_CLOCK="system")
        harness.reader("cases.events").wait(
            has("CaseOpened"), 90, f"the first complaint's CaseOpened\n{worker.log_tail()}"
        )
        assert worker.alive(), worker.log_tail()
        assert "PartitionsMismatch" not in worker.log_path.read_text(errors="replace")
    finally:
        harness.close()
        broker.ctl("stop")
