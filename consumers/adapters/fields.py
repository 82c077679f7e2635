"""Field types of the channel payload models, declared so that their JSON Schema (and so the
gateway's OpenAPI document) says exactly what the adapter accepts.

A phone number must match `PHONE_PATTERN`: ``+62`` or ``0``, then an Indonesian mobile or
fixed-line number as libphonenumber's metadata describes them, with a space or hyphen allowed
after any digit (``0812-3456-7890``, ``+62 812 3456 7890``, ``0914 21234``). Every match is
a valid number for `workflow.reporter.Reporter` (tests/unit/test_api_contract.py samples it).
An e-mail address must match `EMAIL_PATTERN` (plain ASCII) and pass ``email_validator``
(syntax, no DNS; it also refuses special-use domains such as ``.test``, which the field's
description says). Empty phone and e-mail fields mean "not given".
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from phonenumbers import PhoneMetadata
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field
from pydantic.config import JsonDict

_SEPARATOR = "[ -]?"


def _separated(pattern: str) -> str:
    """libphonenumber's digits-only ``pattern`` with a separator allowed after each digit."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "{":  # a quantifier: copied as it is
            end = pattern.index("}", i) + 1
            out.append(pattern[i:end])
            i = end
        elif pattern.startswith(r"\d", i):
            out.append(f"(?:[0-9]{_SEPARATOR})")
            i += 2
        elif char == "[":
            end = pattern.index("]", i) + 1
            out.append(f"(?:{pattern[i:end]}{_SEPARATOR})")
            i = end
        elif char.isdigit():
            out.append(f"(?:{char}{_SEPARATOR})")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _phone_pattern() -> str:
    region = PhoneMetadata.metadata_for_region("ID")
    assert region is not None, "libphonenumber has no metadata for ID"
    assert region.mobile is not None
    assert region.fixed_line is not None
    mobile = region.mobile.national_number_pattern
    fixed = region.fixed_line.national_number_pattern
    national = _separated(f"(?:{mobile}|{fixed})")
    return rf"^(?:(?:\+62{_SEPARATOR}|0){national})?$"


PHONE_PATTERN = _phone_pattern()
"""Empty, or an Indonesian mobile or fixed-line number (see the module docstring)."""


def _matching(pattern: str, what: str) -> AfterValidator:
    # The schema carries the pattern; the check says what it stands for (pydantic's own message
    # would quote the whole pattern).
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"not {what}")
        return value

    return AfterValidator(check)


PhoneNumber = Annotated[
    str,
    _matching(PHONE_PATTERN, "an Indonesian phone number (+62 or 0, then the number)"),
    Field(
        max_length=40,
        json_schema_extra={"pattern": PHONE_PATTERN},
        description=(
            "Empty, or an Indonesian mobile or fixed-line number: +62 or 0, then the number; "
            "a space or hyphen may follow any digit."
        ),
    ),
]
# A domain label: letters and digits, single hyphens between them (two in a row, as in "ab--c",
# are reserved by IDNA for punycode and email_validator refuses them); at most 63 characters.
_LABEL = "[A-Za-z0-9]{1,15}(?:-[A-Za-z0-9]{1,15}){0,3}"
EMAIL_PATTERN = (
    r"^(?:[A-Za-z0-9_%+-]{1,32}(?:\.[A-Za-z0-9_%+-]{1,15}){0,2}"
    rf"@(?:{_LABEL}\.){{1,4}}[A-Za-z]{{2,24}})?$"
)
"""Empty, or a plain ASCII address (local part at most 64 characters, 2 to 5 domain labels)."""

EmailAddress = Annotated[
    str,
    _matching(EMAIL_PATTERN, "a plain ASCII e-mail address"),
    Field(
        max_length=254,
        json_schema_extra={"pattern": EMAIL_PATTERN},
        description=(
            "Empty, or a plain ASCII e-mail address. Special-use domains (.test, .local, "
            ".localhost, .invalid, .onion, .arpa) are refused."
        ),
    ),
]

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339_text(value: Any) -> Any:
    # pydantic would also take a Unix time (a number, or digits in a query string) and a bare
    # date; the document promises RFC 3339 date-time, so only that passes.
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _RFC3339.match(value):
        return value
    raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-03-02T09:00:00+09:00")


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]
"""An RFC 3339 date-time with its offset (``format: date-time``)."""


def coordinates_together(latitude: str, longitude: str) -> JsonDict:
    """The JSON Schema of "both coordinates or neither" (a null one counts as absent)."""

    def given(name: str, bound: int) -> JsonDict:
        number: JsonDict = {"type": "number", "minimum": -bound, "maximum": bound}
        return {"required": [name], "properties": {name: number}}

    return {
        "allOf": [
            {"if": given(latitude, 90), "then": given(longitude, 180)},
            {"if": given(longitude, 180), "then": given(latitude, 90)},
        ]
    }


Latitude = Annotated[float, Field(ge=-90, le=90, strict=True)]
Longitude = Annotated[float, Field(ge=-180, le=180, strict=True)]
"""JSON numbers only (no numeric strings, no booleans), as the schema's ``number`` says."""
ComplaintText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=20_000,
        pattern=r"\S",
        description="The complaint; at least one character that is not white space.",
    ),
]
AgencyCode = Annotated[str, Field(min_length=1, max_length=64)]
"""An agency hint: the code of an agency (OPD), e.g. ``PUPR``."""
