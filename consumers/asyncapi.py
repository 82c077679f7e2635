"""The AsyncAPI 3.0 document of every aduan topic, generated from the topic list and the schemas.

The channels come from `consumers.topics` (names, compaction, retention, partitions), the message
payloads from the JSON Schemas the project exports (`workflow.schemas`) and, for the topics whose
records are not wire messages of the core (receipts, contacts, dead letters), from the small
schemas declared here. ``aduan asyncapi`` (or ``make asyncapi``) writes ``docs/asyncapi.yaml``; a
test regenerates it and compares, another validates it with the AsyncAPI CLI.

The pydantic schemas keep their shared types under ``$defs``; inside one AsyncAPI document those
local references would point at the document root, so every ``$defs`` entry is hoisted into
``components.schemas`` and each ``#/$defs/X`` becomes ``#/components/schemas/X``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from consumers import topics as t
from workflow.case import Case
from workflow.commands import COMMAND_TYPES
from workflow.events import EVENT_TYPES
from workflow.intake import INTAKE_TYPES
from workflow.schemas import export_json_schemas
from workflow.values import SCHEMA_VERSION

__all__ = ["DOCUMENT_PATH", "asyncapi_document", "render", "write"]

DOCUMENT_PATH = Path(__file__).resolve().parent.parent / "docs" / "asyncapi.yaml"
KAFKA_BINDING_VERSION = "0.5.0"
_DEFS_REF = re.compile(r"^#/\$defs/(.+)$")

_STRING_KEY: dict[str, Any] = {"type": "string", "description": "the case id (tracking number)"}


@dataclass(frozen=True)
class ChannelSpec:
    """How one topic is used: its record key, its messages, and aduan's side of it."""

    key: Mapping[str, Any]
    messages: tuple[str, ...]
    action: str
    """``receive``: others write, aduan reads; ``send``: aduan writes for its readers."""
    summary: str


_RECEIPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "a notifier delivery receipt (no address); keyed by its idempotency key",
    "required": ["key"],
    "properties": {
        "key": {"type": "string"},
        "case_id": {"type": "string"},
        "kind": {"type": "string"},
        "outcome": {"type": "string"},
        "occurred_at": {"type": "string", "format": "date-time"},
    },
    "additionalProperties": True,
}

_REPORTER_RECEIPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "a message to a reporter, as sent or failed (never the address)",
    "required": ["key", "case_id", "kind", "event_id", "channel", "outcome", "recorded_at"],
    "properties": {
        "key": {"type": "string"},
        "case_id": {"type": "string"},
        "kind": {"type": "string"},
        "event_id": {"type": "string"},
        "channel": {"type": "string"},
        "outcome": {"type": "string", "enum": ["delivered", "failed"]},
        "attempts": {"type": "integer", "minimum": 0},
        "provider_id": {"type": ["string", "null"]},
        "reason": {"type": ["string", "null"]},
        "recorded_at": {"type": "string", "format": "date-time"},
    },
    "additionalProperties": False,
}

_CONTACT_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "description": (
        "a reporter's contact (key: case id) or a marker (keys optout:/ended:/waiting: + case "
        "id); null = tombstone after the case ended"
    ),
    "properties": {
        "case_id": {"type": "string"},
        "channel": {"type": "string"},
        "phone": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "language": {"type": "string"},
        "confidentiality": {"type": "string"},
        "received_at": {"type": "string", "format": "date-time"},
        "at": {"type": "string", "format": "date-time"},
        "for": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}

_DEADLETTER_SCHEMA: dict[str, Any] = {
    "description": "the original bytes of the rejected record, untouched (often not JSON)",
}

