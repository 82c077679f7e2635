"""One readable line for a pydantic `ValidationError`: where (the field path) and which rule.

By default it never echoes input values (a message may hold a reporter's identity, a setting
a secret); a caller whose input is safe to show (the policy file) may explain an error itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

__all__ = ["describe_validation_error", "error_location"]

_FRIENDLY = {
    "missing": "missing required field",
    "extra_forbidden": "unknown field (not allowed by the schema)",
    "timezone_aware": "timestamp must carry a UTC offset, e.g. 2026-03-02T09:00:00+09:00",
}

Explain = Callable[[Any], str | None]
"""Given one error (pydantic's dict, input included), the rule in words, or None: the default."""


def error_location(loc: tuple[int | str, ...], *, brackets: bool = False) -> str:
    """``payload.attachments.0.uri``, or with ``brackets`` ``agencies[3].tz``."""
    if not brackets:
        return ".".join(str(part) for part in loc)
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _rule(error: Any) -> str:
    return (_FRIENDLY.get(error["type"]) or str(error["msg"])).removeprefix("Value error, ")


def describe_validation_error(
    exc: ValidationError,
    *,
    root: str = "<message>",
    first_only: bool = False,
    brackets: bool = False,
    explain: Explain | None = None,
) -> str:
    """``"where: rule"`` for every error, joined by ``"; "``, on one line.

    ``root`` names the place of an error about the whole object (empty: just the rule);
    ``first_only`` keeps the first error and counts the others ("(and 2 more problems)");
    ``brackets`` writes list indexes as ``[i]``; ``explain`` may word an error itself.
    """
    errors = exc.errors(include_url=False)

    def one(error: Any) -> str:
        where = error_location(tuple(error["loc"]), brackets=brackets) or root
        rule = (explain(error) if explain is not None else None) or _rule(error)
        return f"{where}: {rule}" if where else rule

    if not first_only:
        line = "; ".join(one(e) for e in errors)
    else:
        line = one(errors[0]) if errors else root
        more = len(errors) - 1
        if more > 0:
            line += f" (and {more} more problem{'s' if more > 1 else ''})"
    return line.replace("\n", " ")
