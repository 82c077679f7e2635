"""The notifier's settings (environment ``ADUAN_NOTIFIER_<NAME>``) and the topic names it uses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from consumers.settings import EngineSettings

__all__ = ["NotifierSettings", "NotifierTopics"]


class NotifierSettings(BaseSettings):
    """Settings of the notifier (environment ``ADUAN_NOTIFIER_<NAME>``); the broker, topic prefix
    and policy come from the engine settings (``ADUAN_KAFKA_BOOTSTRAP``, ``ADUAN_TOPIC_PREFIX``,
    ``ADUAN_POLICY_FILE``)."""

    model_config = SettingsConfigDict(env_prefix="ADUAN_NOTIFIER_", extra="forbid", frozen=True)

    directory: Path = Field(
        default=Path("deploy/notifier/officers.yaml"), description="The officer directory."
    )
    group_id: str = Field(default="aduan-notifier", description="Consumer group on cases.events.")
    backoff_base: float = Field(
        default=0.5, gt=0, description="Delay before a failing target's first retry (seconds)."
    )
    backoff_cap: float = Field(
        default=300.0,
        gt=0,
        description="Longest delay between two retries of a failing target (seconds): a pending "
        "delivery is retried at least this often, for as long as it takes.",
    )
    failing_after_seconds: float = Field(
        default=180.0,
        gt=0,
        description="Age of the oldest pending delivery past which the Prometheus alert "
        "AduanNotificationsFailing fires (exported as aduan_notifications_failing_after_seconds; "
        "the rule reads it). 180 s: about eight failed attempts in a row, well inside a "
        "5-minute mail outage.",
    )
    reminder_min_interval_hours: float = Field(
        default=24.0,
        ge=0,
        description="Past the top level: at most one reminder per case and agency in this many "
        "hours (event time), however often the engine issues them.",
    )
    poll_ms: int = Field(default=200, ge=1, description="How long one fetch waits for events.")
    batch_max: int = Field(default=100, ge=1, description="Events per batch at most.")
    stats_file: Path | None = Field(
        default=None, description="If set, the counters are written here (JSON) after each batch."
    )


@dataclass(frozen=True)
class NotifierTopics:
    """The full names (with the engine's prefix) of the topics the notifier reads and writes."""

    events: str
    state: str
    receipts: str
    deadletter: str

    @classmethod
    def of(cls, engine: EngineSettings) -> NotifierTopics:
        return cls(
            events=engine.topic("cases.events"),
            state=engine.topic("cases.state"),
            receipts=engine.topic("notifications.receipts"),
            deadletter=engine.topic("deadletter"),
        )
