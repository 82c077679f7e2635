"""The AsyncAPI document: generated from the topic list and the schemas, committed, and valid.

The AsyncAPI CLI's validation: tests/integration/test_asyncapi_cli.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from consumers import asyncapi
from consumers.topics import TOPICS, engine_topics
from workflow.commands import COMMAND_TYPES
from workflow.events import EVENT_TYPES


def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(asyncapi.DOCUMENT_PATH.read_text(encoding="utf-8"))
    return loaded


def test_committed_document_is_what_the_generator_writes() -> None:
    committed = asyncapi.DOCUMENT_PATH.read_text(encoding="utf-8")
    assert committed == asyncapi.render(), "docs/asyncapi.yaml is stale: run `make asyncapi`"


def test_every_topic_is_a_channel_with_its_kafka_binding() -> None:
    channels = _document()["channels"]
    addresses = {c["address"]: c for c in channels.values()}
    assert set(addresses) == {d.name for d in (*TOPICS, *engine_topics())}
    state = addresses["cases.state"]["bindings"]["kafka"]
    assert state["topicConfiguration"]["cleanup.policy"] == ["compact"]
    intake = addresses["complaints.intake"]["bindings"]["kafka"]
    assert intake["topicConfiguration"]["retention.ms"] <= 7 * 24 * 3600 * 1000


def test_every_command_and_event_is_a_message_of_its_topic() -> None:
    channels = _document()["channels"]
    assert set(channels["casesCommands"]["messages"]) == set(COMMAND_TYPES)
    assert set(channels["casesEvents"]["messages"]) == set(EVENT_TYPES)
    messages = _document()["components"]["messages"]
    assert messages["CaseOpened"]["bindings"]["kafka"]["key"]["type"] == "string"


def test_no_local_defs_reference_survives() -> None:
    text = json.dumps(_document())
    assert "#/$defs/" not in text
    assert '"$defs"' not in text
    schemas = _document()["components"]["schemas"]
    for ref in _refs(_document()):
        name = ref.removeprefix("#/components/schemas/")
        if ref.startswith("#/components/schemas/"):
            assert name in schemas, ref


def test_a_shared_type_with_two_shapes_is_refused() -> None:
    shared = {"Reporter": {"type": "object"}}
    with pytest.raises(ValueError, match="Reporter"):
        asyncapi._hoist_defs({"$defs": {"Reporter": {"type": "string"}}}, shared)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
