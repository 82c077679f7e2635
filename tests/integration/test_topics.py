"""Topic provisioning against the real broker: idempotent, compacted state, drift reported."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from consumers import topics
from consumers.topics import TOPICS, admin_client, topic_name, topic_specs

LOGICAL = [
    "complaints.intake",
    "cases.commands",
    "cases.events",
    "cases.state",
    "notifications.receipts",
    "deadletter",
    "reporter.contacts",
    "reporter.receipts",
    "reporter.inbound",
]


# ---- without a broker


def test_declared_topics_are_the_contract() -> None:
    assert [t.name for t in TOPICS] == LOGICAL
    assert [t.name for t in TOPICS if t.compacted] == ["cases.state", "reporter.contacts"]


def test_prefix_and_settings_shape_the_specs() -> None:
    specs = {s.name: s for s in topic_specs("staging.", partitions=3, retention_ms=1000)}
    assert sorted(specs) == sorted(f"staging.{n}" for n in LOGICAL)
    assert specs["staging.cases.state"].configs == {"cleanup.policy": "compact"}
    assert specs["staging.deadletter"].configs == {
        "cleanup.policy": "delete",
        "retention.ms": "1000",
    }
    assert {s.partitions for s in specs.values()} == {3}
    assert topic_name("cases.events") == "cases.events"
    assert topic_name("cases.events", "x") == "x.cases.events"
    unlimited = {s.name: s.configs for s in topic_specs(retention_ms=None)}
    assert "retention.ms" not in unlimited["cases.events"]


def test_topics_with_identities_keep_them_seven_days_at_most() -> None:
    week = str(7 * 24 * 60 * 60 * 1000)
    for retention in (None, 10 * 365 * 24 * 60 * 60 * 1000):
        specs = {s.name: s.configs for s in topic_specs(retention_ms=retention)}
        assert specs["complaints.intake"]["retention.ms"] == week
        assert specs["deadletter"]["retention.ms"] == week
    long = {s.name: s.configs for s in topic_specs(retention_ms=30 * 24 * 60 * 60 * 1000)}
    assert long["cases.events"]["retention.ms"] == str(30 * 24 * 60 * 60 * 1000)


# ---- on the broker


def test_provisioning_creates_every_topic_then_changes_nothing(
    kafka_bootstrap: str, topic_prefix: str, provision_topics: Callable[..., Any]
) -> None:
    first = provision_topics()
    assert sorted(first.created) == sorted(topic_name(n, topic_prefix) for n in LOGICAL)
    assert first.drift == []

    second = provision_topics()
    assert second.created == []
    assert second.drift == []
    assert sorted(second.unchanged) == sorted(first.created)

    admin = admin_client(kafka_bootstrap)
    try:
        state = topic_name("cases.state", topic_prefix)
        described = {d["name"]: d for d in admin.describe_topics(list(first.created))}
        assert {len(d["partitions"]) for d in described.values()} == {6}
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, state)])
        assert configs["topic"][state]["cleanup.policy"]["value"] == "compact"
    finally:
        admin.close()


def test_a_topic_with_other_settings_is_reported_not_changed(
    kafka_bootstrap: str,
    topic_prefix: str,
    provision_topics: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = topic_name("cases.events", topic_prefix)
    state = topic_name("cases.state", topic_prefix)
    admin = admin_client(kafka_bootstrap)
    try:
        admin.create_topics(
            [
                NewTopic(events, 2, 1, topic_configs={"cleanup.policy": "delete"}),
                NewTopic(state, 6, 1, topic_configs={"cleanup.policy": "delete"}),
            ]
        )
    finally:
        admin.close()

    result = provision_topics()
    assert f"{events}: partitions 2, declared 6" in result.drift
    assert f"{state}: cleanup.policy=delete, declared compact" in result.drift
    assert events not in result.created
    assert state not in result.created
    assert events not in result.unchanged
    assert state not in result.unchanged
    assert len(result.created) == len(LOGICAL) - 2

    # the command line prints the drift (and --strict turns it into an exit code)
    rc = topics.main(["--bootstrap", kafka_bootstrap, "--prefix", topic_prefix, "--strict"])
    out = capsys.readouterr().out
    assert rc == 2
    assert f"DRIFT   {events}: partitions 2, declared 6" in out
    # the command line also declares the engine's faust topics (changelog, leader)
    assert f"created {topic_name('aduan-cases-changelog', topic_prefix)}" in out
    assert f"2 created, {len(LOGICAL) - 2} unchanged, 2 drift" in out
    assert topics.main(["--bootstrap", kafka_bootstrap, "--prefix", topic_prefix]) == 0

    admin = admin_client(kafka_bootstrap)
    try:
        described = admin.describe_topics([events])
        assert len(described[0]["partitions"]) == 2  # left as it was
    finally:
        admin.close()
