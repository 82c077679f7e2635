"""The reporter's channels through their providers' documented request shapes.

* WhatsApp Business Cloud API: ``POST {base}/{version}/{phone-number-id}/messages`` with a bearer
  token; a ``text`` message inside the 24-hour customer-service window (since the reporter's
  last inbound message), a ``template`` message outside it, and the template again when Meta
  answers a text with error 131047 (the window closed meanwhile).
* SMS, Twilio-compatible: ``POST {base}/2010-04-01/Accounts/{sid}/Messages.json``, form fields
  ``To``, ``From``, ``Body``, HTTP basic auth (account sid, auth token).
* Email over SMTP (STARTTLS and login when configured); ``Reply-To`` is the gateway's inbound
  address so a reply comes back as a reply.

A failed attempt raises `SendFailed`; ``permanent`` ones (4xx other than 408/429) are not retried.
Reasons never hold an address or a token.
"""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, Protocol

import httpx

from consumers.reporter.messages import Rendered

__all__ = [
    "ChannelSender",
    "Outgoing",
    "SendFailed",
    "SmsSender",
    "SmtpSender",
    "WhatsAppSender",
]

CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
REENGAGEMENT_REQUIRED = 131047
"""Meta's error code for a free-form message outside the customer-service window."""


class SendFailed(Exception):
    def __init__(
        self, reason: str, *, permanent: bool = False, error_code: int | None = None
    ) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.error_code = error_code
        """The provider's own error code (Meta's ``error.code``), when it gave one."""


@dataclass(frozen=True)
class Outgoing:
    """One message to one address (``repr`` without the address)."""

    address: str
    rendered: Rendered
    language: str = "id"
    last_inbound_at: datetime | None = None
    now: datetime | None = None
    case_id: str = ""

    def __repr__(self) -> str:
        return f"Outgoing(case_id={self.case_id!r}, template={self.rendered.template!r})"


class ChannelSender(Protocol):
    channel: str

    async def send(self, message: Outgoing) -> str:
        """Deliver; returns the provider's message id, or raises `SendFailed`."""
        ...


def _http_failure(response: httpx.Response, provider: str) -> SendFailed:
    status = response.status_code
    permanent = 400 <= status < 500 and status not in (408, 429)
    body = _json(response)
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    reason = f"{provider}: HTTP {status}" + (f" error {code}" if code is not None else "")
    return SendFailed(
        reason, permanent=permanent, error_code=code if isinstance(code, int) else None
    )


async def _post(client: httpx.AsyncClient, provider: str, url: str, **kwargs: Any) -> Any:
    try:
        response = await client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        raise SendFailed(f"{provider}: {type(exc).__name__}") from None
    if response.status_code >= 300:
        raise _http_failure(response, provider)
    return _json(response)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


class WhatsAppSender:
    channel = "whatsapp"

    def __init__(
        self, base_url: str, phone_number_id: str, token: str, version: str = "v21.0"
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/{version}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._client = httpx.AsyncClient(timeout=10.0)

    def _body(self, message: Outgoing, *, template: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.address.removeprefix("+"),
        }
        if not template:
            body |= {"type": "text", "text": {"preview_url": False, "body": message.rendered.body}}
            return body
        parameters = [{"type": "text", "text": p} for p in message.rendered.params]
        body |= {
            "type": "template",
            "template": {
                "name": message.rendered.template,
                "language": {"code": message.language},
                "components": [{"type": "body", "parameters": parameters}],
            },
        }
        return body

    @staticmethod
    def in_window(message: Outgoing) -> bool:
        if message.last_inbound_at is None or message.now is None:
            return False
        return message.now - message.last_inbound_at < CUSTOMER_SERVICE_WINDOW

    async def _send(self, message: Outgoing, *, template: bool) -> str:
        answer = await _post(
            self._client,
            "whatsapp",
            self._url,
            json=self._body(message, template=template),
            headers=self._headers,
        )
        return str((answer.get("messages") or [{}])[0].get("id", ""))

    async def send(self, message: Outgoing) -> str:
        if not self.in_window(message):
            return await self._send(message, template=True)
        try:
            return await self._send(message, template=False)
        except SendFailed as exc:
            if exc.error_code != REENGAGEMENT_REQUIRED:
                raise
            return await self._send(message, template=True)


class SmsSender:
    channel = "sms"

    def __init__(self, base_url: str, account_sid: str, auth_token: str, sender: str) -> None:
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = (account_sid, auth_token)
        self._from = sender
        self._client = httpx.AsyncClient(timeout=10.0)

    async def send(self, message: Outgoing) -> str:
        form = {"To": message.address, "From": self._from, "Body": message.rendered.body}
        answer = await _post(self._client, "sms", self._url, data=form, auth=self._auth)
        return str(answer.get("sid", ""))


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    reply_to: str | None = None
    starttls: bool = False
    username: str | None = None
    password: str | None = None


class SmtpSender:
    channel = "email"

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    def _message(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self._config.sender
        mail["To"] = message.address
        mail["Subject"] = message.rendered.subject
        if self._config.reply_to:
            mail["Reply-To"] = self._config.reply_to
        mail["Message-ID"] = make_msgid(domain=self._config.sender.rsplit("@", 1)[-1])
        mail["Content-Language"] = message.language
        mail.set_content(message.rendered.body, charset="utf-8")
        return mail

    def _send_blocking(self, message: Outgoing) -> str:
        config = self._config
        mail = self._message(message)
        try:
            with smtplib.SMTP(config.host, config.port, timeout=10) as smtp:
                if config.starttls:
                    smtp.starttls()
                if config.username and config.password:
                    smtp.login(config.username, config.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused:
            raise SendFailed("email: recipient refused", permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"email: {type(exc).__name__}") from None
        return str(mail["Message-ID"])

    async def send(self, message: Outgoing) -> str:
        return await asyncio.to_thread(self._send_blocking, message)