_DEADLETTER_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["aduan.error.reason", "aduan.error.detail", "aduan.deadlettered_at"],
    "properties": {
        "aduan.error.reason": {"type": "string", "description": "machine-readable reason"},
        "aduan.error.detail": {"type": "string", "maxLength": 4096},
        "aduan.source.topic": {"type": "string"},
        "aduan.source.partition": {"type": "string"},
        "aduan.source.offset": {"type": "string"},
        "aduan.deadlettered_at": {"type": "string", "format": "date-time"},
        "aduan.replayed_from": {"type": "string", "description": "<partition>@<offset>"},
    },
}

_OPAQUE_SCHEMA: dict[str, Any] = {
    "description": "faust's own framing (internal to the engine worker; read by nobody else)",
}

#: Hand-declared message schemas, by message name (the rest are the core's wire messages).
_EXTRA_SCHEMAS: dict[str, dict[str, Any]] = {
    "NotificationReceipt": _RECEIPT_SCHEMA,
    "ReporterReceipt": _REPORTER_RECEIPT_SCHEMA,
    "ReporterContact": _CONTACT_SCHEMA,
    "DeadLetter": _DEADLETTER_SCHEMA,
    "EngineInternal": _OPAQUE_SCHEMA,
}


def _channel_specs() -> dict[str, ChannelSpec]:
    """Unprefixed topic name -> its use; every declared topic must be here (a test checks)."""
    commands = tuple(sorted(COMMAND_TYPES))
    events = tuple(sorted(EVENT_TYPES))
    intake = tuple(sorted(INTAKE_TYPES))
    any_key: dict[str, Any] = {"type": "string"}
    return {
        t.INTAKE: ChannelSpec(_STRING_KEY, intake, "receive", "channels submit complaints"),
        t.COMMANDS: ChannelSpec(_STRING_KEY, commands, "receive", "actors send commands"),
        t.EVENTS: ChannelSpec(_STRING_KEY, events, "send", "the engine publishes events"),
        t.STATE: ChannelSpec(_STRING_KEY, ("Case",), "send", "the engine publishes snapshots"),
        t.RECEIPTS: ChannelSpec(
            any_key, ("NotificationReceipt",), "send", "the notifier records deliveries"
        ),
        t.DEADLETTER: ChannelSpec(any_key, ("DeadLetter",), "send", "rejected input set aside"),
        t.CONTACTS: ChannelSpec(
            any_key, ("ReporterContact",), "send", "the engine stores reporter contacts"
        ),
        t.REPORTER_RECEIPTS: ChannelSpec(
            _STRING_KEY, ("ReporterReceipt",), "send", "the reporter service records messages"
        ),
        t.REPORTER_INBOUND: ChannelSpec(
            _STRING_KEY, intake, "receive", "the gateway forwards reporters' replies"
        ),
    }


def _hoist_defs(schema: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without ``$defs``/``$schema``/``$id``, its defs moved into ``shared``."""
    schema = copy.deepcopy(schema)
    for name, definition in schema.pop("$defs", {}).items():
        definition = _rewrite_refs(definition)
        if name in shared and shared[name] != definition:
            raise ValueError(f"two different schemas named {name!r}")
        shared[name] = definition
    schema.pop("$schema", None)
    schema.pop("$id", None)
    hoisted: dict[str, Any] = _rewrite_refs(schema)
    return hoisted


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            match = _DEFS_REF.match(value) if key == "$ref" and isinstance(value, str) else None
            out[key] = f"#/components/schemas/{match.group(1)}" if match else _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def _component_schemas() -> dict[str, Any]:
    """Every message schema and every shared type, under one flat namespace."""
    raw = {**export_json_schemas(), "Case": Case.model_json_schema(), **_EXTRA_SCHEMAS}
    shared: dict[str, Any] = {}
    messages = {name: _hoist_defs(schema, shared) for name, schema in raw.items()}
    clashes = sorted(set(messages) & set(shared))
    if clashes:
        raise ValueError(f"a message and a shared type have one name: {clashes}")
    return dict(sorted({**shared, **messages}.items()))


def _channel_id(topic: str) -> str:
    """``complaints.intake`` -> ``complaintsIntake``: an id without dots."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", topic) if w]
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


