"""``kafkactl.py cluster``: a real 3-node KRaft cluster on its own ports (19820-19825).

Start is idempotent, readiness means every node lists all brokers and the quorum has a leader,
the topics get 3 replicas and min.insync.replicas=2 from the one topic list, a SIGKILLed node
(and the active controller) comes back with ``cluster start`` (stale pid file cleared), and
``stop --all`` also stops clusters.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka.admin import ConfigResource, ConfigResourceType

from consumers.topics import admin_client, provision, topic_specs

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

REPO = Path(__file__).resolve().parents[2]
KAFKACTL = REPO / "deploy" / "kafka" / "kafkactl.py"
BASE = 19820
BOOTSTRAP = ",".join(f"127.0.0.1:{BASE + 2 * i}" for i in range(3))


def ctl(var: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(KAFKACTL), "cluster", *args, "--base-port", str(BASE)]
    return subprocess.run(
        [*argv, "--var", str(var), "--heap", "320m", "--timeout", "200"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def var(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("cluster-var")
    try:
        yield folder
    finally:
        ctl(folder, "stop")
        shutil.rmtree(folder, ignore_errors=True)


def running(pid: int) -> bool:
    """The process exists and is not a zombie (a killed JVM whose parent has exited lingers)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def pid_of(var: Path, node_id: int) -> int:
    return int((var / f"cluster-{BASE}" / f"node-{node_id}" / "kafka.pid").read_text())


def test_start_is_ready_and_idempotent(var: Path) -> None:
    first = ctl(var, "start")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "started node(s) 1, 2, 3; 3 KRaft voters" in first.stdout
    assert ctl(var, "bootstrap").stdout.strip() == BOOTSTRAP
    again = ctl(var, "start")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already running" in again.stdout, again.stdout
    status = ctl(var, "status")
    assert status.returncode == 0, status.stdout
    assert status.stdout.count("answers metadata requests") == 3
    assert ctl(var, "leader").stdout.strip() in {"1", "2", "3"}


def test_topics_from_the_one_list_get_three_replicas_two_in_sync(var: Path) -> None:
    specs = topic_specs("cluster-test", partitions=3, replication_factor=3)
    first = provision(BOOTSTRAP, specs)
    assert first.drift == []
    assert len(first.created) == len(specs)
    assert provision(BOOTSTRAP, specs).drift == []  # min.insync.replicas=2 took effect
    admin = admin_client(BOOTSTRAP)
    try:
        for topic in admin.describe_topics([s.name for s in specs]):
            for part in topic["partitions"]:
                assert len(part["replica_nodes"]) == 3
                assert len(part["isr_nodes"]) == 3
        resource = ConfigResource(ConfigResourceType.TOPIC, specs[0].name)
        answer = admin.describe_configs([resource])
        assert answer["topic"][specs[0].name]["min.insync.replicas"]["value"] == "2"
    finally:
        admin.close()


def test_a_killed_node_and_the_killed_controller_come_back(var: Path) -> None:
    leader = int(ctl(var, "leader").stdout)
    follower = next(n for n in (1, 2, 3) if n != leader)
    for victim in (follower, leader):
        os.kill(pid_of(var, victim), signal.SIGKILL)
        while running(pid_of(var, victim)):
            time.sleep(0.05)
        down = ctl(var, "status")
        assert down.returncode == 1, down.stdout
        assert f"node {victim} on 127.0.0.1:{BASE + 2 * (victim - 1)}: not running" in down.stdout
        back = ctl(var, "start")
        assert back.returncode == 0, back.stdout + back.stderr
        assert f"node {victim}: cleared stale pid file" in back.stdout
        assert f"started node(s) {victim};" in back.stdout
    assert ctl(var, "status").returncode == 0


def test_a_formatted_cluster_keeps_its_node_count_and_stop_all_stops_it(var: Path) -> None:
    wrong = ctl(var, "start", "--nodes", "2")
    assert wrong.returncode == 1
    assert "holds a 3-node cluster, not 2" in wrong.stderr
    pids = [pid_of(var, n) for n in (1, 2, 3)]
    done = subprocess.run(
        [sys.executable, str(KAFKACTL), "--var", str(var), "stop", "--all"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not any(running(pid) for pid in pids), done.stdout
    assert ctl(var, "status").returncode == 3
