"""Settings: each one declared once, with its type, default and environment variable.

:class:`SharedSettings` holds what every aduan process must agree on (broker, topic prefix, policy);
:class:`EngineSettings` adds the engine worker's, and ``consumers.gateway.settings`` the gateway's.
Precedence, lowest first: the defaults below < a YAML config file (``ADUAN_CONFIG``, engine only)
< environment variables (``ADUAN_<NAME>``) < explicit keyword arguments (what tests and the CLI
pass). Nothing here connects to anything; :func:`consumers.engine.app.create_engine` reads these
values.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from consumers.kafka_security import (
    KafkaSecurity,
    aiokafka_kwargs,
    faust_settings,
    kafka_python_kwargs,
)
from consumers.topics import topic_name


class SharedSettings(BaseSettings):
    """What the engine, the gateway and the notifier must agree on: broker, topics, policy."""

    model_config = SettingsConfigDict(env_prefix="ADUAN_", frozen=True, validate_default=True)

    kafka_bootstrap: Annotated[list[str], NoDecode] = Field(
        default=["127.0.0.1:9092"],
        description="Kafka bootstrap servers, host:port; comma-separated in the environment.",
    )
    topic_prefix: str = Field(
        default="",
        description="Common topic prefix: 'masohi' gives 'masohi.cases.events' (and app id "
        "'masohi.aduan').",
    )
    policy_file: Path | None = Field(
        default=None, description="Policy YAML (SLA targets, agencies, routing); None = defaults."
    )
    kafka_security: KafkaSecurity = Field(
        default_factory=KafkaSecurity,
        description="TLS and SASL of every Kafka client of the process, from "
        "ADUAN_KAFKA_SECURITY_PROTOCOL, ADUAN_KAFKA_SASL_MECHANISM, ADUAN_KAFKA_SASL_USERNAME, "
        "ADUAN_KAFKA_SASL_PASSWORD and ADUAN_KAFKA_SSL_CAFILE (consumers.kafka_security); "
        "PLAINTEXT when unset. Each process logs in as its own principal.",
    )

    stop_grace: float = Field(
        default=8.0,
        gt=0,
        description="Seconds a stop request (SIGINT/SIGTERM) waits for a clean stop before the "
        "process exits by force (a clean stop can hang while the broker is unreachable).",
    )
    broker_summary_interval: float = Field(
        default=60.0,
        gt=0,
        description="While the broker is unreachable, one summary line per this many seconds.",
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

    # -- where every Kafka client of a process is built from: brokers plus security ----------

    def kafka_python_client(self) -> dict[str, Any]:
        """``bootstrap_servers`` and security for a kafka-python producer/consumer/admin."""
        return {
            "bootstrap_servers": self.kafka_bootstrap,
            **kafka_python_kwargs(self.kafka_security),
        }

    def aiokafka_client(self) -> dict[str, Any]:
        """``bootstrap_servers`` and security for an aiokafka producer/consumer."""
        return {"bootstrap_servers": self.kafka_bootstrap, **aiokafka_kwargs(self.kafka_security)}


class EngineSettings(SharedSettings):
    """Settings of one engine worker (and of the tools that talk to its topics)."""

    model_config = SettingsConfigDict(extra="forbid")

    topic_partitions: int = Field(default=6, ge=1, description="Partitions of every topic.")
    topic_replication: int = Field(
        default=1,
        ge=1,
        description="Replicas of every topic, faust's own included: 1 on the single local broker, "
        "3 on a cluster (with min.insync.replicas=2).",
    )
    app_id: str = Field(
        default="aduan",
        description="Faust app id: the consumer group and the prefix of its internal topics.",
    )
    store: str = Field(
        default="memory://",
        description="Case table store: 'memory://' (rebuilt from the changelog at start) or "
        "'rocksdb://' (rocksdict on disk under data_dir).",
    )
    data_dir: Path = Field(
        default=Path("var/worker"), description="Where the worker keeps its local table files."
    )
    web_host: str = Field(default="127.0.0.1", description="Address of the worker's HTTP port.")
    web_port: int = Field(
        default=6066, ge=0, le=65535, description="Worker HTTP port (/clock/, /stats/, /metrics)."
    )
    clock: Literal["system", "simulated"] = Field(
        default="system",
        description="'system' reads the wall clock; 'simulated' follows the clock control topic, "
        "so tests and demos move weeks forward in seconds.",
    )
    simulated_start: AwareDatetime | None = Field(
        default=None,
        description="Start instant of the simulated clock before any control message arrives; "
        "None = the wall clock at start.",
    )
    tick_interval: float = Field(
        default=0.2, gt=0, le=5, description="Seconds between SLA timer ticks."
    )
    relay_poll_ms: int = Field(
        default=20, ge=1, description="How long the event relay waits for changelog records."
    )
    relay_batch_max: int = Field(
        default=1000, ge=1, description="Changelog records per event-relay transaction at most."
    )
    max_message_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Larger intake messages are dead-lettered."
    )
    unknown_case_wait_seconds: float = Field(
        default=15 * 60,
        gt=0,
        description="How long (engine time) a command for a case that does not exist waits for "
        "the case's intake before it is dead-lettered as unknown_case.",
    )
    log_level: str = Field(default="info", description="Worker log level.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("ADUAN_CONFIG")
        if config_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)

    # -- derived names -------------------------------------------------------------------

    @property
    def full_app_id(self) -> str:
        return topic_name(self.app_id, self.topic_prefix)

    @property
    def broker_url(self) -> str:
        """Faust's broker URL form: ``kafka://h1:p1;h2:p2``."""
        return ";".join(f"kafka://{server}" for server in self.kafka_bootstrap)

    def faust_app(self) -> dict[str, Any]:
        """``broker`` and ``broker_credentials`` (with the TLS context) for ``faust.App``."""
        return {"broker": self.broker_url, **faust_settings(self.kafka_security)}

    @property
    def case_changelog_topic(self) -> str:
        """Faust names a table's changelog ``<app id>-<table>-changelog``."""
        return f"{self.full_app_id}-cases-changelog"

    @property
    def clock_topic(self) -> str:
        """Control topic of the simulated clock (one partition)."""
        return self.topic("control.clock")

    def initial_simulated_now(self, wall_now: datetime) -> datetime:
        return self.simulated_start if self.simulated_start is not None else wall_now
