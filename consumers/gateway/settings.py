"""Gateway settings: each declared once with its type, default and environment variable.

Shares the ``ADUAN_`` environment prefix with the engine (``ADUAN_KAFKA_BOOTSTRAP`` and
``ADUAN_TOPIC_PREFIX`` mean the same broker and topics, declared once in
:class:`consumers.settings.SharedSettings`); gateway-only settings are named
``gateway_*`` (``ADUAN_GATEWAY_PORT`` ...). Precedence: defaults < environment < keyword arguments.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from consumers.settings import SharedSettings


class GatewaySettings(SharedSettings):
    """Settings of one gateway process."""

    # Unknown ADUAN_* variables are the engine's or the notifier's, not an error here.
    model_config = SettingsConfigDict(extra="ignore")

    gateway_host: str = Field(default="127.0.0.1", description="Address the gateway binds.")
    gateway_port: int = Field(default=8080, ge=0, le=65535, description="Gateway HTTP port.")
    gateway_security_file: Path | None = Field(
        default=None,
        description="YAML with hashed channel API keys, operator tokens and the WhatsApp "
        "secrets (see consumers.gateway.security). Required unless gateway_dev_mode.",
    )
    gateway_tracking_secret: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Key of the tracking numbers (HMAC of channel and channel message id): "
        "keep it secret and never change it (the same message must find its case again). "
        "Required unless gateway_dev_mode (then a development value is used).",
    )
    gateway_twilio_auth_token: SecretStr | None = Field(
        default=None,
        description="Auth token of the Twilio(-compatible) SMS account: Twilio-style form posts "
        "to /v1/intake/sms must carry a valid X-Twilio-Signature; None = form posts refused "
        "(403), JSON posts only.",
    )
    gateway_public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/?#]+$",
        description="The gateway's external base URL (e.g. https://aduan.example.go.id) when it "
        "runs behind a proxy: the URL Twilio signed is rebuilt from it. None = the request's URL.",
    )
    gateway_dev_mode: bool = Field(
        default=False,
        description="Development mode (`aduan run` / `make run`): without a security file use "
        "the publicly known development credentials, and a development tracking secret. "
        "Never in production: anyone could act as an admin.",
    )
    gateway_public_listing: bool = Field(
        default=True,
        description="Publish the Open311 listing of verified, non-confidential cases (text "
        "redacted of personal data); false = only lookups by tracking number.",
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
    readmodel_url: str = Field(
        default="sqlite:///var/readmodel.sqlite",
        description="The read model's database (ADUAN_READMODEL_URL): a SQLAlchemy URL, "
        "sqlite:///path (embedded, the default) or postgresql://user:pass@host/db (psycopg 3); "
        "'memory' keeps cases in the gateway's memory, rebuilt from the topics at every start.",
    )
    readmodel_projection: bool = Field(
        default=True,
        description="Run the read-model projection inside the gateway (ADUAN_READMODEL_PROJECTION);"
        " false when it runs on its own (`aduan readmodel project`) and several gateways share "
        "the database.",
    )
    gateway_publish_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds to wait for the broker to acknowledge a write; then 503 with "
        "Retry-After (never a 2xx without the acknowledgement).",
    )


def tracking_secret(settings: GatewaySettings) -> bytes:
    """The key of the tracking numbers, as the gateway and ``aduan submit`` both derive them;
    the development value only in dev mode (SecurityFileError otherwise)."""
    from consumers.gateway.security import DEV_TRACKING_SECRET, SecurityFileError

    if settings.gateway_tracking_secret is not None:
        return settings.gateway_tracking_secret.get_secret_value().encode()
    if not settings.gateway_dev_mode:
        raise SecurityFileError(
            "no ADUAN_GATEWAY_TRACKING_SECRET: refusing to issue tracking numbers anyone can "
            "compute (set a long random secret, e.g. from `aduan keygen`, and keep it; or "
            "ADUAN_GATEWAY_DEV_MODE=true on a development machine)"
        )
    return DEV_TRACKING_SECRET
