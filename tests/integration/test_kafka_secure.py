"""The secured local broker (kafkactl.py start --secure) with real kafka-python, aiokafka and faust
clients configured by consumers.kafka_security: who may do what, and who is refused.

The session's secured broker (tests/secure_broker.py: ports ADUAN_TEST_SECURE_KAFKA_PORT, default
19592, and the next one for its controller), shared with tests/e2e/test_secure_e2e.py.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError as AioKafkaError
from aiokafka.errors import TransactionalIdAuthorizationFailed
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as SyncTopicPartition
from kafka.admin import (
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    NewTopic,
    ResourcePatternFilter,
    ResourceType,
)
from kafka.errors import KafkaError, TopicAuthorizationFailedError

from consumers.kafka_security import KafkaSecurity, aiokafka_kwargs, kafka_python_kwargs
from consumers.topics import COMMANDS, DEADLETTER, EVENTS, INTAKE, RECEIPTS, STATE
from tests.secure_broker import PREFIX, REPO, SecureBroker, name

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy" / "kafka"))
import kafkawire  # noqa: E402  (stdlib-only modules beside kafkactl.py)
import secure  # noqa: E402

T = TypeVar("T")


@pytest.fixture
def broker(secure_broker: SecureBroker) -> SecureBroker:
    """The session's secured broker (tests/secure_broker.py)."""
    return secure_broker


def in_time(step: Coroutine[Any, Any, T], seconds: float = 60) -> T:
    """Run an asyncio step; a client that retries forever fails the test instead of hanging it."""
    return asyncio.run(asyncio.wait_for(step, seconds))


def produce(security: KafkaSecurity, bootstrap: str, topic: str, value: bytes) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        max_block_ms=20_000,
        **kafka_python_kwargs(security),
    )
    try:
        producer.send(topic, key=b"case-1", value=value).get(timeout=20)
    finally:
        producer.close(timeout=5)


