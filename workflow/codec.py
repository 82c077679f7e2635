"""Decoding (bytes -> validated message, or `InvalidMessage` with a closed reason) and encoding."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError

from workflow.commands import COMMAND_TYPES, Command
from workflow.events import EVENT_TYPES, Event
from workflow.intake import INTAKE_TYPES, ComplaintSubmitted
from workflow.validation import describe_validation_error
from workflow.values import MAX_MESSAGE_BYTES, SCHEMA_VERSION

__all__ = [
    "InvalidMessage",
    "MessageErrorReason",
    "encode",
    "parse_command",
    "parse_event",
    "parse_intake",
]


class MessageErrorReason(StrEnum):
    """Why a message was refused (the closed set the dead-letter records carry)."""

    OVERSIZED = "oversized"
    INVALID_UTF8 = "invalid_utf8"
    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    INVALID_FIELD = "invalid_field"


class InvalidMessage(ValueError):
    """A message that cannot be accepted; ``str()`` names the field and the rule broken.

    The detail never echoes input values (they may hold a reporter's identity).
    """

    def __init__(self, reason: MessageErrorReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


def _decode(
    raw: bytes, models: dict[str, Any], kind: str, max_bytes: int = MAX_MESSAGE_BYTES
) -> Any:
    if len(raw) > max_bytes:
        raise InvalidMessage(
            MessageErrorReason.OVERSIZED,
            f"message is {len(raw)} bytes, the limit is {max_bytes}",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessage(
            MessageErrorReason.INVALID_UTF8, f"not valid UTF-8 at byte {exc.start}"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidMessage(
            MessageErrorReason.NOT_JSON,
            f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
        ) from None
    return _from_object(data, models, kind)


def _from_object(data: Any, models: dict[str, Any], kind: str) -> Any:
    if not isinstance(data, dict):
        raise InvalidMessage(
            MessageErrorReason.NOT_AN_OBJECT, f"a message must be a JSON object, got {_kind(data)}"
        )
    type_ = data.get("type")
    model = models.get(type_) if isinstance(type_, str) else None
    if model is None:
        if "type" not in data:
            raise InvalidMessage(MessageErrorReason.UNKNOWN_TYPE, "type: missing required field")
        raise InvalidMessage(
            MessageErrorReason.UNKNOWN_TYPE,
            f"type: {str(type_)[:60]!r} is not a known {kind} type",
        )
    version = data.get("schema_version")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise InvalidMessage(
            MessageErrorReason.UNSUPPORTED_SCHEMA_VERSION,
            f"schema_version: {json.dumps(version)[:20]} is not supported "
            f"(supported: {SCHEMA_VERSION})",
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessage(
            MessageErrorReason.INVALID_FIELD, describe_validation_error(exc)
        ) from None


def _kind(data: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(data), "a number"
    )


def parse_intake(raw: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> ComplaintSubmitted:
    """Decode and validate an intake message; raises `InvalidMessage`."""
    result: ComplaintSubmitted = _decode(raw, INTAKE_TYPES, "intake", max_bytes)
    return result


def parse_command(raw: bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> Command:
    """Decode and validate a command; raises `InvalidMessage`."""
    result: Command = _decode(raw, COMMAND_TYPES, "command", max_bytes)
    return result


def parse_event(raw: bytes) -> Event:
    """Decode and validate a domain event; raises `InvalidMessage`."""
    result: Event = _decode(raw, EVENT_TYPES, "event")
    return result


def encode(message: BaseModel) -> bytes:
    """Compact UTF-8 JSON of any message (or case snapshot)."""
    return message.__pydantic_serializer__.to_json(message)
