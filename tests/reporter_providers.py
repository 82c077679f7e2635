"""Local provider servers for the reporter channels: real HTTP and SMTP, recording what arrives.

* `ProviderServer`: one ``http.server`` in a thread answering the WhatsApp Business Cloud API
  (``POST /{version}/{phone-number-id}/messages``, bearer token, JSON) and a Twilio-compatible
  SMS API (``POST /2010-04-01/Accounts/{sid}/Messages.json``, basic auth, form). A request in
  another shape is answered 400 and recorded under ``rejected``. ``fail_next`` makes the next
  requests fail with 503 (a provider outage); ``window_closed`` answers a WhatsApp text with
  Meta's error 131047.
* `MailServer`: aiosmtpd, recording each message.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller

PHONE_NUMBER_ID = "106540352242922"
WA_TOKEN = "wa-test-token"
SMS_SID = "AC0123456789abcdef0123456789abcdef"
SMS_TOKEN = "sms-test-token"
_WA_PATH = re.compile(r"^/v\d+\.\d+/(?P<id>\d+)/messages$")
_SMS_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json$")


@dataclass
class Recorded:
    whatsapp: list[dict[str, Any]] = field(default_factory=list)
    sms: list[dict[str, str]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    fail_next: int = 0
    window_closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _whatsapp_shape_ok(body: Any) -> bool:
    if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
        return False
    if not re.fullmatch(r"\d{8,15}", str(body.get("to", ""))):
        return False
    if body.get("type") == "text":
        return isinstance(body.get("text", {}).get("body"), str)
    if body.get("type") == "template":
        template = body.get("template", {})
        return bool(template.get("name")) and bool(template.get("language", {}).get("code"))
    return False


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        rec = self.server.recorded
        with rec.lock:
            if rec.fail_next > 0:
                rec.fail_next -= 1
                self._answer(503, {"error": {"message": "temporarily unavailable"}})
                return
        if match := _WA_PATH.match(self.path):
            self._whatsapp(match, raw)
        elif match := _SMS_PATH.match(self.path):
            self._sms(match, raw)
        else:
            self._reject(f"unknown path {self.path}", 404)

    def _reject(self, why: str, status: int = 400) -> None:
        with self.server.recorded.lock:
            self.server.recorded.rejected.append(why)
        self._answer(status, {"error": {"message": why, "code": 100}})

    def _whatsapp(self, match: re.Match[str], raw: bytes) -> None:
        rec = self.server.recorded
        if self.headers.get("Authorization") != f"Bearer {WA_TOKEN}":
            return self._reject("whatsapp: bad token", 401)
        if match["id"] != PHONE_NUMBER_ID or "json" not in self.headers.get("Content-Type", ""):
            return self._reject("whatsapp: bad phone number id or content type")
        body = json.loads(raw)
        if not _whatsapp_shape_ok(body):
            return self._reject("whatsapp: not a Cloud API message")
        if body["type"] == "text" and rec.window_closed:
            self._answer(400, {"error": {"message": "Re-engagement message", "code": 131047}})
            return None
        with rec.lock:
            rec.whatsapp.append(body)
            n = len(rec.whatsapp)
        self._answer(200, {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.{n}"}]})
        return None

    def _sms(self, match: re.Match[str], raw: bytes) -> None:
        expected = base64.b64encode(f"{SMS_SID}:{SMS_TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}" or match["sid"] != SMS_SID:
            return self._reject("sms: bad credentials", 401)
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if not {"To", "From", "Body"} <= set(form):
            return self._reject("sms: To, From and Body are required")
        with self.server.recorded.lock:
            self.server.recorded.sms.append(form)
            n = len(self.server.recorded.sms)
        self._answer(201, {"sid": f"SM{n:032d}", "status": "queued", "to": form["To"]})
        return None


class _Server(ThreadingHTTPServer):
    recorded: Recorded


class ProviderServer:
    def __init__(self) -> None:
        self.recorded = Recorded()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.recorded = self.recorded
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ProviderServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


class _MailHandler:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MailServer:
    def __init__(self) -> None:
        self.handler = _MailHandler()
        self.port = _free_port()
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    def __enter__(self) -> MailServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._controller.stop()