def read_all(security: KafkaSecurity, bootstrap: str, topic: str, timeout: float = 20) -> list[Any]:
    """Every record of a one-partition topic (raises what the broker refuses)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        **kafka_python_kwargs(security),
    )
    try:
        tp = SyncTopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        records: list[Any] = []
        deadline = time.monotonic() + timeout
        while consumer.position(tp) < end and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def refused_to_read(security: KafkaSecurity, bootstrap: str, topic: str) -> bool:
    try:
        read_all(security, bootstrap, topic)
    except TopicAuthorizationFailedError:
        return True
    return False


# ---- the principals


def test_the_gateway_produces_to_intake_and_commands_and_the_operator_reads_them(
    broker: SecureBroker,
) -> None:
    gateway, operator = broker.security("gateway"), broker.security("operator")
    marker = uuid.uuid4().hex.encode()
    produce(gateway, broker.bootstrap, name(INTAKE), b"intake " + marker)

    async def commands_with_aiokafka() -> None:  # the gateway's own client: idempotent aiokafka
        producer = AIOKafkaProducer(
            bootstrap_servers=broker.bootstrap,
            enable_idempotence=True,
            acks="all",
            **aiokafka_kwargs(gateway),
        )
        await producer.start()
        try:
            await producer.send_and_wait(name(COMMANDS), key=b"case-1", value=b"cmd " + marker)
        finally:
            await producer.stop()

    in_time(commands_with_aiokafka())
    assert b"intake " + marker in [
        r.value for r in read_all(operator, broker.bootstrap, name(INTAKE))
    ]
    assert b"cmd " + marker in [
        r.value for r in read_all(operator, broker.bootstrap, name(COMMANDS))
    ]


def test_the_gateway_cannot_read_intake_nor_write_elsewhere(broker: SecureBroker) -> None:
    gateway, engine = broker.security("gateway"), broker.security("engine")
    # A record to refuse: may describe (it writes there), the read itself must be refused.
    produce(engine, broker.bootstrap, name(DEADLETTER), b"a rejected complaint with a name")
    assert refused_to_read(gateway, broker.bootstrap, name(INTAKE))
    assert refused_to_read(gateway, broker.bootstrap, name(DEADLETTER))
    assert refused_to_read(gateway, broker.bootstrap, name(COMMANDS))
    for topic in (EVENTS, STATE):
        with pytest.raises(TopicAuthorizationFailedError):
            produce(gateway, broker.bootstrap, name(topic), b"forged")
    # its read model: reads events (acls.json) and sets aside what it cannot read in deadletter
    read_all(gateway, broker.bootstrap, name(EVENTS))
    produce(gateway, broker.bootstrap, name(DEADLETTER), b"an unreadable snapshot")


def test_the_notifier_reads_events_but_not_intake_or_deadletter(broker: SecureBroker) -> None:
    notifier, engine = broker.security("notifier"), broker.security("engine")
    produce(engine, broker.bootstrap, name(DEADLETTER), b"a rejected complaint with a name")
    assert refused_to_read(notifier, broker.bootstrap, name(INTAKE))
    assert refused_to_read(notifier, broker.bootstrap, name(DEADLETTER))
    produce(engine, broker.bootstrap, name(EVENTS), b"an event")

    async def follow_events_as_its_group() -> list[bytes]:
        consumer = AIOKafkaConsumer(
            name(EVENTS),
            bootstrap_servers=broker.bootstrap,
            group_id=name("aduan-notifier"),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **aiokafka_kwargs(notifier),
        )
        await consumer.start()
        try:
            batch = await consumer.getmany(timeout_ms=15_000)
            for tp, records in batch.items():
                await consumer.commit({tp: records[-1].offset + 1})
            return [r.value for records in batch.values() for r in records]
        finally:
            await consumer.stop()

    assert b"an event" in in_time(follow_events_as_its_group())
    produce(notifier, broker.bootstrap, name(RECEIPTS), b"receipt")
    assert [r.value for r in read_all(notifier, broker.bootstrap, name(RECEIPTS))][-1] == b"receipt"
    dead = read_all(broker.security("operator"), broker.bootstrap, name(DEADLETTER))
    assert b"a rejected complaint with a name" in [r.value for r in dead]  # the operator may


# ---- refused: no credentials, wrong password


def connects(bootstrap: str, security: KafkaSecurity | None) -> bool:
    """Can a kafka-python producer bootstrap (its first metadata answer) within 5 s?"""
    kwargs = kafka_python_kwargs(security) if security else {}
    try:
        KafkaProducer(bootstrap_servers=bootstrap, bootstrap_timeout_ms=5_000, **kwargs).close()
    except KafkaError:
        return False
    return True


def test_clients_without_sasl_are_refused(broker: SecureBroker) -> None:
    assert connects(broker.bootstrap, broker.security("gateway"))  # the same client, logged in
    assert not connects(broker.bootstrap, None)  # plaintext against the TLS listener
    tls_only = KafkaSecurity(security_protocol="SSL", ssl_cafile=broker.ca)
    assert not connects(broker.bootstrap, tls_only)  # TLS but no SASL login
    # the controller listener takes only the broker's own (PLAIN) login
    controller = f"127.0.0.1:{broker.port + 1}"
    assert not connects(controller, None)
    assert not connects(controller, broker.security("operator"))


def test_a_wrong_password_is_refused(
    broker: SecureBroker, caplog: pytest.LogCaptureFixture
) -> None:
    right = broker.security("gateway")
    wrong = broker.security("gateway", password="not-" + broker.password("gateway"))
    assert connects(broker.bootstrap, right)
    assert not connects(broker.bootstrap, wrong)
    conn = kafkawire.Connection("127.0.0.1", broker.port, str(broker.ca))
    with conn, pytest.raises(kafkawire.AuthenticationFailed):  # kafkactl's own SCRAM client
        conn.authenticate("gateway", "not-" + broker.password("gateway"))

    async def aiokafka_start(security: KafkaSecurity) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, **aiokafka_kwargs(security))
        try:
            await producer.start()
        finally:
            await producer.stop()

    in_time(aiokafka_start(right))
    caplog.clear()
    with pytest.raises(AioKafkaError):
        in_time(aiokafka_start(wrong))
    assert "invalid credentials" in caplog.text


# ---- the engine: what a faust worker and its relay do


def test_the_engine_consumes_intake_and_publishes_in_transactions(broker: SecureBroker) -> None:
    engine, app = broker.security("engine"), name("aduan")
    probe = f"{app}-offsets-probe"  # stands in for the changelog whose offsets the relay commits
    marker = uuid.uuid4().hex.encode()
    produce(broker.security("gateway"), broker.bootstrap, name(INTAKE), marker)

    async def as_the_engine() -> None:
        consumer = AIOKafkaConsumer(
            name(INTAKE),
            bootstrap_servers=broker.bootstrap,
            group_id=app,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **aiokafka_kwargs(engine),
        )
        await consumer.start()
        try:
            seen: list[bytes] = []
            deadline = time.monotonic() + 20
            while marker not in seen and time.monotonic() < deadline:
                for records in (await consumer.getmany(timeout_ms=1_000)).values():
                    seen += [r.value for r in records]
            assert marker in seen
            await consumer.commit()
        finally:
            await consumer.stop()
        producer = AIOKafkaProducer(
            bootstrap_servers=broker.bootstrap,
            transactional_id=f"{app}-relay-0",
            enable_idempotence=True,
            **aiokafka_kwargs(engine),
        )
        await producer.start()
        try:
            async with producer.transaction():
                await producer.send(name(EVENTS), key=b"case-1", value=b"event " + marker)
                await producer.send(name(STATE), key=b"case-1", value=b"state " + marker)
                offsets = {TopicPartition(probe, 0): 0}
                await producer.send_offsets_to_transaction(offsets, f"{app}-relay")
        finally:
            await producer.stop()
        plain = AIOKafkaProducer(
            bootstrap_servers=broker.bootstrap, enable_idempotence=True, **aiokafka_kwargs(engine)
        )
        await plain.start()
        try:  # what the faust worker itself sends
            await plain.send_and_wait(name(DEADLETTER), value=b"dead " + marker)
            await plain.send_and_wait(name(COMMANDS), value=b"timer " + marker)
        finally:
            await plain.stop()

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, **kafka_python_kwargs(engine))
    try:  # what faust does for its internal topics; nothing outside them
        admin.create_topics([NewTopic(probe, 1, 1)], wait_for_metadata=True)
        with pytest.raises(TopicAuthorizationFailedError):
            admin.create_topics([NewTopic(name("cases.forged"), 1, 1)], raise_errors=True)
    finally:
        admin.close()
    in_time(as_the_engine())
    values = [
        r.value for r in read_all(broker.security("notifier"), broker.bootstrap, name(EVENTS))
    ]
    assert b"event " + marker in values
    with pytest.raises(TopicAuthorizationFailedError):  # never the gateway's job
        produce(engine, broker.bootstrap, name(RECEIPTS), b"forged receipt")


def test_another_transactional_id_is_refused_to_the_engine(broker: SecureBroker) -> None:
    async def start_foreign_transactional_producer() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=broker.bootstrap,
            transactional_id="someone-else-0",
            **aiokafka_kwargs(broker.security("engine")),
        )
        try:
            await producer.start()
        finally:
            await producer.stop()

    with pytest.raises(TransactionalIdAuthorizationFailed):
        in_time(start_foreign_transactional_producer())


def test_a_faust_worker_runs_as_the_engine(broker: SecureBroker, tmp_path: Path) -> None:
    client_env = broker.kafkactl("env", "--principal", "engine")
    assert client_env.returncode == 0, client_env.stderr
    env = dict(os.environ, ADUAN_TOPIC_PREFIX=PREFIX, ADUAN_FAUST_DATADIR=str(tmp_path))
    env.update(line.split("=", 1) for line in client_env.stdout.splitlines())
    env["PYTHONPATH"] = str(REPO)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("secure_worker.py")), "worker"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        marker = uuid.uuid4().hex.encode()
        produce(broker.security("gateway"), broker.bootstrap, name(INTAKE), marker)
        notifier = broker.security("notifier")
        deadline, values = time.monotonic() + 90, []
        while b"seen:" + marker not in values:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.5)
            values = [r.value for r in read_all(notifier, broker.bootstrap, name(EVENTS), 5)]
        changelog = read_all(
            broker.security("operator"), broker.bootstrap, name("aduan-seen-changelog")
        )
        assert changelog, "the table's changelog was not written"
    finally:
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()


# ---- the broker's own files and idempotent ACLs


def test_a_second_start_changes_no_acl_and_the_secrets_are_private(broker: SecureBroker) -> None:
    again = broker.kafkactl("start", "--secure", "--topic-prefix", PREFIX)
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert "(+0 created, -0 removed)" in again.stdout
    admin = KafkaAdminClient(
        bootstrap_servers=broker.bootstrap, **kafka_python_kwargs(broker.security("admin"))
    )
    try:
        acls, error = admin.describe_acls(
            ACLFilter(
                principal=None,
                host=None,
                operation=ACLOperation.ANY,
                permission_type=ACLPermissionType.ANY,
                resource_pattern=ResourcePatternFilter(
                    ResourceType.ANY, None, ACLResourcePatternType.ANY
                ),
            )
        )
    finally:
        admin.close()
    assert error.errno == 0, error
    found = {
        (a.resource_pattern.resource_type, a.resource_pattern.resource_name,
         a.resource_pattern.pattern_type, a.principal, a.host, a.operation, a.permission_type)
        for a in acls
    }  # fmt: skip
    assert found == {tuple(acl) for acl in secure.wanted_acls(PREFIX, "aduan")}
    principals = {acl.principal for acl in acls}
    assert principals == {
        "User:gateway",
        "User:engine",
        "User:notifier",
        "User:reporter",
        "User:incidents",
        "User:operator",
    }
    root = broker.var / f"kafka-{broker.port}"
    assert (root / "secure").stat().st_mode & 0o777 == 0o700
    for private in (root / "secure" / "credentials.json", root / "server.properties"):
        assert private.stat().st_mode & 0o777 == 0o600, private
    assert "BEGIN CERTIFICATE" in broker.ca.read_text()
