"""A preview of a message that shows its shape but not who sent it: for operators' listings.

`redact` replaces the value of every field whose name says it identifies a person (names, phone
numbers, email and postal addresses, identity numbers, the reporter's contact) with ``***``, at
any depth, and masks anything in the remaining strings that looks like an email address or a
phone number. `preview` is the redacted JSON on one line, cut to a width; a value that is not
JSON shows only what the masks leave of its text.
"""

from __future__ import annotations

import json
from typing import Any

from workflow.redaction import redact as redact_text

__all__ = ["mask_text", "preview", "redact"]

MASK = "***"

# Field names (lower case, compared by substring) whose values identify a person.
_IDENTIFYING = (
    "name",
    "nama",
    "phone",
    "telepon",
    "msisdn",
    "whatsapp",
    "email",
    "address",
    "alamat",
    "nik",
    "contact",
    "kontak",
    "handle",
    "sender",
    "from",
)


def _identifying(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _IDENTIFYING)


def mask_text(text: str) -> str:
    """``text`` with e-mail addresses, NIK, phone and account numbers masked."""
    return redact_text(text)


def redact(value: Any) -> Any:
    """A copy of parsed JSON with identifying fields and strings masked."""
    if isinstance(value, dict):
        return {
            k: (MASK if _identifying(str(k)) and v not in (None, "") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def preview(raw: bytes | None, width: int = 160) -> str:
    """One line: the redacted JSON, or the masked text of a value that is not JSON."""
    if raw is None:
        return "(no value)"
    try:
        text = json.dumps(redact(json.loads(raw)), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        text = f"({len(raw)} bytes, not JSON) " + mask_text(raw.decode("utf-8", "replace"))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."
