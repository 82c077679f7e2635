"""Wire schemas: validation with precise error texts, encoding, case ids, JSON Schema export."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_core_support import EMAIL, NAME, PHONE_RAW, T0, intake

from workflow.codec import (
    InvalidMessage,
    MessageErrorReason,
    encode,
    parse_command,
    parse_event,
    parse_intake,
)
from workflow.commands import COMMAND_TYPES
from workflow.events import EVENT_TYPES
from workflow.intake import ComplaintSubmitted, case_id_for
from workflow.schemas import export_json_schemas
from workflow.values import MAX_MESSAGE_BYTES


def raw_intake(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(encode(intake()))
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        node = data
        for key in path:
            node = node[key]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return data


def refused(data: Any) -> InvalidMessage:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    with pytest.raises(InvalidMessage) as info:
        parse_intake(raw)
    return info.value


def test_valid_intake_round_trips_and_normalises_contacts() -> None:
    m = parse_intake(encode(intake()))
    assert m == intake()
    assert m.payload.reporter.phone == "+6281234567890"
    assert m.payload.reporter.email == EMAIL
    assert m.occurred_at.utcoffset() is not None


@pytest.mark.parametrize(
    ("changes", "reason", "fragment"),
    [
        ({"payload__colour": "red"}, "invalid_field", "payload.colour: unknown field"),
        ({"payload__subject": ...}, "invalid_field", "payload.subject: missing required field"),
        (
            {"occurred_at": "2026-03-02T09:00:00"},
            "invalid_field",
            "occurred_at: timestamp must carry a UTC offset",
        ),
        (
            {"payload__received_at": "2026-03-02T09:00:00"},
            "invalid_field",
            "payload.received_at: timestamp must carry a UTC offset",
        ),
        (
            {"payload__reporter__phone": "12345"},
            "invalid_field",
            "payload.reporter.phone: not a valid Indonesian phone number",
        ),
        (
            {"payload__reporter__email": "siti@@example"},
            "invalid_field",
            "payload.reporter.email: not a valid email address",
        ),
        (
            {"payload__text": "x" * 20_001},
            "invalid_field",
            "payload.text: String should have at most",
        ),
        ({"payload__subject": "x" * 201}, "invalid_field", "payload.subject:"),
        ({"schema_version": 2}, "unsupported_schema_version", "schema_version: 2"),
        ({"schema_version": "1"}, "unsupported_schema_version", "schema_version"),
        ({"type": "ComplaintFiled"}, "unknown_type", "'ComplaintFiled' is not a known intake type"),
        ({"type": ...}, "unknown_type", "type: missing required field"),
        ({"payload__location": {"latitude": 95, "longitude": 1}}, "invalid_field", "latitude"),
        ({"payload__location": {"latitude": -3.3}}, "invalid_field", "given together"),
        ({"payload__report_type": "gossip"}, "invalid_field", "payload.report_type:"),
        ({"payload__category": "rudeness"}, "invalid_field", "payload.category:"),
        ({"case_id": "ADU-XXXX-XXXX-XXX1"}, "invalid_field", "case_id must be a tracking"),
        (
            {"payload__attachments": [{"uri": "nope", "size_bytes": 1, "content_type": "a/b"}]},
            "invalid_field",
            "payload.attachments.0.uri",
        ),
    ],
)
def test_field_errors_name_the_field_and_why(
    changes: dict[str, Any], reason: str, fragment: str
) -> None:
    error = refused(raw_intake(**changes))
    assert error.reason == MessageErrorReason(reason)
    assert fragment in str(error)
    assert str(error).startswith(f"{reason}: ")


def test_error_texts_never_echo_identity() -> None:
    error = refused(raw_intake(payload__reporter__email=f"{NAME}@@x", payload__extra=PHONE_RAW))
    assert NAME not in str(error)
    assert PHONE_RAW not in str(error)


def test_not_json_invalid_utf8_oversized_not_an_object() -> None:
    assert refused(b"{not json").reason is MessageErrorReason.NOT_JSON
    assert "line 1 column 2" in str(refused(b"{not json"))
    bad_utf8 = refused(b'{"type": "\xff"}')
    assert bad_utf8.reason is MessageErrorReason.INVALID_UTF8
    assert "byte 10" in str(bad_utf8)
    big = refused(b" " * (MAX_MESSAGE_BYTES + 1))
    assert big.reason is MessageErrorReason.OVERSIZED
    assert str(MAX_MESSAGE_BYTES) in str(big)
    assert refused([1, 2]).reason is MessageErrorReason.NOT_AN_OBJECT
    assert "got an array" in str(refused([1, 2]))


def test_parse_command_and_event_use_their_own_type_sets() -> None:
    with pytest.raises(InvalidMessage, match="not a known command type"):
        parse_command(encode(intake()))
    with pytest.raises(InvalidMessage, match="not a known event type"):
        parse_event(encode(intake()))
    cmd = {
        "event_id": "c1",
        "type": "AcceptReferral",
        "schema_version": 1,
        "occurred_at": T0.isoformat(),
        "payload": {"actor": {"id": "a", "role": "agency"}},
    }
    with pytest.raises(InvalidMessage, match="case_id: missing required field"):
        parse_command(json.dumps(cmd).encode())
    cmd["case_id"] = "ADU-AAAA-BBBB-CCCC"
    parsed = parse_command(json.dumps(cmd).encode())
    assert parsed.type == "AcceptReferral"
    assert parse_command(encode(parsed)) == parsed
    cmd["payload"] = {"actor": {"id": "a", "role": "mayor"}}
    with pytest.raises(InvalidMessage, match=r"payload\.actor\.role:"):
        parse_command(json.dumps(cmd).encode())


def test_reject_reason_is_a_closed_list() -> None:
    cmd = {
        "event_id": "c1",
        "type": "RejectComplaint",
        "schema_version": 1,
        "occurred_at": T0.isoformat(),
        "case_id": "ADU-AAAA-BBBB-CCCC",
        "payload": {"actor": {"id": "v", "role": "verifier"}, "reason": "dont_like_it"},
    }
    with pytest.raises(InvalidMessage, match=r"payload\.reason: Input should be"):
        parse_command(json.dumps(cmd).encode())


def test_case_id_is_deterministic_and_distinct() -> None:
    assert case_id_for("web", "1") == case_id_for("web", "1")
    assert case_id_for("web", "1") != case_id_for("sms", "1")
    assert case_id_for("web", "1").startswith("ADU-")
    assert len(case_id_for("web", "1")) == 18
    assert intake().derived_case_id == case_id_for("web", "web-1")


def test_messages_are_frozen() -> None:
    m = intake()
    with pytest.raises(Exception, match="frozen"):
        m.event_id = "other"  # type: ignore[misc]


def test_json_schema_for_every_message() -> None:
    schemas = export_json_schemas()
    assert set(schemas) == {"ComplaintSubmitted", *COMMAND_TYPES, *EVENT_TYPES}
    for name, schema in schemas.items():
        json.dumps(schema)
        assert schema["properties"]["type"]["const"] == name
        assert schema["additionalProperties"] is False
        assert {"event_id", "type", "occurred_at", "payload"} <= set(schema["required"]) | {"type"}
    phone = schemas["ComplaintSubmitted"]["$defs"]["Reporter"]["properties"]["phone"]
    assert phone["anyOf"][0]["maxLength"] == 40


def test_intake_schema_accepts_what_the_model_accepts() -> None:
    schema = export_json_schemas()["ComplaintSubmitted"]
    assert schema["properties"]["occurred_at"]["format"] == "date-time"
    assert ComplaintSubmitted.model_json_schema()["title"] == "ComplaintSubmitted"
