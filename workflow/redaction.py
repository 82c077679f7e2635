"""Personal data out of free text: phone numbers, e-mail addresses, NIK, account numbers and a
given person's name, replaced by bracketed labels (``[telepon]``, ``[email]``, ...).

Used twice: at intake the core removes a non-public reporter's identity and contact data from
the text it stores (`redact_identity`), and the public views publish text only through `redact`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from workflow.enums import Confidentiality
from workflow.reporter import Reporter

__all__ = ["redact", "redact_identity"]

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# NIK (Nomor Induk Kependudukan): exactly 16 digits.
_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
# Indonesian phone numbers in the usual notations: +62 / 62 / 0, then 8-12 digits with spaces,
# dots, dashes or a bracketed area code between them.
_PHONE = re.compile(r"(?<![\w+])(?:\+62|62|0)[\s.-]?\(?\d{2,4}\)?(?:[\s.-]?\d){5,10}(?!\d)")
# Anything else with ten or more digits (bank accounts, card numbers), separators allowed.
_LONG_NUMBER = re.compile(r"(?<![\w+])\+?\d(?:[\s.-]?\d){9,}(?!\d)")

_MIN_NAME_PART = 3
"""Name parts shorter than this ("A.", "Hj") are too common to redact on their own."""


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    parts: set[str] = set()
    for name in names:
        cleaned = name.strip()
        if not cleaned:
            continue
        parts.add(cleaned)
        parts.update(p for p in re.split(r"[\s,.]+", cleaned) if len(p) >= _MIN_NAME_PART)
    if not parts:
        return None
    alternatives = "|".join(re.escape(p) for p in sorted(parts, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


_MAX_PHONE_DIGITS = 14


def _long_number_label(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    mobile = digits.startswith(("08", "628")) and len(digits) <= _MAX_PHONE_DIGITS
    return "[telepon]" if mobile or match.group(0).startswith("+") else "[nomor]"


def redact(text: str, names: Iterable[str] = (), *, numbers: bool = True) -> str:
    """``text`` without e-mail addresses, NIK, phone numbers, the given names and (unless
    ``numbers`` is False) other long numbers such as bank accounts."""
    text = _EMAIL.sub("[email]", text)
    text = _NIK.sub("[NIK]", text)
    if numbers:
        text = _LONG_NUMBER.sub(_long_number_label, text)
    text = _PHONE.sub("[telepon]", text)
    pattern = _name_pattern(names)
    return pattern.sub("[nama]", text) if pattern is not None else text


def _phone_pattern(e164: str) -> re.Pattern[str]:
    # +6281234567890 written as 0812-3456-7890, 62 812 3456 7890, +62 (812) ...
    national = e164.removeprefix("+62")
    digits = r"[\s.()-]*".join(re.escape(d) for d in national)
    return re.compile(rf"(?:\+?62|0)?[\s.()-]*{digits}(?!\d)")


def redact_identity(text: str, reporter: Reporter) -> str:
    """For anonymous and confidential reporters, ``text`` without their name, their phone number
    in any notation, and every e-mail address, phone number and NIK (a signature in a complaint
    mail names a reporter the adapter could not know); account numbers stay, they are often
    the evidence of a pungli report. The original text stays on the intake topic only. Public
    reporters' text is unchanged."""
    if reporter.confidentiality is Confidentiality.PUBLIC:
        return text
    if reporter.phone:
        text = _phone_pattern(reporter.phone).sub("[telepon]", text)
    return redact(text, [reporter.name] if reporter.name else [], numbers=False)
