"""The SMTP intake listener (aiosmtpd), on the gateway's own event loop.

Each accepted message goes through the same e-mail adapter as ``POST /v1/intake/email`` and is
acknowledged with ``250`` only after Kafka acknowledged the intake message; the reply carries
the tracking number. Broken mail gets ``550`` with the reason, a broker outage ``451`` (the
sending server retries later).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from consumers.adapters.base import AdapterError
from consumers.adapters.email import from_email
from consumers.gateway.context import Gateway
from consumers.gateway.publisher import PublishError


class IntakeHandler:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        gw = self.gateway
        try:
            complaint = from_email(raw, gw.now(), gw.store.save)
            tracking = await gw.submit(complaint)
        except AdapterError as exc:
            return f"550 {exc.reason}: {exc.detail}"[:500]
        except PublishError:
            return "451 4.3.0 intake temporarily unavailable, try again later"
        return f"250 OK tracking number {tracking}"


async def start_smtp(gateway: Gateway, host: str, port: int) -> asyncio.Server:
    """Listen for SMTP on (host, port); close the returned server to stop."""
    handler = IntakeHandler(gateway)
    limit = gateway.settings.gateway_smtp_max_bytes

    def factory() -> Any:
        return SMTP(handler, data_size_limit=limit, enable_SMTPUTF8=True, hostname="aduan")

    loop = asyncio.get_running_loop()
    return await loop.create_server(factory, host=host, port=port)
