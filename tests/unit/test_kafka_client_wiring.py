"""Every Kafka client of every process takes its login from the one settings declaration.

The shared settings carry ``consumers.kafka_security`` (``ADUAN_KAFKA_*``); clients are built
from ``SharedSettings.kafka_python_client()``/``aiokafka_client()``/``EngineSettings.faust_app()``
(or ``consumers.topics.admin_client``), never from a bare ``bootstrap_servers=``/``broker=``.
``aduan run`` gives each service its own principal from a credentials file.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
import typer

from consumers.kafka_security import KafkaSecurity, principal_env
from consumers.notifier.settings import NotifierTopics
from consumers.settings import EngineSettings

CONSUMERS = Path(__file__).resolve().parents[2] / "consumers"
#: The funnels themselves: they add the security keyword arguments to the brokers.
FUNNELS = {"settings.py", "topics.py"}


@pytest.fixture
def secured_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read before a connection\n")
    for name, value in {
        "ADUAN_KAFKA_BOOTSTRAP": "127.0.0.1:9094",
        "ADUAN_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "ADUAN_KAFKA_SASL_USERNAME": "engine",
        "ADUAN_KAFKA_SASL_PASSWORD": "s3cret",
        "ADUAN_KAFKA_SSL_CAFILE": str(ca),
    }.items():
        monkeypatch.setenv(name, value)
    return ca


def bare_client_calls(path: Path) -> list[str]:
    """Calls in ``path`` that name the brokers themselves instead of using a funnel."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            # faust's App takes the brokers as ``broker=``; other calls' ``broker=`` (e.g. the
            # gateway's BrokerLink for connectivity) name no Kafka client.
            func = ast.unparse(node.func)
            names = (
                ("bootstrap_servers", "broker") if func.endswith("App") else ("bootstrap_servers",)
            )
            for kw in node.keywords:
                if kw.arg in names:
                    found.append(f"{path.relative_to(CONSUMERS.parent)}:{node.lineno} {kw.arg}=")
    return found


def test_no_client_is_built_without_the_security_settings() -> None:
    bare = [
        call
        for path in sorted(CONSUMERS.rglob("*.py"))
        if path.name not in FUNNELS or path.parent != CONSUMERS
        for call in bare_client_calls(path)
    ]
    assert bare == []


def test_every_client_flavour_gets_the_login_from_the_environment(secured_env: Path) -> None:
    from consumers.gateway.settings import GatewaySettings

    engine = EngineSettings()
    gateway = GatewaySettings(gateway_dev_mode=True)
    assert engine.kafka_security == gateway.kafka_security  # one declaration, the same values
    sync = engine.kafka_python_client()
    assert sync["bootstrap_servers"] == ["127.0.0.1:9094"]
    assert (sync["security_protocol"], sync["sasl_mechanism"]) == (
        "SASL_PLAINTEXT",
        "SCRAM-SHA-512",
    )
    assert (sync["sasl_plain_username"], sync["sasl_plain_password"]) == ("engine", "s3cret")
    aio = gateway.aiokafka_client()
    assert (aio["bootstrap_servers"], aio["sasl_plain_username"]) == (["127.0.0.1:9094"], "engine")
    app = engine.faust_app()
    assert app["broker"] == "kafka://127.0.0.1:9094"
    assert app["broker_credentials"].username == "engine"
    assert "s3cret" not in repr(engine)  # the password stays a secret in logs and errors


def test_plaintext_adds_nothing_but_the_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADUAN_KAFKA_SECURITY_PROTOCOL", raising=False)
    engine = EngineSettings(kafka_bootstrap=["b:1"])
    assert engine.kafka_python_client() == {
        "bootstrap_servers": ["b:1"],
        "security_protocol": "PLAINTEXT",
    }
    assert engine.faust_app() == {"broker": "kafka://b:1"}
    assert NotifierTopics.of(engine).events == "cases.events"


def test_a_principal_login_comes_from_the_credentials_file(tmp_path: Path) -> None:
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps({"engine": "e-pass", "gateway": "g-pass"}))
    security = KafkaSecurity(
        security_protocol="SASL_SSL",
        sasl_username="operator",
        sasl_password="o-pass",  # type: ignore[arg-type]  # pydantic makes it a SecretStr
        credentials_file=creds,
    )
    assert principal_env(security, "gateway") == {
        "ADUAN_KAFKA_SASL_USERNAME": "gateway",
        "ADUAN_KAFKA_SASL_PASSWORD": "g-pass",
    }
    with pytest.raises(ValueError, match="no password for principal 'notifier'"):
        principal_env(security, "notifier")
    assert principal_env(KafkaSecurity(credentials_file=creds), "engine") == {}  # PLAINTEXT
    assert principal_env(security.model_copy(update={"credentials_file": None}), "engine") == {}


def test_aduan_run_starts_each_service_as_its_own_principal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import consumers.supervisor
    from consumers.cli.services import run_all

    creds = tmp_path / "credentials.json"
    creds.write_text(
        json.dumps(
            {p: f"{p}-pw" for p in ("engine", "gateway", "notifier", "reporter", "incidents")}
        )
    )
    monkeypatch.setenv("ADUAN_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("ADUAN_KAFKA_SASL_USERNAME", "operator")
    monkeypatch.setenv("ADUAN_KAFKA_SASL_PASSWORD", "operator-pw")
    monkeypatch.setenv("ADUAN_KAFKA_CREDENTIALS_FILE", str(creds))
    started: list[Any] = []
    monkeypatch.setattr(consumers.supervisor, "run", lambda services: started.extend(services))
    with pytest.raises(typer.Exit):
        run_all(gateway_port=8080)
    logins = {s.name: s.env.get("ADUAN_KAFKA_SASL_USERNAME") for s in started}
    assert logins == {
        "worker": "engine",
        "gateway": "gateway",
        "notifier": "notifier",
        "reporter": "reporter",
        "incidents": "incidents",
        "smtp-sink": None,  # no Kafka client
    }
    assert {s.name: s.env.get("ADUAN_KAFKA_SASL_PASSWORD") for s in started}["gateway"] == (
        "gateway-pw"
    )
