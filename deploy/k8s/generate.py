"""Generate the Kubernetes resources that must follow a declaration kept elsewhere in the repo.

    python deploy/k8s/generate.py           # rewrite deploy/k8s/base/generated/*.yaml
    python deploy/k8s/generate.py --check   # exit 1 if a committed file is stale

- ``kafka-topics.yaml``: Strimzi ``KafkaTopic`` per topic of ``consumers/topics.py`` (3 replicas,
  ``min.insync.replicas`` 2, its retention and cleanup policy), plus faust's own topics (the case
  table's changelog and the assignor's leader topic), declared here so they get 3 replicas too.
- ``kafka-users.yaml``: Strimzi ``KafkaUser`` (SCRAM-SHA-512) per principal of
  ``deploy/kafka/acls.json``, with exactly its ACLs; the super user gets no ACLs.
- ``prometheus-rules.yaml``: ``PrometheusRule`` per rule file of ``deploy/prometheus/rules``.
- ``service-monitors.yaml``: ``ServiceMonitor`` per aduan scrape job of
  ``deploy/prometheus/prometheus.yml`` (same job name, path and interval).
- ``officers.yaml``: the notifier's officer directory as a ``ConfigMap``.

Partition counts are the base's (``consumers.topics.DEFAULT_PARTITIONS``); overlays patch the
topics labelled ``aduan.go.id/partitions: case`` together with ``ADUAN_TOPIC_PARTITIONS``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from consumers.topics import (  # noqa: E402
    DEFAULT_PARTITIONS,
    case_changelog_decl,
    leader_decl,
    topic_name,
    topic_specs,
)

OUT = Path(__file__).resolve().parent / "base" / "generated"
ACLS = ROOT / "deploy" / "kafka" / "acls.json"
RULES = ROOT / "deploy" / "prometheus" / "rules"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
OFFICERS = ROOT / "deploy" / "notifier" / "officers.yaml"

CLUSTER = "aduan"  # the Strimzi Kafka resource (base/kafka.yaml)
APP_ID = "aduan"  # EngineSettings.app_id: faust's group and internal topic prefix
PREFIX = ""  # one Kafka cluster per deployment: no topic prefix
REPLICAS = 3
MIN_INSYNC = 2
PART_OF = {"app.kubernetes.io/part-of": "aduan"}
CASE_PARTITIONED = {"aduan.go.id/partitions": "case"}
# Service port names in base/*.yaml, per component (a test checks that they exist).
METRICS_PORTS = {
    "worker": "web",
    "gateway": "http",
    "notifier": "metrics",
    "reporter": "metrics",
    "incidents": "metrics",
}

STRIMZI_OPS = {
    "READ": "Read",
    "WRITE": "Write",
    "CREATE": "Create",
    "DELETE": "Delete",
    "ALTER": "Alter",
    "DESCRIBE": "Describe",
    "DESCRIBE_CONFIGS": "DescribeConfigs",
    "ALTER_CONFIGS": "AlterConfigs",
    "IDEMPOTENT_WRITE": "IdempotentWrite",
    "CLUSTER_ACTION": "ClusterAction",
    "ALL": "All",
}
STRIMZI_RESOURCES = {
    "topic": "topic",
    "group": "group",
    "cluster": "cluster",
    "transactional_id": "transactionalId",
}


def metadata(name: str, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "labels": {**PART_OF, **(labels or {})}}


# -- topics ----------------------------------------------------------------------------------------


def kafka_topic(name: str, partitions: int, configs: Mapping[str, str], *, case: bool) -> Any:
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaTopic",
        "metadata": metadata(
            name, {"strimzi.io/cluster": CLUSTER, **(CASE_PARTITIONED if case else {})}
        ),
        "spec": {
            "topicName": name,
            "partitions": partitions,
            "replicas": REPLICAS,
            "config": {**configs, "min.insync.replicas": str(MIN_INSYNC)},
        },
    }


def kafka_topics() -> list[Any]:
    specs = topic_specs(PREFIX, DEFAULT_PARTITIONS, replication_factor=REPLICAS)
    # faust's own topics (consumers/topics.py engine_topics): declared here first, Strimzi
    # creates them with three replicas and faust finds them existing.
    specs += topic_specs(PREFIX, DEFAULT_PARTITIONS, None, REPLICAS, [case_changelog_decl(APP_ID)])
    docs = [kafka_topic(s.name, s.partitions, s.configs, case=True) for s in specs]
    [leader] = topic_specs(PREFIX, DEFAULT_PARTITIONS, None, REPLICAS, [leader_decl(APP_ID)])
    docs.append(kafka_topic(leader.name, leader.partitions, leader.configs, case=False))
    return docs


# -- users and ACLs --------------------------------------------------------------------------------


def acl_name(name: str, pattern: str) -> tuple[str, str]:
    """acls.json's placeholders -> (name, Strimzi patternType: ``literal`` or ``prefix``);
    a prefixed '{p}' without a topic prefix means every name: the literal ``*``."""
    prefix = f"{PREFIX}." if PREFIX else ""
    resolved = name.replace("{p}", prefix).replace("{app}", topic_name(APP_ID, PREFIX))
    if pattern == "prefixed" and resolved == "":
        return "*", "literal"
    return resolved, {"literal": "literal", "prefixed": "prefix"}[pattern]


def strimzi_acl(entry: Mapping[str, Any]) -> dict[str, Any]:
    kind = STRIMZI_RESOURCES[entry["resource"]]
    resource: dict[str, Any] = {"type": kind}
    if kind != "cluster":
        name, pattern = acl_name(entry["name"], entry.get("pattern", "literal"))
        resource |= {"name": name, "patternType": pattern}
    return {
        "resource": resource,
        "operations": [STRIMZI_OPS[op] for op in entry["ops"]],
        "host": "*",
    }


def kafka_user(name: str, acls: Iterable[Mapping[str, Any]] | None) -> Any:
    spec: dict[str, Any] = {"authentication": {"type": "scram-sha-512"}}
    if acls is not None:
        spec["authorization"] = {"type": "simple", "acls": [strimzi_acl(a) for a in acls]}
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaUser",
        "metadata": metadata(name, {"strimzi.io/cluster": CLUSTER}),
        "spec": spec,
    }


def kafka_users() -> list[Any]:
    declared = json.loads(ACLS.read_text(encoding="utf-8"))
    users = [kafka_user(name, acls) for name, acls in declared["principals"].items()]
    users.append(kafka_user(declared["super_user"], None))  # Kafka's superUsers: no ACLs needed
    return users


# -- Prometheus operator ---------------------------------------------------------------------------


def prometheus_rules() -> list[Any]:
    docs = []
    for path in sorted(RULES.glob("*.yml")):
        groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        docs.append(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": metadata(f"aduan-{path.stem}"),
                "spec": {"groups": groups},
            }
        )
    return docs


def service_monitors() -> list[Any]:
    config = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    interval = config.get("global", {}).get("scrape_interval", "30s")
    docs = []
    for job in config["scrape_configs"]:
        name = job["job_name"]
        if not name.startswith("aduan-"):
            continue
        component = name.removeprefix("aduan-")
        docs.append(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "ServiceMonitor",
                "metadata": metadata(name),
                "spec": {
                    # the job label: Services carry it, so the rules' job="aduan-..." match
                    "jobLabel": "aduan.go.id/job",
                    "selector": {"matchLabels": {"aduan.go.id/job": name}},
                    "endpoints": [
                        {
                            "port": METRICS_PORTS[component],
                            "path": job.get("metrics_path", "/metrics"),
                            "interval": job.get("scrape_interval", interval),
                        }
                    ],
                },
            }
        )
    return docs


def officers_configmap() -> list[Any]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata("aduan-officers"),
            "data": {"officers.yaml": OFFICERS.read_text(encoding="utf-8")},
        }
    ]


# -- files -----------------------------------------------------------------------------------------

FILES = {
    "kafka-topics.yaml": ("consumers/topics.py", kafka_topics),
    "kafka-users.yaml": ("deploy/kafka/acls.json", kafka_users),
    "prometheus-rules.yaml": ("deploy/prometheus/rules/*.yml", prometheus_rules),
    "service-monitors.yaml": ("deploy/prometheus/prometheus.yml", service_monitors),
    "officers.yaml": ("deploy/notifier/officers.yaml", officers_configmap),
}


def render(source: str, docs: list[Any]) -> str:
    header = (
        f"# GENERATED FILE, do not edit: python deploy/k8s/generate.py (from {source};\n"
        "# tests/unit/test_deploy_k8s.py fails when this file differs from what it generates).\n"
    )
    body = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=100)
    return header + body


def expected() -> dict[str, str]:
    return {name: render(source, build()) for name, (source, build) in FILES.items()}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, text in expected().items():
        path = OUT / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale: {', '.join(stale)}: run python deploy/k8s/generate.py", file=sys.stderr)
        return 1
    print("deploy/k8s/base/generated: " + ("up to date" if check else "written"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
