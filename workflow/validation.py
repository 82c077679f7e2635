"""One readable line for a pydantic `ValidationError`, naming fields and rules, never echoing
the input (it may hold a reporter's identity or a secret)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

__all__ = ["describe_validation_error"]

_FRIENDLY = {
    "missing": "missing required field",
    "extra_forbidden": "unknown field (not allowed by the schema)",
    "timezone_aware": "timestamp must carry a UTC offset, e.g. 2026-03-02T09:00:00+09:00",
}


def _describe(error: Any, root: str) -> str:
    loc = ".".join(str(part) for part in error["loc"]) or root
    msg = (_FRIENDLY.get(error["type"]) or str(error["msg"])).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def describe_validation_error(
    exc: ValidationError, *, root: str = "<message>", first_only: bool = False
) -> str:
    """``"loc: rule"`` for every error, joined by ``"; "``. ``root`` names an error of the whole
    object (empty loc); ``first_only`` keeps the first error and counts the others."""
    errors = exc.errors(include_url=False, include_input=False)
    if not first_only:
        return "; ".join(_describe(e, root) for e in errors)
    line = _describe(errors[0], root) if errors else root
    more = len(errors) - 1
    if more > 0:
        line += f" (and {more} more problem{'s' if more > 1 else ''})"
    return line
