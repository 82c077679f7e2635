"""Gateway settings: each declared once with its type, default and environment variable.

Shares the ``ADUAN_`` environment prefix with the engine (``ADUAN_KAFKA_BOOTSTRAP`` and
``ADUAN_TOPIC_PREFIX`` mean the same broker and topics); gateway-only settings are named
``gateway_*`` (``ADUAN_GATEWAY_PORT`` ...). Precedence: defaults < environment < keyword arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from consumers.topics import topic_name


class GatewaySettings(BaseSettings):
    """Settings of one gateway process."""

    model_config = SettingsConfigDict(
        env_prefix="ADUAN_", extra="ignore", frozen=True, validate_default=True
    )

    kafka_bootstrap: Annotated[list[str], NoDecode] = Field(
        default=["127.0.0.1:9092"],
        description="Kafka bootstrap servers, host:port; comma-separated in the environment.",
    )
    topic_prefix: str = Field(default="", description="Common topic prefix (as the engine's).")
    policy_file: Path | None = Field(
        default=None, description="Policy YAML (agencies, calendars); None = packaged defaults."
    )
    gateway_host: str = Field(default="127.0.0.1", description="Address the gateway binds.")
    gateway_port: int = Field(default=8080, ge=0, le=65535, description="Gateway HTTP port.")
    gateway_security_file: Path | None = Field(
        default=None,
        description="YAML with hashed channel API keys, operator tokens and the WhatsApp "
        "secrets (see consumers.gateway.security). None = the well-known development "
        "credentials, for `make run` only.",
    )
    gateway_store_dir: Path = Field(
        default=Path("var/attachments"),
        description="Folder where uploaded attachments are kept (never sent to Kafka).",
    )
    gateway_max_json_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Largest JSON / form request body accepted."
    )
    gateway_max_upload_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="Largest multipart or raw e-mail request body accepted.",
    )
    gateway_rate_per_minute: float = Field(
        default=120, ge=0, description="Requests per minute per API key or token; 0 = no limit."
    )
    gateway_rate_burst: int = Field(default=30, ge=1, description="Rate limit bucket size.")
    gateway_smtp_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port of the SMTP intake listener (same host); None = no SMTP listener.",
    )
    gateway_smtp_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest e-mail the SMTP listener takes."
    )
    gateway_history_limit: int = Field(
        default=500, ge=1, description="Events of one case the read model keeps for history."
    )
    gateway_publish_timeout: float = Field(
        default=15.0, gt=0, description="Seconds to wait for the broker to acknowledge a write."
    )

    @field_validator("kafka_bootstrap", mode="before")
    @classmethod
    def _split_brokers(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def topic(self, name: str) -> str:
        """Broker-side name of a topic: ``cases.events`` -> ``<prefix>.cases.events``."""
        return topic_name(name, self.topic_prefix)
