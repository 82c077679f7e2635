"""What every local Kafka node needs, one broker or a cluster's: pid files, the JVM, the jars.

Standard library only (kafkactl runs before the virtualenv exists). kafkactl.py (one broker)
and cluster.py (a KRaft quorum of several) build on these.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import kafkawire

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LIB = Path(os.environ.get("ADUAN_KAFKA_LIB") or HERE / "lib").resolve()
POM = HERE / "pom.xml"
TEMPLATE = HERE / "server.properties.in"
LOG4J = HERE / "log4j.properties"
STAMP = LIB / ".fetched"


class Failure(Exception):
    """A failure reported to the user as one line; the process exits with 1."""


def say(msg: str) -> None:
    print(f"kafka: {msg}", flush=True)


def show(path: Path) -> str:
    """A path relative to the working directory when it is below it (shorter messages)."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


# ---------------------------------------------------------------- readiness (a metadata request)


def metadata_brokers(host: str, port: int, timeout: float = 2.0) -> int:
    """Send a plaintext Metadata request; return how many brokers the answer lists."""
    with kafkawire.Connection(host, port, None, timeout) as conn:
        return conn.broker_count()


def answers_metadata(host: str, port: int, brokers: int = 1) -> bool:
    """True when host:port answers a Metadata request listing at least ``brokers`` brokers."""
    try:
        return metadata_brokers(host, port) >= brokers
    except (OSError, struct.error, kafkawire.KafkaError):
        return False


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


# ---------------------------------------------------------------- processes


def read_pid(pid_file: Path) -> int | None:
    """The pid in the file; None without a file, -1 when it holds no number."""
    try:
        text = pid_file.read_text().strip()
    except FileNotFoundError:
        return None
    try:
        return int(text)
    except ValueError:
        return -1


def alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is as good as gone
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def runs_config(pid: int, config: Path) -> bool:
    """True when pid is a kafka.Kafka JVM started with this config file."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"kafka.Kafka" in args and str(config).encode() in args


def why_stale(pid: int) -> str:
    """Why a pid file naming pid does not stand for the node's running broker."""
    if pid <= 0:
        return "no valid pid in it"
    if not alive(pid):
        return f"pid {pid} is gone"
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        name = "another process"
    return f"pid {pid} is now {name!r}, not this instance's broker"


def terminate(pid: int, timeout: float) -> str:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; returns how it ended."""
    started = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    while alive(pid) and time.monotonic() - started < timeout:
        time.sleep(0.1)
    if not alive(pid):
        return "stopped"
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while alive(pid):
        time.sleep(0.1)
    return f"killed (no clean exit within {timeout:.0f}s)"


def java_binary() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if not found:
        raise Failure("java not found on PATH (and no JAVA_HOME): install a JDK 17 (openjdk-17)")
    return found


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def launch(config: Path, logs: Path, cwd: Path, heap: str) -> subprocess.Popen[bytes]:
    """Start a kafka.Kafka JVM in its own session, output appended to logs/stdout.log."""
    cmd = [
        java_binary(),
        f"-Xmx{heap}",
        f"-Xms{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{LOG4J}",
        f"-Dkafka.logs.dir={logs}",
        "-cp",
        classpath(),
        "kafka.Kafka",
        str(config),
    ]
    with (logs / "stdout.log").open("ab") as out:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,  # Ctrl-C in the terminal reaches the worker, not the broker
        )


# ---------------------------------------------------------------- jars and storage


def pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def jars_ready() -> bool:
    return STAMP.exists() and STAMP.read_text().strip() == pom_digest()


def fetch_jars() -> None:
    with locked(LIB / ".fetch.lock"):
        if jars_ready():
            return
        mvn = shutil.which("mvn")
        if not mvn:
            raise Failure(
                "mvn not found on PATH: install Maven (apt-get install maven); it fetches the "
                "Kafka jars from Maven Central on the first run"
            )
        say("fetching the Kafka jars from Maven Central (first run only) ...")
        started = time.monotonic()
        if LIB.exists():
            for old in LIB.glob("*.jar"):
                old.unlink()
        cmd = [mvn, "-q", "-B", "-f", str(POM), f"-Dkafka.lib.dir={LIB}"]
        cmd.append("dependency:copy-dependencies")
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise Failure(f"mvn copy-dependencies failed (exit {proc.returncode}):\n{tail}")
        n = len(list(LIB.glob("*.jar")))
        STAMP.write_text(pom_digest() + "\n")
        say(f"fetched {n} jars into {LIB} in {time.monotonic() - started:.1f}s")


def classpath() -> str:
    return str(LIB / "*")


def cluster_id(path: Path) -> str:
    """The cluster id kept in ``path``, made (Kafka's Uuid format) on first use."""
    if path.exists():
        return path.read_text().strip()
    while True:  # 16 random bytes, url-safe base64, no padding, not starting with '-'
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cid + "\n")
    return cid


def render(values: dict[str, str]) -> str:
    """The server.properties template with its @NAME@ markers filled in."""
    text = TEMPLATE.read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    return text


def format_storage(
    config: Path, data: Path, logs: Path, cid: str, extra: list[str] | None = None
) -> None:
    """kafka.tools.StorageTool format, once (a formatted data dir is left alone)."""
    if (data / "meta.properties").exists():
        return
    cmd = [
        java_binary(),
        "-Xmx256m",
        f"-Dlog4j.configuration=file:{LOG4J}",
        f"-Dkafka.logs.dir={logs}",
        "-cp",
        classpath(),
        "kafka.tools.StorageTool",
        "format",
        "-t",
        cid,
        "-c",
        str(config),
        "--ignore-formatted",
        *(extra or []),
    ]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
        raise Failure(f"kafka.tools.StorageTool format failed (exit {proc.returncode}):\n{tail}")


class NodeLayout:
    """Where one broker keeps its data, logs, pid file and config: under ``root``."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pid_file(self) -> Path:
        return self.root / "kafka.pid"

    @property
    def config(self) -> Path:
        return self.root / "server.properties"
