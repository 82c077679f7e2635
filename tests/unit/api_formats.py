"""Hypothesis strategies for the string formats of the gateway's OpenAPI document that a
generic generator gets wrong, for schemathesis.

* ``rfc5322``: the e-mail route's body, a whole message (a MIME parser's rule, not a pattern).
* ``date``: the only dates in the document are when an incident happened, which the gateway
  refuses after the complaint's receipt (a rule relative to now, which a schema cannot state):
  valid ones are drawn from the past.
"""

from __future__ import annotations

from datetime import date

import schemathesis
from hypothesis import strategies as st


@st.composite
def raw_emails(draw: st.DrawFn) -> str:
    """A small RFC 5322 message with a text body."""
    letters = st.characters(codec="utf-8", exclude_categories=("Cs",))
    body = draw(st.text(letters, min_size=1, max_size=200).filter(lambda t: t.strip()))
    subject = draw(st.text("abcdefghijklmnopqrstuvwxyz ", max_size=40))
    ident = draw(st.text("abcdef0123456789", min_size=8, max_size=16))
    return (
        f"From: warga@example.id\r\nSubject: {subject}\r\nMessage-ID: <{ident}@example.id>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    )


def register() -> None:
    """Teach schemathesis these formats (idempotent)."""
    schemathesis.openapi.format("rfc5322", raw_emails())
    past = st.dates(min_value=date(1990, 1, 1), max_value=date(2025, 12, 31))
    schemathesis.openapi.format("date", past.map(date.isoformat))
