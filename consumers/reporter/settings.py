"""The reporter-messaging service's settings (environment ``ADUAN_REPORTER_<NAME>``).

A channel is on when its provider is configured: WhatsApp with ``whatsapp_base_url`` +
``whatsapp_phone_number_id`` + ``whatsapp_token``, SMS with ``sms_base_url`` +
``sms_account_sid`` + ``sms_auth_token`` + ``sms_from``, email with ``smtp_host``.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from consumers.reporter.delivery import RetryPolicy
from consumers.reporter.retrier import RetrySchedule

__all__ = ["ReporterSettings"]


class ReporterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ADUAN_REPORTER_", extra="forbid", frozen=True)

    group_id: str = Field(default="aduan-reporter", description="Consumer group on cases.events.")
    lookup_url: str = Field(
        default="https://aduan.example.go.id/v1/cases/",
        description="Public lookup; the tracking number is appended.",
    )
    timezone: str = Field(default="Asia/Jayapura", description="Zone of dates in messages.")
    whatsapp_base_url: str | None = Field(
        default=None, description="e.g. https://graph.facebook.com"
    )
    whatsapp_version: str = Field(default="v21.0", description="Graph API version.")
    whatsapp_phone_number_id: str | None = None
    whatsapp_token: SecretStr | None = None
    sms_base_url: str | None = Field(default=None, description="e.g. https://api.twilio.com")
    sms_account_sid: str | None = None
    sms_auth_token: SecretStr | None = None
    sms_from: str | None = Field(default=None, description="Sender number or alphanumeric id.")
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "aduan@example.go.id"
    smtp_reply_to: str | None = Field(
        default=None, description="The gateway's inbound address: replies come back as replies."
    )
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    max_attempts: int = Field(default=3, ge=1, description="In-line attempts before pending.")
    backoff_base: float = Field(default=0.5, gt=0)
    backoff_cap: float = Field(default=8.0, gt=0)
    give_up_after: float = Field(
        default=5.0, gt=0, description="Seconds of in-line attempts before the message is pending."
    )
    retry_cap_seconds: float = Field(
        default=60.0, gt=0, description="Longest wait between two retries of a pending message."
    )
    retry_for_hours: float = Field(
        default=72.0, gt=0, description="A pending message still failing after this is failed."
    )
    per_recipient_per_hour: int = Field(
        default=10, ge=1, description="At most this many messages to one address in an hour."
    )
    per_recipient_gap_seconds: float = Field(
        default=1.0, ge=0, description="At least this long between two messages to one address."
    )
    contact_keep_days: float = Field(
        default=30.0, ge=0, description="Days after a case ends before its contact is tombstoned."
    )
    contact_wait_seconds: float = Field(
        default=5.0, ge=0, description="How long a message waits for its case's contact record."
    )
    poll_ms: int = Field(default=200, ge=1)
    batch_max: int = Field(default=100, ge=1)

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base=self.backoff_base,
            cap=self.backoff_cap,
            give_up_after=self.give_up_after,
        )

    @property
    def schedule(self) -> RetrySchedule:
        return RetrySchedule(
            self.backoff_base, self.retry_cap_seconds, timedelta(hours=self.retry_for_hours)
        )
