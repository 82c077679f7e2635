"""What every command group shares: settings, one-line errors, Kafka clients."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class CliError(Exception):
    """An error to show as one line."""


def one_line(exc: ValidationError, root: str = "") -> str:
    """The first problem of a validation error (settings may be secrets: never their value)."""
    from workflow.validation import describe_validation_error

    return describe_validation_error(exc, root=root, first_only=True)


def load_settings(**overrides: Any) -> Any:
    """The engine settings (``ADUAN_*``, ``ADUAN_CONFIG``) with the options that were given."""
    from consumers.settings import EngineSettings

    try:
        return EngineSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise CliError(f"setting {one_line(exc)}") from None


def make_producer(settings: Any) -> Any:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    try:
        return KafkaProducer(
            **settings.kafka_python_client(),
            acks="all",
            max_block_ms=10_000,
            request_timeout_ms=10_000,
        )
    except KafkaError as exc:
        raise CliError(
            f"cannot reach Kafka at {','.join(settings.kafka_bootstrap)}: {exc}"
        ) from None


def make_reader(
    settings: Any, topic: str, partitions: list[int] | None = None
) -> tuple[Any, dict[Any, int]]:
    """A read_committed consumer assigned to ``topic`` from the beginning, and its end offsets."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(
            **settings.kafka_python_client(),
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            request_timeout_ms=15_000,
        )
    except KafkaError as exc:
        raise CliError(
            f"cannot reach Kafka at {','.join(settings.kafka_bootstrap)}: {exc}"
        ) from None
    known = consumer.partitions_for_topic(topic)
    if not known:
        consumer.close()
        raise CliError(f"topic {topic} does not exist (run 'aduan topics')")
    chosen = sorted(known) if partitions is None else partitions
    tps = [TopicPartition(topic, p) for p in chosen]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    return consumer, consumer.end_offsets(tps)
