"""The Kafka topics of aduan, declared once, and their provisioning (kafka-python admin client).

``python -m consumers.topics`` creates what is missing and reports drift: a topic that already
exists with another partition count, replication factor or declared config is listed (and
printed), never altered or silently accepted. Re-running changes nothing.

Settings (flags or environment): ADUAN_KAFKA_BOOTSTRAP (127.0.0.1:9092), ADUAN_TOPIC_PREFIX
(none; ``staging`` gives ``staging.complaints.intake``), ADUAN_TOPIC_PARTITIONS (6),
ADUAN_APP_ID (aduan: the engine's faust topics ``aduan-cases-changelog`` and
``aduan-__assignor-__leader`` are created too), ADUAN_TOPIC_RETENTION_MS (7 days; not applied
to the compacted topics; at most 7 days for the two topics that hold reporters' identities,
``complaints.intake`` and ``deadletter``), ADUAN_TOPIC_REPLICATION (1, the single local broker;
3 on a cluster, where each topic also declares ``min.insync.replicas=2``: an acknowledged write
survives the loss of one broker).
On a secured broker the client login comes from ADUAN_KAFKA_SECURITY_PROTOCOL and the other
``ADUAN_KAFKA_*`` settings of ``consumers.kafka_security``; only the super user (``admin``)
may create topics.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic

from consumers.kafka_security import KafkaSecurity, kafka_python_kwargs

INTAKE = "complaints.intake"
COMMANDS = "cases.commands"
EVENTS = "cases.events"
STATE = "cases.state"
RECEIPTS = "notifications.receipts"
DEADLETTER = "deadletter"
CONTACTS = "reporter.contacts"
REPORTER_RECEIPTS = "reporter.receipts"
REPORTER_INBOUND = "reporter.inbound"

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_PARTITIONS = 6
DEFAULT_REPLICATION = 1
DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000
IDENTITY_RETENTION_MS = 7 * 24 * 60 * 60 * 1000
"""Longest retention of the topics that hold reporters' identities (intake, deadletter),
whatever ADUAN_TOPIC_RETENTION_MS says: the engine reads intake within seconds, and a dead
letter is looked at (or replayed) within days, never kept as an archive."""
TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class TopicDecl:
    """One logical topic: its unprefixed name and whether it is compacted."""

    name: str
    compacted: bool = False
    doc: str = ""
    holds_identities: bool = False
    """Clear reporter identities: retention at most `IDENTITY_RETENTION_MS`."""
    partitions: int | None = None
    """A fixed partition count (faust's leader topic: 1); None = the deployment's."""
    extra_configs: tuple[tuple[str, str], ...] = ()


#: The declarative topic list (contract: names and the compaction of cases.state).
TOPICS: tuple[TopicDecl, ...] = (
    TopicDecl(
        INTAKE,
        doc="ComplaintSubmitted events from every channel, keyed by case id",
        holds_identities=True,
    ),
    TopicDecl(COMMANDS, doc="actor commands: verifier, agency, reporter, officer"),
    TopicDecl(EVENTS, doc="domain events: the audit trail"),
    TopicDecl(STATE, compacted=True, doc="latest case snapshot per case id"),
    TopicDecl(RECEIPTS, doc="delivery receipts of escalation notifications"),
    TopicDecl(
        DEADLETTER,
        doc="rejected input with a reason and the original bytes",
        holds_identities=True,
    ),
    TopicDecl(
        CONTACTS,
        compacted=True,
        doc="reporter contact per case id (engine writes at opening; tombstoned after the end)",
        holds_identities=True,
    ),
    TopicDecl(REPORTER_RECEIPTS, doc="receipts of messages to reporters (no addresses)"),
    TopicDecl(
        REPORTER_INBOUND,
        doc="reporters' replies (WhatsApp, SMS, email) from the gateway to the reporter service",
        holds_identities=True,
    ),
)


DEFAULT_APP_ID = "aduan"
#: Changelog records younger than this are never compacted away, so the relay (which reads the
#: changelog as a stream) sees every intermediate case change even when it lags behind.
CHANGELOG_MIN_COMPACTION_LAG_MS = 24 * 60 * 60 * 1000


def case_changelog_decl(app_id: str = DEFAULT_APP_ID) -> TopicDecl:
    """The case table's changelog (faust's name ``<app id>-cases-changelog``): co-partitioned
    with intake and commands."""
    return TopicDecl(
        f"{app_id}-cases-changelog",
        compacted=True,
        doc="case table changelog: snapshots and the events the relay publishes",
        extra_configs=(("min.compaction.lag.ms", str(CHANGELOG_MIN_COMPACTION_LAG_MS)),),
    )


def leader_decl(app_id: str = DEFAULT_APP_ID) -> TopicDecl:
    """faust's assignor leader topic, one partition."""
    return TopicDecl(f"{app_id}-__assignor-__leader", doc="faust leader election", partitions=1)


