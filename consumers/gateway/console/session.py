"""Console sessions: an operator's token, checked once at login, becomes a signed cookie.

The cookie holds ``{operator id, expiry, nonce}`` and an HMAC-SHA256 over it under a key derived
from the deployment's tracking secret (so it needs no second secret and a new secret logs every
session out). It is HttpOnly, SameSite=Strict, and Secure when the gateway's public URL is https.
The CSRF token of a session is the HMAC of its nonce under another derived key: every form
carries it and every POST is checked against it (login included, with a pre-login nonce cookie).
The operator is looked up again on every request, so a token removed from the security file
ends its sessions too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from consumers.gateway.security import Operator, SecurityConfig

SESSION_COOKIE = "aduan_sesi"
LOGIN_COOKIE = "aduan_masuk"
SESSION_LIFETIME = timedelta(hours=8)
"""One working day: a session expires and the operator logs in again."""
LOGIN_LIFETIME = timedelta(minutes=30)


@dataclass(frozen=True)
class Session:
    operator: Operator
    expires_at: datetime
    nonce: str


class SessionSigner:
    """Signs and checks session and login cookies and derives CSRF tokens."""

    def __init__(self, secret: bytes) -> None:
        self._cookie_key = hmac.new(secret, b"aduan console cookie", hashlib.sha256).digest()
        self._csrf_key = hmac.new(secret, b"aduan console csrf", hashlib.sha256).digest()

    def _sign(self, data: dict[str, object]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(data, sort_keys=True).encode()).decode()
        mac = hmac.new(self._cookie_key, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}.{mac}"

    def _open(self, value: str | None, now: datetime) -> dict[str, object] | None:
        if not value or "." not in value:
            return None
        body, _, mac = value.rpartition(".")
        expected = hmac.new(self._cookie_key, body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, mac):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(body.encode()))
        except ValueError:
            return None
        if not isinstance(data, dict) or float(data.get("exp", 0)) <= now.timestamp():
            return None
        return data

    def csrf_token(self, nonce: str) -> str:
        return hmac.new(self._csrf_key, nonce.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, nonce: str, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf_token(nonce), presented or "")

    def new_session(self, operator: Operator, now: datetime) -> tuple[str, Session]:
        """The cookie value for a fresh session of ``operator``, and the session."""
        expires = now + SESSION_LIFETIME
        nonce = secrets.token_urlsafe(16)
        value = self._sign({"op": operator.id, "exp": expires.timestamp(), "n": nonce})
        return value, Session(operator, expires, nonce)

    def session(self, value: str | None, security: SecurityConfig, now: datetime) -> Session | None:
        """The live session in cookie ``value`` (None: absent, forged, expired or the operator
        no longer exists)."""
        data = self._open(value, now)
        if data is None:
            return None
        operator = next((o for o in security.operators if o.id == data.get("op")), None)
        if operator is None:
            return None
        expires = datetime.fromtimestamp(float(str(data["exp"])), tz=now.tzinfo)
        return Session(operator, expires, str(data.get("n", "")))

    def new_login_nonce(self, now: datetime) -> tuple[str, str]:
        """A pre-login cookie value and its nonce (the login form's CSRF token derives from it)."""
        nonce = secrets.token_urlsafe(16)
        return self._sign({"exp": (now + LOGIN_LIFETIME).timestamp(), "n": nonce}), nonce

    def login_nonce(self, value: str | None, now: datetime) -> str | None:
        data = self._open(value, now)
        return None if data is None else str(data.get("n", ""))
