"""Broker, topic prefix and policy are declared once (SharedSettings) and read alike everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers.gateway.settings import GatewaySettings
from consumers.settings import EngineSettings, SharedSettings

SHARED = ("kafka_bootstrap", "topic_prefix", "policy_file")


def test_the_shared_settings_are_declared_in_one_place() -> None:
    assert set(SHARED) <= set(SharedSettings.model_fields)
    for cls in (EngineSettings, GatewaySettings):
        assert issubclass(cls, SharedSettings)
        assert not set(SHARED) & set(vars(cls).get("__annotations__", {})), cls


def test_engine_and_gateway_read_the_same_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADUAN_CONFIG", raising=False)
    monkeypatch.setenv("ADUAN_KAFKA_BOOTSTRAP", "h1:1, h2:2")
    monkeypatch.setenv("ADUAN_TOPIC_PREFIX", "masohi")
    monkeypatch.setenv("ADUAN_POLICY_FILE", "/etc/aduan/policy.yaml")
    monkeypatch.setenv("ADUAN_GATEWAY_PORT", "8181")
    engine, gateway = EngineSettings(), GatewaySettings()
    for name in SHARED:
        assert getattr(engine, name) == getattr(gateway, name), name
    assert gateway.kafka_bootstrap == ["h1:1", "h2:2"]
    assert gateway.policy_file == Path("/etc/aduan/policy.yaml")
    assert gateway.topic("cases.events") == engine.topic("cases.events") == "masohi.cases.events"
    assert gateway.gateway_port == 8181


def test_the_gateway_ignores_what_is_not_its_own_and_the_engine_refuses_it() -> None:
    assert GatewaySettings(web_port=1).gateway_port == 8080
    with pytest.raises(ValueError, match="gateway_port"):
        EngineSettings(gateway_port=1)
