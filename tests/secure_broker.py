"""One secured local broker per test session (kafkactl.py start --secure), shared by the secured
integration tests and the secured end-to-end flow.

Ports ADUAN_TEST_SECURE_KAFKA_PORT (default 19592) and the next one for its controller; data in a
temporary folder; stopped at the end of the session. Its ACLs cover topic prefix ``sec`` and app id
``aduan`` (faust app ``sec.aduan``); the declared topics exist with one partition each (and
``sec.control.clock``), created by the super user ``admin``.

Fixture:
    secure_broker -> SecureBroker   .bootstrap, .ca, .password(p), .security(p), .client_env(p)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from pydantic import SecretStr

from consumers.kafka_security import KafkaSecurity, kafka_python_kwargs
from consumers.topics import TopicSpec, topic_name, topic_specs

REPO = Path(__file__).resolve().parents[1]
KAFKACTL = REPO / "deploy" / "kafka" / "kafkactl.py"
PREFIX = "sec"


def name(logical: str) -> str:
    return topic_name(logical, PREFIX)


@dataclass
class SecureBroker:
    var: Path
    port: int
    start_seconds: float

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path:
        return self.var / f"kafka-{self.port}" / "ca.pem"

    def password(self, principal: str) -> str:
        creds = self.var / f"kafka-{self.port}" / "secure" / "credentials.json"
        return str(json.loads(creds.read_text())[principal])

    def security(self, principal: str, password: str | None = None) -> KafkaSecurity:
        return KafkaSecurity(
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username=principal,
            sasl_password=SecretStr(password or self.password(principal)),
            ssl_cafile=self.ca,
        )

    def client_env(self, principal: str) -> dict[str, str]:
        """The ``ADUAN_KAFKA_*`` environment of a process logged in as ``principal``."""
        answer = self.kafkactl("env", "--principal", principal)
        assert answer.returncode == 0, answer.stderr
        return dict(line.split("=", 1) for line in answer.stdout.splitlines())

    def kafkactl(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, str(KAFKACTL), "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--controller-port", str(self.port + 1), "--var", str(self.var), *args]
        return subprocess.run(
            cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=180
        )


def create_topics(bootstrap: str, admin: KafkaSecurity) -> None:
    """The declared topics (one partition each), created by the super user."""
    client = KafkaAdminClient(bootstrap_servers=bootstrap, **kafka_python_kwargs(admin))
    try:
        specs = topic_specs(PREFIX, partitions=1)
        specs.append(TopicSpec(name("control.clock"), 1, 1, {"cleanup.policy": "delete"}))
        client.create_topics(
            [
                NewTopic(t.name, t.partitions, t.replication_factor, topic_configs=t.configs)
                for t in specs
            ],
            wait_for_metadata=True,
        )
    finally:
        client.close()


@pytest.fixture(scope="session")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    port = int(os.environ.get("ADUAN_TEST_SECURE_KAFKA_PORT", "19592"))
    b = SecureBroker(tmp_path_factory.mktemp("secure") / "var", port, 0.0)
    started = time.monotonic()
    proc = b.kafkactl("start", "--secure", "--topic-prefix", PREFIX)
    b.start_seconds = time.monotonic() - started
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        print(f"\nsecured broker started in {b.start_seconds:.1f}s: {proc.stdout.strip()}")
        create_topics(b.bootstrap, b.security("admin"))
        yield b
    finally:
        b.kafkactl("stop")
