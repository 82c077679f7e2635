"""The incident detector's own settings (``ADUAN_INCIDENTS_*``); Kafka and topics are the
engine's (`consumers.settings.EngineSettings`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["IncidentSettings"]


class IncidentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ADUAN_INCIDENTS_", extra="ignore", frozen=True)

    metrics_port: int = Field(
        default=6070, ge=0, le=65535, description="Port of the detector's /metrics (0: none)."
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Address /metrics listens on (0.0.0.0 in a container, for Prometheus).",
    )