def engine_topics(app_id: str = DEFAULT_APP_ID) -> tuple[TopicDecl, ...]:
    """faust's internal topics of the engine worker. Created up front by ``aduan topics``: a
    worker that creates its changelog itself on a fresh broker can read its first message
    before the changelog is in its metadata (faust's PartitionsMismatch, 0 partitions)."""
    return (case_changelog_decl(app_id), leader_decl(app_id))


@dataclass(frozen=True)
class TopicSpec:
    """A topic as it must exist on the broker."""

    name: str
    partitions: int
    replication_factor: int
    configs: Mapping[str, str]


@dataclass
class ProvisionResult:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)

    @property
    def changed_nothing(self) -> bool:
        return not self.created


def topic_name(name: str, prefix: str = "") -> str:
    """The broker-side name: ``<prefix>.<name>``, or the name itself without a prefix."""
    prefix = prefix.strip().rstrip(".")
    return f"{prefix}.{name}" if prefix else name


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as Java's) gives ``key``: where a
    case's messages, table entry and events live."""
    from kafka.partitioner.default import murmur2

    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


def min_insync_replicas(replication_factor: int) -> int:
    """Replicas that must have a write before it is acknowledged (producers use acks=all):
    2 of 3 keeps writes going with one broker down and loses nothing acknowledged."""
    return max(1, min(2, replication_factor - 1))


def topic_specs(
    prefix: str = "",
    partitions: int = DEFAULT_PARTITIONS,
    retention_ms: int | None = DEFAULT_RETENTION_MS,
    replication_factor: int = DEFAULT_REPLICATION,
    topics: Iterable[TopicDecl] = TOPICS,
) -> list[TopicSpec]:
    """Turn the declarative list into broker-side specs (retention None = the broker's default)."""
    specs = []
    for decl in topics:
        configs = {"cleanup.policy": "compact" if decl.compacted else "delete"}
        configs.update(decl.extra_configs)
        if replication_factor > 1:
            configs["min.insync.replicas"] = str(min_insync_replicas(replication_factor))
        retention = retention_ms
        if decl.holds_identities:
            retention = min(retention or IDENTITY_RETENTION_MS, IDENTITY_RETENTION_MS)
        if retention is not None and not decl.compacted:
            configs["retention.ms"] = str(retention)
        specs.append(
            TopicSpec(
                topic_name(decl.name, prefix),
                decl.partitions or partitions,
                replication_factor,
                configs,
            )
        )
    return specs


def _existing_layout(admin: Any, names: Sequence[str]) -> dict[str, tuple[int, int]]:
    """name -> (partition count, replication factor) for the names that exist."""
    layout: dict[str, tuple[int, int]] = {}
    for desc in admin.describe_topics(list(names)):
        if desc.get("error_code", 0) != 0:
            continue
        parts = desc.get("partitions") or []
        rf = max((len(p.get("replica_nodes") or []) for p in parts), default=0)
        layout[desc["name"]] = (len(parts), rf)
    return layout


def _effective_configs(admin: Any, names: Sequence[str]) -> dict[str, dict[str, str]]:
    resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
    answer = admin.describe_configs(resources, config_filter="all")
    out: dict[str, dict[str, str]] = {}
    for name, entries in (answer.get("topic") or {}).items():
        out[name] = {k: str(v.get("value")) for k, v in entries.items()}
    return out


def drift_lines(
    specs: Sequence[TopicSpec],
    layout: Mapping[str, tuple[int, int]],
    configs: Mapping[str, Mapping[str, str]],
) -> list[str]:
    """Human-readable differences between the declared specs and what the broker has."""
    lines = []
    for spec in specs:
        if spec.name not in layout:
            continue
        partitions, rf = layout[spec.name]
        if partitions != spec.partitions:
            lines.append(f"{spec.name}: partitions {partitions}, declared {spec.partitions}")
        if rf != spec.replication_factor:
            lines.append(
                f"{spec.name}: replication factor {rf}, declared {spec.replication_factor}"
            )
        have = configs.get(spec.name, {})
        for key, want in sorted(spec.configs.items()):
            got = have.get(key)
            if got != want:
                lines.append(f"{spec.name}: {key}={got}, declared {want}")
    return lines


