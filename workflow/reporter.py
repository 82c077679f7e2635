"""The reporter: the identity as given at intake and what the core may store about it.

Reporter confidentiality (UU 37/2008 Pasal 24(2); SP4N-LAPOR! "anonim"/"rahasia") is enforced
by construction:

* The clear identity (name, phone, email) exists only in `ComplaintSubmitted`, i.e. on the
  ``complaints.intake`` topic (and in ``deadletter``, which carries original bytes). Those topics
  must be readable only by the intake/case workers and have short retention; an identity vault
  for officers who may contact the reporter is out of the core's scope.
* Everything the core *produces* (``cases.events``, ``cases.state``) carries a `ReporterView`:
  for ``public`` reporters the identity as given, for ``anonymous`` and ``confidential``
  reporters only a keyed pseudonym (HMAC-SHA256 under a secret key held by the deployment; see
  `reporter_view`) or nothing at all when no key is configured.
* ``repr()``/``str()`` of a `ComplaintSubmitted` (and of `Reporter`) never print the identity or
  the complaint text, so a log line cannot leak them; validation errors name the field and the
  rule but never echo the input value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Annotated

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import Field, field_validator

from workflow.enums import Confidentiality
from workflow.values import FrozenModel

__all__ = [
    "Reporter",
    "ReporterView",
    "reporter_view",
]


class Reporter(FrozenModel):
    """The reporter as given at intake. The identity fields are hidden from ``repr``."""

    name: Annotated[str | None, Field(max_length=200, repr=False)] = None
    phone: Annotated[str | None, Field(max_length=40, repr=False)] = None
    """Any Indonesian notation (``0812...``, ``+62 812...``); normalised to E.164."""
    email: Annotated[str | None, Field(max_length=254, repr=False)] = None
    """Syntax-checked and normalised; no DNS lookup."""
    confidentiality: Confidentiality = Confidentiality.PUBLIC

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            number = phonenumbers.parse(v, "ID")
        except phonenumbers.NumberParseException:
            raise ValueError("not a valid Indonesian phone number") from None
        if not phonenumbers.is_valid_number(number):
            raise ValueError("not a valid Indonesian phone number")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return validate_email(v, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValueError(f"not a valid email address ({_strip_value(str(exc), v)})") from None


def _strip_value(text: str, value: str) -> str:
    return text.replace(value, "<value>") if value else text


class ReporterView(FrozenModel):
    """What the audit trail and the case snapshot may hold about the reporter.

    For ``public`` reporters: the identity as validated. For ``anonymous`` and ``confidential``
    reporters: name/phone/email are None; ``pseudonym`` is a keyed HMAC of the identity (lets an
    officer see that two complaints come from the same person without learning who) or None when
    the deployment has no pseudonym key. ``contactable`` says whether intake had a phone or email.
    """

    confidentiality: Confidentiality
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    pseudonym: str | None = None
    contactable: bool = False


def reporter_view(reporter: Reporter, key: bytes | None) -> ReporterView:
    """Project the intake reporter onto what may be stored (see the module docstring)."""
    contactable = reporter.phone is not None or reporter.email is not None
    if reporter.confidentiality is Confidentiality.PUBLIC:
        return ReporterView.model_construct(
            confidentiality=reporter.confidentiality,
            name=reporter.name,
            phone=reporter.phone,
            email=reporter.email,
            pseudonym=None,
            contactable=contactable,
        )
    pseudonym = None
    basis = reporter.phone or reporter.email or reporter.name
    if key is not None and basis:
        digest = hmac.new(key, basis.casefold().encode(), hashlib.sha256).digest()
        pseudonym = "P-" + base64.b32encode(digest[:10]).decode().rstrip("=")
    return ReporterView.model_construct(
        confidentiality=reporter.confidentiality,
        name=None,
        phone=None,
        email=None,
        pseudonym=pseudonym,
        contactable=contactable,
    )
