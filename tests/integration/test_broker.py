"""The local broker's lifecycle (deploy/kafka/kafkactl.py) on its own instance and ports.

The restart test runs a second broker (ports ADUAN_TEST_RESTART_KAFKA_PORT, default 19192/19193)
with its data in a temporary folder, so the session's shared broker is never disturbed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer

from consumers.topics import INTAKE, TOPICS, admin_client, provision, topic_specs

REPO = Path(__file__).resolve().parents[2]
KAFKACTL = REPO / "deploy" / "kafka" / "kafkactl.py"


def kafkactl(var: Path, port: int, *args: str, env: dict[str, str] | None = None) -> Any:
    cmd = [sys.executable, str(KAFKACTL), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--controller-port", str(port + 1), "--var", str(var), *args]
    return subprocess.run(
        cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env, timeout=180
    )


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def free_port() -> int:
    """A free port whose neighbour (the controller port kafkactl gets) is free too."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        with socket.socket() as neighbour:
            try:
                neighbour.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no pair of free neighbouring ports found")


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphaned broker may wait a moment for init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# ---- refusals: one clear line and a non-zero exit; no broker needed


def test_a_port_taken_by_something_else_is_refused(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        proc = kafkactl(tmp_path, port, "start")
    assert proc.returncode == 1
    assert "already in use by another process" in one_line(proc.stderr)
    assert proc.stdout == ""


def no_java_env(tmp_path: Path) -> dict[str, str]:
    """An environment in which start fails at its first step after the pid-file check."""
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path / "empty-bin")
    return env


def test_a_pid_file_of_a_gone_process_is_cleared_by_start(tmp_path: Path) -> None:
    port = free_port()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / f"kafka-{port}").mkdir()
    pid_file = tmp_path / f"kafka-{port}" / "kafka.pid"
    pid_file.write_text(f"{dead.pid}\n")
    assert kafkactl(tmp_path, port, "status").returncode == 1

    # start goes on past the stale pid file (and then stops at the missing java)
    proc = kafkactl(tmp_path, port, "start", env=no_java_env(tmp_path))
    assert one_line(proc.stdout) == (
        f"kafka: cleared stale pid file {pid_file} (pid {dead.pid} is gone); starting"
    )
    assert "java not found" in one_line(proc.stderr)
    assert not pid_file.exists()
    assert kafkactl(tmp_path, port, "status").returncode == 3


def test_a_pid_reused_by_an_unrelated_process_is_stale_and_that_process_is_left_alone(
    tmp_path: Path,
) -> None:
    port = free_port()
    stranger = subprocess.Popen(["sleep", "120"])
    try:
        (tmp_path / f"kafka-{port}").mkdir()
        pid_file = tmp_path / f"kafka-{port}" / "kafka.pid"
        pid_file.write_text(f"{stranger.pid}\n")
        proc = kafkactl(tmp_path, port, "start", env=no_java_env(tmp_path))
        line = one_line(proc.stdout)
        assert line.startswith(f"kafka: cleared stale pid file {pid_file} (pid {stranger.pid} ")
        assert "not this instance's broker" in line
        assert not pid_file.exists()
        assert stranger.poll() is None  # never signalled
    finally:
        stranger.kill()
        stranger.wait()


def test_stop_clears_a_stale_pid_file(tmp_path: Path) -> None:
    port = free_port()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / f"kafka-{port}").mkdir()
    (tmp_path / f"kafka-{port}" / "kafka.pid").write_text(f"{dead.pid}\n")
    proc = kafkactl(tmp_path, port, "stop")
    assert proc.returncode == 0
    assert "removed stale pid file" in proc.stdout
    assert kafkactl(tmp_path, port, "status").returncode == 3


def test_an_instance_keeps_the_mode_it_was_created_in(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / f"kafka-{port}").mkdir()
    (tmp_path / f"kafka-{port}" / "mode").write_text("secure\n")
    proc = kafkactl(tmp_path, port, "start")
    assert proc.returncode == 1
    assert "holds a secure broker, not a plaintext one" in one_line(proc.stderr)
    proc = kafkactl(tmp_path, port, "env", "--principal", "gateway")  # nothing made yet
    assert proc.returncode == 1
    assert "start the broker with --secure first" in one_line(proc.stderr)