def admin_client(
    bootstrap: str, timeout_ms: int = 30_000, security: KafkaSecurity | None = None
) -> Any:
    """A kafka-python admin client; ``security`` None = the ``ADUAN_KAFKA_*`` environment."""
    return KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="aduan-topics",
        request_timeout_ms=timeout_ms,
        **kafka_python_kwargs(security if security is not None else KafkaSecurity()),
    )


def provision(
    bootstrap: str,
    specs: Sequence[TopicSpec] | None = None,
    *,
    admin: Any = None,
    security: KafkaSecurity | None = None,
) -> ProvisionResult:
    """Create the missing topics; report (never change) existing ones that differ.

    ``specs`` defaults to ``topic_specs()``. Pass an open ``admin`` client to reuse it;
    ``security`` (None = the ``ADUAN_KAFKA_*`` environment) is the new client's login.
    """
    specs = list(topic_specs() if specs is None else specs)
    own = admin is None
    client = admin_client(bootstrap, security=security) if own else admin
    try:
        result = ProvisionResult()
        existing = set(client.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            answer = client.create_topics(
                [
                    NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.configs)
                    for s in missing
                ],
                raise_errors=False,
                wait_for_metadata=True,
            )
            for topic in answer.get("topics", []):
                code = topic.get("error_code", 0)
                if code == 0:
                    result.created.append(topic["name"])
                elif code != TOPIC_ALREADY_EXISTS:  # a concurrent provisioner is fine
                    raise RuntimeError(
                        f"creating topic {topic['name']} failed: error {code} "
                        f"{topic.get('error_message') or ''}".rstrip()
                    )
        present = [s.name for s in specs if s.name not in result.created]
        if present:
            layout = _existing_layout(client, present)
            configs = _effective_configs(client, present)
            result.drift = drift_lines(specs, layout, configs)
            drifted = {line.split(":", 1)[0] for line in result.drift}
            result.unchanged = [n for n in present if n not in drifted]
        return result
    finally:
        if own:
            client.close()


def report(result: ProvisionResult, out: Any = None) -> None:
    out = out or sys.stdout
    for name in result.created:
        print(f"topics: created {name}", file=out)
    for name in result.unchanged:
        print(f"topics: ok      {name}", file=out)
    for line in result.drift:
        print(f"topics: DRIFT   {line} (left as is: fix by hand or recreate)", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m consumers.topics", description=__doc__)
    parser.add_argument("--bootstrap", default=env.get("ADUAN_KAFKA_BOOTSTRAP", DEFAULT_BOOTSTRAP))
    parser.add_argument("--prefix", default=env.get("ADUAN_TOPIC_PREFIX", ""))
    parser.add_argument(
        "--partitions", type=int, default=int(env.get("ADUAN_TOPIC_PARTITIONS", DEFAULT_PARTITIONS))
    )
    parser.add_argument(
        "--retention-ms",
        type=int,
        default=int(env.get("ADUAN_TOPIC_RETENTION_MS", DEFAULT_RETENTION_MS)),
    )
    parser.add_argument(
        "--app-id",
        default=env.get("ADUAN_APP_ID", DEFAULT_APP_ID),
        help="the engine's faust app id: names its changelog and leader topics",
    )
    parser.add_argument(
        "--replication",
        type=int,
        default=int(env.get("ADUAN_TOPIC_REPLICATION", DEFAULT_REPLICATION)),
        help="replicas per partition (3 on a cluster)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 2 when a topic has drifted")
    args = parser.parse_args(argv)
    declared = (*TOPICS, *engine_topics(args.app_id))
    specs = topic_specs(
        args.prefix, args.partitions, args.retention_ms, args.replication, topics=declared
    )
    result = provision(args.bootstrap, specs)
    report(result)
    print(
        f"topics: {len(result.created)} created, {len(result.unchanged)} unchanged, "
        f"{len(result.drift)} drift on {args.bootstrap}"
    )
    return 2 if result.drift and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
