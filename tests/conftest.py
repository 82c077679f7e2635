"""Session-wide fixtures: the real Kafka broker and helpers for tests that use it.

The broker is lazy: only a test that requests ``kafka_bootstrap`` (directly or through another
fixture) needs one; such tests are marked ``kafka`` automatically, so ``pytest -m "not kafka"``
runs the unit tests with no broker and no Java.

``make test`` starts a broker on the test ports and passes ``ADUAN_TEST_BOOTSTRAP``; pytest run by
hand without it starts a test broker itself (``deploy/kafka/kafkactl.py``, ports
``ADUAN_TEST_KAFKA_PORT``/``ADUAN_TEST_KAFKA_CONTROLLER_PORT``, default 19092/19093) and stops it
at the end of the session, unless one was already running there.

Fixtures:
    kafka_bootstrap -> str                       "host:port" of the session's broker
    topic_prefix -> str                          unique per test, e.g. "t-3f9c2a1b7d"
    provision_topics(prefix=None, partitions=6, retention_ms=...) -> ProvisionResult
                                                 the declared topics under a prefix (default:
                                                 topic_prefix); deleted again after the test
    kafka_topics -> KafkaTopics                  provisioned standard topics under topic_prefix:
                                                 kafka_topics["complaints.intake"] is the real name
    send_messages(topic, [(key, value), ...]) -> None
    read_messages(topic, n, timeout=20.0) -> list[ConsumerRecord]
                                                 the first n records from the beginning of the
                                                 topic, or an AssertionError saying what came
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.postgres_server import postgres  # noqa: F401  (session fixture)

REPO = Path(__file__).resolve().parent.parent
KAFKACTL = REPO / "deploy" / "kafka" / "kafkactl.py"
BOOTSTRAP_ENV = "ADUAN_TEST_BOOTSTRAP"

KeyValue = tuple[bytes | None, bytes]


def kafkactl(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> Any:
    """Run deploy/kafka/kafkactl.py with this interpreter; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, str(KAFKACTL), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=timeout,
        check=False,
    )


def wait_for_broker(bootstrap: str, timeout: float = 30.0) -> None:
    """Poll until something accepts TCP connections at bootstrap (the broker's own check is
    a metadata request, done by kafkactl start)."""
    host, _, port = bootstrap.rpartition(":")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "kafka_bootstrap" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    given = os.environ.get(BOOTSTRAP_ENV)
    if given:
        try:
            wait_for_broker(given)
        except OSError as exc:
            pytest.fail(f"{BOOTSTRAP_ENV}={given} but no broker answers there: {exc}")
        yield given
        return
    host = os.environ.get("ADUAN_KAFKA_HOST", "127.0.0.1")
    port = os.environ.get("ADUAN_TEST_KAFKA_PORT", "19092")
    controller = os.environ.get("ADUAN_TEST_KAFKA_CONTROLLER_PORT", str(int(port) + 1))
    where = ["--host", host, "--port", port, "--controller-port", controller]
    started = False
    if kafkactl(*where, "status").returncode != 0:
        proc = kafkactl(*where, "start")
        if proc.returncode != 0:
            pytest.fail(f"could not start the test broker:\n{proc.stdout}{proc.stderr}")
        started = True
    try:
        yield f"{host}:{port}"
    finally:
        if started:
            kafkactl(*where, "stop")


@pytest.fixture
def topic_prefix(request: pytest.FixtureRequest) -> str:
    """A prefix no other test uses: t-<test name, shortened>-<random>."""
    stem = re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name.removeprefix("test_"))[:30].strip("-")
    return f"t-{stem}-{uuid.uuid4().hex[:8]}"


def _admin(bootstrap: str) -> Any:
    from consumers.topics import admin_client

    return admin_client(bootstrap)


def delete_topics_with_prefix(bootstrap: str, prefixes: Sequence[str]) -> None:
    """Best effort: remove a test's topics (faust's internal ones too, if named after it)."""
    admin = _admin(bootstrap)
    try:
        doomed = [t for t in admin.list_topics() if any(t.startswith(p) for p in prefixes)]
        if doomed:
            admin.delete_topics(doomed)
    except Exception:  # cleanup must never fail a test
        pass
    finally:
        admin.close()


@pytest.fixture
def provision_topics(kafka_bootstrap: str, topic_prefix: str) -> Iterator[Callable[..., Any]]:
    """provision_topics(prefix=None, partitions=6, retention_ms=DEFAULT) -> ProvisionResult."""
    from consumers.topics import DEFAULT_PARTITIONS, DEFAULT_RETENTION_MS, provision, topic_specs

    used: list[str] = []

    def _provision(
        prefix: str | None = None,
        partitions: int = DEFAULT_PARTITIONS,
        retention_ms: int | None = DEFAULT_RETENTION_MS,
    ) -> Any:
        prefix = topic_prefix if prefix is None else prefix
        used.append(prefix)
        return provision(kafka_bootstrap, topic_specs(prefix, partitions, retention_ms))

    yield _provision
    if used:
        delete_topics_with_prefix(kafka_bootstrap, used)


@dataclass(frozen=True)
class KafkaTopics:
    bootstrap: str
    prefix: str

    def __getitem__(self, logical: str) -> str:
        from consumers.topics import topic_name

        return topic_name(logical, self.prefix)


@pytest.fixture
def kafka_topics(
    kafka_bootstrap: str, topic_prefix: str, provision_topics: Callable[..., Any]
) -> KafkaTopics:
    result = provision_topics()
    assert not result.drift, result.drift
    return KafkaTopics(kafka_bootstrap, topic_prefix)


@pytest.fixture
def send_messages(kafka_bootstrap: str) -> Iterator[Callable[[str, Sequence[KeyValue]], None]]:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=0)

    def _send(topic: str, messages: Sequence[KeyValue]) -> None:
        futures = [producer.send(topic, key=k, value=v) for k, v in messages]
        producer.flush(timeout=30)
        for f in futures:
            f.get(timeout=30)

    yield _send
    producer.close(timeout=5)


def read_from(bootstrap: str, topic: str, n: int, timeout: float = 20.0) -> list[Any]:
    """The first n records of topic (all partitions, from the beginning), or AssertionError."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=500,
    )
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < n and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    assert len(records) >= n, (
        f"read {len(records)} of {n} messages from {topic} in {timeout}s: "
        f"{[(r.key, r.value) for r in records]}"
    )
    return records[:n]


@pytest.fixture
def read_messages(kafka_bootstrap: str) -> Callable[..., list[Any]]:
    """read_messages(topic, n, timeout=20.0) -> the first n records (see read_from)."""

    def _read(topic: str, n: int, timeout: float = 20.0) -> list[Any]:
        return read_from(kafka_bootstrap, topic, n, timeout)

    return _read


# The session's secured broker (SASL_SSL, ACLs), started only when a test asks for it.
from tests.secure_broker import secure_broker  # noqa: E402, F401
