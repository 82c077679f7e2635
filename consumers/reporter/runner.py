"""Starting the reporter-messaging service: channels from the settings, /metrics, run until a
signal. `serve` is what ``aduan reporter`` calls."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

from consumers.reporter.channels import (
    ChannelSender,
    SmsSender,
    SmtpConfig,
    SmtpSender,
    WhatsAppSender,
)
from consumers.reporter.clients import ReporterClients
from consumers.reporter.messages import load_texts
from consumers.reporter.service import ReporterService
from consumers.reporter.settings import ReporterSettings
from consumers.settings import EngineSettings
from workflow.policy import load_policy

__all__ = ["build_senders", "create_service", "serve"]


def _secret(value: Any) -> str:
    return str(value.get_secret_value()) if value is not None else ""


def build_senders(s: ReporterSettings) -> dict[str, ChannelSender]:
    """The channels whose provider is configured."""
    senders: dict[str, ChannelSender] = {}
    if s.whatsapp_base_url and s.whatsapp_phone_number_id and s.whatsapp_token:
        senders["whatsapp"] = WhatsAppSender(
            s.whatsapp_base_url,
            s.whatsapp_phone_number_id,
            _secret(s.whatsapp_token),
            s.whatsapp_version,
        )
    if s.sms_base_url and s.sms_account_sid and s.sms_auth_token and s.sms_from:
        senders["sms"] = SmsSender(
            s.sms_base_url, s.sms_account_sid, _secret(s.sms_auth_token), s.sms_from
        )
    if s.smtp_host:
        config = SmtpConfig(
            host=s.smtp_host,
            port=s.smtp_port,
            sender=s.smtp_from,
            reply_to=s.smtp_reply_to,
            starttls=s.smtp_starttls,
            username=s.smtp_username,
            password=_secret(s.smtp_password) or None,
        )
        senders["email"] = SmtpSender(config)
    return senders


def create_service(
    engine: EngineSettings | None = None, settings: ReporterSettings | None = None
) -> ReporterService:
    engine = engine or EngineSettings()
    settings = settings or ReporterSettings()
    texts = load_texts(settings.lookup_url, settings.timezone)
    return ReporterService(
        ReporterClients(engine, settings),
        settings,
        load_policy(engine.policy_file),
        texts,
        build_senders(settings),
    )


def serve(metrics_port: int, say: Callable[[str], None], metrics_host: str = "127.0.0.1") -> None:
    service = create_service()
    channels = ", ".join(sorted(service.senders)) or "none (configure ADUAN_REPORTER_*)"
    say(f"aduan reporter: channels {channels}; following {service.topics.events}")
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, metrics_host, registry=service.registry)
        say(f"aduan reporter: metrics on http://{metrics_host}:{metrics_port}/metrics")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await service.run(stop)

    asyncio.run(main())
