"""The core's fast constructors: the one room that touches pydantic's model internals.

The hot path builds many small frozen models from values the core already validated;
pydantic's `model_construct` costs ~5 µs per call, a third of the hot path's budget. These
helpers fill ``__dict__`` and the bookkeeping slots directly. A test checks each against the
slow, public way of building the same value (`tests/unit/test_core_fastpaths.py`).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from workflow.case import message_key
from workflow.enums import Confidentiality
from workflow.reporter import ReporterView, reporter_view

__all__ = [
    "EVENT_NAMESPACE",
    "case_id_fast",
    "event_id_for",
    "memo_message_key",
    "new_event",
    "new_model",
    "replace_model",
    "reporter_view_fast",
]

EVENT_NAMESPACE = uuid.UUID("5b0c7a52-3f7e-5d4a-9c1e-6164756e0001")
"""The uuid5 namespace of event ids."""
_NAMESPACE_SHA1 = hashlib.sha1(EVENT_NAMESPACE.bytes)
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}

_T = TypeVar("_T", bound=BaseModel)
_TEMPLATES: dict[type[BaseModel], tuple[dict[str, Any], set[str]]] = {}
_set = object.__setattr__
_object_new = object.__new__


def event_id_for(message_id: str, index: int) -> str:
    """Deterministic id of the ``index``-th event caused by message ``message_id``: the
    RFC 4122 version-5 UUID of ``"{message_id}#{index}"`` (same value as `uuid.uuid5`, built
    without the UUID object, which costs more than the hash)."""
    sha = _NAMESPACE_SHA1.copy()
    sha.update(f"{message_id}#{index}".encode())
    h = sha.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def _template(cls: type[BaseModel]) -> tuple[dict[str, Any], set[str]]:
    found = _TEMPLATES.get(cls)
    if found is None:
        defaults = {
            name: field.get_default(call_default_factory=True)
            for name, field in cls.model_fields.items()
            if not field.is_required()
        }
        found = _TEMPLATES[cls] = (defaults, set(cls.model_fields))
    return found


def new_model(cls: type[_T], **values: Any) -> _T:
    """Build a model from values the core already validated (a leaner `model_construct`)."""
    defaults, fields = _TEMPLATES.get(cls) or _template(cls)
    obj = _object_new(cls)
    if defaults:
        merged = defaults.copy()
        merged.update(values)
        values = merged
    _set(obj, "__dict__", values)
    # Every field counts as set (the defaults are explicit). The set is shared and never mutated
    # in place: the models are frozen and pydantic's model_copy copies it before adding to it.
    _set(obj, "__pydantic_fields_set__", fields)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def replace_model(obj: _T, updates: dict[str, Any]) -> _T:
    """A copy of a frozen model with ``updates`` applied (no validation; see `new_model`)."""
    new = _object_new(obj.__class__)
    values = obj.__dict__.copy()
    values.update(updates)
    _set(new, "__dict__", values)
    _set(new, "__pydantic_fields_set__", obj.__pydantic_fields_set__)
    _set(new, "__pydantic_extra__", None)
    _set(new, "__pydantic_private__", None)
    return new


def new_event(
    cls: type[Any],
    case_id: str,
    message: Any,
    index: int,
    now: datetime,
    correlation_id: str,
    payload: Any,
) -> Any:
    """The ``index``-th event ``message`` causes on ``case_id`` (ids derived, see the core)."""
    return new_model(
        cls,
        event_id=event_id_for(message.event_id, index),
        schema_version=1,
        occurred_at=now,
        case_id=case_id,
        causation_id=message.event_id,
        correlation_id=correlation_id,
        payload=payload,
    )


_KEYS: dict[str, bytes] = {}
_KEYS_LIMIT = 4096


def memo_message_key(message_id: str) -> bytes:
    """`message_key`, memoised briefly: decide and evolve both need the key of one message."""
    key = _KEYS.get(message_id)
    if key is None:
        if len(_KEYS) >= _KEYS_LIMIT:
            _KEYS.clear()
        key = _KEYS[message_id] = message_key(message_id)
    return key


_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def case_id_fast(channel: str, channel_message_id: str) -> str:
    """`workflow.intake.case_id_for` without `base64.b32encode` (pure Python, slow): the
    first 12 base32 characters of the 10-byte digest are its top 60 bits (a test checks the
    two agree)."""
    digest = hashlib.sha256(f"{channel}\x1f{channel_message_id}".encode()).digest()
    n = int.from_bytes(digest[:8], "big") >> 4
    c = "".join([_B32[(n >> shift) & 31] for shift in range(55, -1, -5)])
    return f"ADU-{c[0:4]}-{c[4:8]}-{c[8:12]}"


def reporter_view_fast(reporter: Any, key: bytes | None) -> ReporterView:
    """`reporter_view`, with the common public case built without `model_construct` (fields in
    declared order, as model_construct puts them, so the JSON is byte-identical)."""
    if reporter.confidentiality is not Confidentiality.PUBLIC:
        return reporter_view(reporter, key)
    view = _object_new(ReporterView)
    _set(
        view,
        "__dict__",
        {
            "confidentiality": reporter.confidentiality,
            "name": reporter.name,
            "phone": reporter.phone,
            "email": reporter.email,
            "pseudonym": None,
            "contactable": reporter.phone is not None or reporter.email is not None,
        },
    )
    _set(view, "__pydantic_fields_set__", _template(ReporterView)[1])
    _set(view, "__pydantic_extra__", None)
    _set(view, "__pydantic_private__", None)
    return view
