"""The SMTP intake listener (aiosmtpd on the gateway's loop), with the in-memory publisher."""

from __future__ import annotations

import asyncio
import smtplib
from pathlib import Path

from consumers.gateway.app import create_app
from consumers.gateway.publisher import MemoryPublisher
from consumers.gateway.readmodel import ReadModel
from consumers.gateway.security import dev_security
from consumers.gateway.settings import GatewaySettings
from consumers.gateway.smtp import start_smtp
from workflow.codec import parse_intake
from workflow.enums import Channel

MAIL = (
    "From: Rina <rina@example.id>\r\n"
    "To: pengaduan@malukutengahkab.go.id\r\n"
    "Subject: Antrean RSUD Masohi\r\n"
    "Message-ID: <smtp-1@example.id>\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Antrean di poli anak RSUD Masohi sampai 5 jam. Mohon perbaikan.\r\n"
)


def send(port: int, body: str) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        client.mail("rina@example.id")
        client.rcpt("pengaduan@malukutengahkab.go.id")
        code, reply = client.data(body.encode())
        return code, reply


async def test_smtp_accepts_mail_and_answers_the_tracking_number(tmp_path: Path) -> None:
    publisher = MemoryPublisher()
    app = create_app(
        GatewaySettings(gateway_store_dir=tmp_path, gateway_dev_mode=True),
        security=dev_security(),
        publisher=publisher,
        read_model=ReadModel(),
    )
    server = await start_smtp(app.state.gateway, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        code, reply = await asyncio.to_thread(send, port, MAIL)
        assert code == 250
        [(topic, key, value)] = publisher.sent
        assert topic == "complaints.intake"
        assert key.decode() in reply.decode()
        complaint = parse_intake(value)
        assert complaint.payload.channel is Channel.EMAIL
        assert complaint.payload.reporter.email == "rina@example.id"
        broken = "From: a@example.id\r\nContent-Type: multipart/mixed\r\n\r\nx\r\n"
        code, reply = await asyncio.to_thread(send, port, broken)
        assert code == 550
        assert b"broken_mime" in reply
        publisher.fail = True
        code, _ = await asyncio.to_thread(send, port, MAIL.replace("smtp-1", "smtp-2"))
        assert code == 451
        assert len(publisher.sent) == 1
    finally:
        server.close()
        await server.wait_closed()
