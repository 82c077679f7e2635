"""What every console page shares: the templates, the session of a request, CSRF checks and
rendering with the common context."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from consumers.gateway.console import labels
from consumers.gateway.console.session import SESSION_COOKIE, Session, SessionSigner
from consumers.gateway.context import Gateway, gateway_of

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
STATIC_DIR = HERE / "static"

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
}


class LoginRequired(Exception):
    """No live session: the handler sends the browser to the login page."""


class CsrfRejected(Exception):
    """A form without this session's CSRF token."""


class ConsoleRefusal(Exception):
    """A page the operator may not have (403) or that does not exist (404), as HTML."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def signer_of(request: Request) -> SessionSigner:
    signer: SessionSigner = request.app.state.console_signer
    return signer


def session_of(request: Request) -> Session | None:
    gw = gateway_of(request)
    value = request.cookies.get(SESSION_COOKIE)
    return signer_of(request).session(value, gw.security, gw.now())


def require_session(request: Request) -> Session:
    """The request's live session (`LoginRequired` otherwise); one rate-limit token per call."""
    session = session_of(request)
    if session is None:
        raise LoginRequired
    gateway_of(request).throttle(f"operator:{session.operator.id}")
    return session


def check_csrf(request: Request, session: Session, presented: str | None) -> None:
    if not signer_of(request).csrf_ok(session.nonce, presented):
        raise CsrfRejected


def local_time(value: datetime | str | None, tz: ZoneInfo) -> str:
    """``07-12-2026 09:00 WIT``-style local time of an instant (or an ISO string)."""
    if value is None:
        return "-"
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = instant.astimezone(tz)
    return local.strftime("%d-%m-%Y %H:%M ") + (local.tzname() or "")


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
    session: Session | None = None,
) -> HTMLResponse:
    gw: Gateway = gateway_of(request)
    tz = ZoneInfo(gw.policy.default_tz)
    shared: dict[str, Any] = {
        "session": session,
        "csrf": signer_of(request).csrf_token(session.nonce) if session else None,
        "labels": labels,
        "word": labels.word,
        "local": lambda value: local_time(value, tz),
    }
    response = TEMPLATES.TemplateResponse(
        request, template, {**shared, **context}, status_code=status_code
    )
    response.headers.update(SECURITY_HEADERS)
    return response