def test_missing_java_is_one_line(tmp_path: Path) -> None:
    proc = kafkactl(tmp_path, free_port(), "start", env=no_java_env(tmp_path))
    assert proc.returncode == 1
    assert "java not found" in one_line(proc.stderr)


def test_missing_mvn_is_one_line_when_jars_are_needed(tmp_path: Path) -> None:
    java = shutil.which("java")
    if java is None:
        pytest.skip("no java on this machine")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").symlink_to(java)
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env.update(PATH=str(bin_dir), ADUAN_KAFKA_LIB=str(tmp_path / "no-jars-yet"))
    proc = kafkactl(tmp_path, free_port(), "start", env=env)
    assert proc.returncode == 1
    assert "mvn not found" in one_line(proc.stderr)


# ---- a real second broker: idempotent start, stop by pid, data survives a restart


@pytest.fixture
def restart_broker(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    port = int(os.environ.get("ADUAN_TEST_RESTART_KAFKA_PORT", "19192"))
    var = tmp_path / "var"
    try:
        yield var, port
    finally:
        kafkactl(var, port, "stop")


@pytest.mark.kafka
@pytest.mark.slow
def test_start_is_idempotent_and_topics_keep_their_data_across_a_restart(
    restart_broker: tuple[Path, int],
) -> None:
    var, port = restart_broker
    bootstrap = f"127.0.0.1:{port}"

    first = kafkactl(var, port, "start")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "broker ready" in first.stdout
    again = kafkactl(var, port, "start")
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert kafkactl(var, port, "status").returncode == 0
    pid = int((var / f"kafka-{port}" / "kafka.pid").read_text())

    assert len(provision(bootstrap).created) == len(TOPICS)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    sent = [(f"case-{i}".encode(), f"complaint {i}".encode()) for i in range(5)]
    for key, value in sent:
        producer.send(INTAKE, key=key, value=value).get(timeout=30)
    producer.close()

    stopped = kafkactl(var, port, "stop")
    assert stopped.returncode == 0
    assert f"stopped broker pid {pid}" in stopped.stdout
    assert not running(pid)
    assert kafkactl(var, port, "status").returncode == 3

    second = kafkactl(var, port, "start")
    assert second.returncode == 0, second.stdout + second.stderr
    again_result = provision(bootstrap, topic_specs())
    assert again_result.created == []
    assert again_result.drift == []

    admin = admin_client(bootstrap)
    try:
        assert {t.name for t in TOPICS} <= set(admin.list_topics())
    finally:
        admin.close()
    consumer = KafkaConsumer(
        INTAKE,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )
    try:
        got = []
        for record in consumer:
            got.append((record.key, record.value))
            if len(got) == len(sent):
                break
    finally:
        consumer.close()
    assert sorted(got) == sorted(sent)


@pytest.fixture
def crash_broker(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    port = int(os.environ.get("ADUAN_TEST_CRASH_KAFKA_PORT", "19492"))
    var = tmp_path / "var"
    try:
        yield var, port
    finally:
        kafkactl(var, port, "stop")


@pytest.mark.kafka
@pytest.mark.slow
def test_start_after_the_broker_was_killed_needs_no_human(
    crash_broker: tuple[Path, int],
) -> None:
    """Issue 12 defect 6: after kill -9 the pid file stays behind; start clears it by itself."""
    var, port = crash_broker
    first = kafkactl(var, port, "start")
    assert first.returncode == 0, first.stdout + first.stderr
    pid_file = var / f"kafka-{port}" / "kafka.pid"
    pid = int(pid_file.read_text())

    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running(pid)
    assert pid_file.exists()  # what the crash leaves behind

    again = kafkactl(var, port, "start")
    assert again.returncode == 0, again.stdout + again.stderr
    lines = again.stdout.strip().splitlines()
    assert lines[0] == (
        f"kafka: cleared stale pid file {pid_file} (pid {pid} is gone); starting"
    ), again.stdout
    assert "broker ready" in lines[-1]
    assert len(lines) == 2, again.stdout
    assert kafkactl(var, port, "status").returncode == 0
    new_pid = int(pid_file.read_text())
    assert new_pid != pid