def _channel_binding(spec: t.TopicSpec) -> dict[str, Any]:
    config: dict[str, Any] = {"cleanup.policy": [spec.configs["cleanup.policy"]]}
    if "retention.ms" in spec.configs:
        config["retention.ms"] = int(spec.configs["retention.ms"])
    return {
        "kafka": {
            "topic": spec.name,
            "partitions": spec.partitions,
            "replicas": spec.replication_factor,
            "topicConfiguration": config,
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    }


def _message(name: str, key: Mapping[str, Any], schemas: Mapping[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": name,
        "title": name,
        "payload": {"$ref": f"#/components/schemas/{name}"},
        "bindings": {"kafka": {"key": dict(key), "bindingVersion": KAFKA_BINDING_VERSION}},
    }
    if "description" in schemas[name]:
        message["summary"] = str(schemas[name]["description"]).splitlines()[0]
    if name == "DeadLetter":
        message["headers"] = _DEADLETTER_HEADERS
        message["contentType"] = "application/octet-stream"
    if name == "EngineInternal":
        message["contentType"] = "application/octet-stream"
    return message


def _all_channel_specs() -> list[tuple[t.TopicDecl, ChannelSpec]]:
    uses = _channel_specs()
    internal = ChannelSpec({"type": "string"}, ("EngineInternal",), "send", "engine internals")
    declared = [(decl, uses[decl.name]) for decl in t.TOPICS]
    return declared + [(decl, internal) for decl in t.engine_topics()]


def asyncapi_document() -> dict[str, Any]:
    """The whole document, for the default deployment (no prefix, 6 partitions, 1 replica)."""
    pairs = _all_channel_specs()
    specs = {s.name: s for s in t.topic_specs(topics=[decl for decl, _ in pairs])}
    schemas = _component_schemas()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for decl, use in pairs:
        cid = _channel_id(decl.name)
        for name in use.messages:
            messages.setdefault(name, _message(name, use.key, schemas))
        channels[cid] = {
            "address": decl.name,
            "description": decl.doc,
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in use.messages},
            "bindings": _channel_binding(specs[decl.name]),
        }
        operations[f"{use.action}{cid[:1].upper()}{cid[1:]}"] = {
            "action": use.action,
            "summary": use.summary,
            "channel": {"$ref": f"#/channels/{cid}"},
            "messages": [{"$ref": f"#/channels/{cid}/messages/{n}"} for n in use.messages],
        }
    return {
        "asyncapi": "3.0.0",
        "info": _info(),
        "defaultContentType": "application/json",
        "servers": _servers(),
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": dict(sorted(messages.items()))},
    }


def _info() -> dict[str, Any]:
    return {
        "title": "aduan",
        "version": f"{SCHEMA_VERSION}.0.0",
        "description": (
            "Kafka topics of aduan, the case workflow engine for public-service complaints. "
            "Generated by `aduan asyncapi` from consumers/topics.py and the message schemas; "
            "do not edit by hand. A deployment prefix (ADUAN_TOPIC_PREFIX) is prepended to every "
            "address as `<prefix>.<address>`; partitions and replicas are the defaults."
        ),
    }


def _servers() -> dict[str, Any]:
    return {
        "local": {
            "host": t.DEFAULT_BOOTSTRAP,
            "protocol": "kafka",
            "description": "the developer's broker (make run)",
        }
    }


def render() -> str:
    """The document as committed: YAML, keys in generation order."""
    text: str = yaml.safe_dump(asyncapi_document(), sort_keys=False, allow_unicode=True, width=100)
    return "# Generated by `aduan asyncapi` (make asyncapi): do not edit by hand.\n" + text


def write(path: Path = DOCUMENT_PATH) -> Path:
    path.write_text(render(), encoding="utf-8")
    return path
