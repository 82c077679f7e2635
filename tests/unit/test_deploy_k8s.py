"""deploy/k8s: generated files current, overlays build with kustomize, core kinds valid against
Kubernetes' own schemas (kubernetes-validate, strict), and the wiring between resources right.

The custom resources (Strimzi, Prometheus operator) are validated against their own schemas in
test_deploy_k8s_crds.py.
"""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest

from consumers.gateway.settings import GatewaySettings
from consumers.incidents.settings import IncidentSettings
from consumers.notifier.settings import NotifierSettings
from consumers.reporter.settings import ReporterSettings
from consumers.settings import EngineSettings
from consumers.topics import DEADLETTER, EVENTS, INTAKE, RECEIPTS, TOPICS, topic_specs
from tests.deploy_k8s import OVERLAYS, ROOT, generator, named, of_kind, rendered

K8S_VERSION = "1.32.0"
CORE_KINDS = {
    "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PersistentVolumeClaim",
    "PodDisruptionBudget", "Service", "StatefulSet",
}  # fmt: skip
# consumers/kafka_security.py (issue 13): the client side of the SCRAM users.
KAFKA_SECURITY_ENV = {
    "ADUAN_KAFKA_SECURITY_PROTOCOL", "ADUAN_KAFKA_SASL_MECHANISM", "ADUAN_KAFKA_SASL_USERNAME",
    "ADUAN_KAFKA_SASL_PASSWORD", "ADUAN_KAFKA_SSL_CAFILE",
}  # fmt: skip
CLI_ENV = {
    "ADUAN_NOTIFIER_METRICS_PORT", "ADUAN_NOTIFIER_METRICS_HOST",
    "ADUAN_REPORTER_METRICS_PORT", "ADUAN_REPORTER_METRICS_HOST",
}  # fmt: skip
ALL = ("base", *OVERLAYS)


def test_generated_files_are_current() -> None:
    assert generator().main(["--check"]) == 0, "run: python deploy/k8s/generate.py"


@pytest.mark.parametrize("overlay", ALL)
def test_core_kinds_are_valid_kubernetes(overlay: str) -> None:
    docs = rendered(overlay)
    core = [d for d in docs if d["kind"] in CORE_KINDS]
    assert {d["kind"] for d in core} == CORE_KINDS
    for doc in core:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_validator_rejects_an_unknown_field() -> None:
    service = dict(named(rendered("base"), "Service", "aduan-gateway"))
    service["spec"] = {**service["spec"], "selectr": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(service, K8S_VERSION, strict=True)


# -- topics ----------------------------------------------------------------------------------------


def config_map(docs: tuple[dict[str, Any], ...]) -> dict[str, str]:
    data: dict[str, str] = named(docs, "ConfigMap", "aduan-config")["data"]
    return data


@pytest.mark.parametrize("overlay", ALL)
def test_case_topics_have_the_partitions_the_workers_are_told(overlay: str) -> None:
    docs = rendered(overlay)
    partitions = int(config_map(docs)["ADUAN_TOPIC_PARTITIONS"])
    case_topics = [
        t for t in of_kind(docs, "KafkaTopic")
        if t["metadata"]["labels"].get("aduan.go.id/partitions") == "case"
    ]  # fmt: skip
    assert len(case_topics) == len(TOPICS) + 1  # + the case table's changelog
    assert {t["spec"]["partitions"] for t in case_topics} == {partitions}


def test_every_declared_topic_is_a_replicated_kafka_topic() -> None:
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(rendered("base"), "KafkaTopic")}
    for spec in topic_specs(replication_factor=3):
        assert spec.name in topics, spec.name
        declared = topics[spec.name]
        assert declared["replicas"] == 3
        assert declared["config"]["min.insync.replicas"] == "2"
        assert {k: declared["config"][k] for k in spec.configs} == dict(spec.configs)
    changelog = topics[EngineSettings(topic_prefix="").case_changelog_topic]
    assert changelog["config"]["cleanup.policy"] == "compact"
    assert topics[INTAKE]["config"]["retention.ms"] == str(7 * 24 * 3600 * 1000)


# -- users and ACLs --------------------------------------------------------------------------------


def allowed(user: dict[str, Any], operation: str, topic: str) -> bool:
    for acl in user["spec"].get("authorization", {}).get("acls", []):
        resource = acl["resource"]
        if resource["type"] != "topic" or operation not in acl["operations"]:
            continue
        name = resource["name"]
        if resource["patternType"] == "prefix" and topic.startswith(name):
            return True
        if resource["patternType"] == "literal" and name in (topic, "*"):
            return True
    return False


def users() -> dict[str, dict[str, Any]]:
    return {u["metadata"]["name"]: u for u in of_kind(rendered("base"), "KafkaUser")}


def test_users_authenticate_with_scram_and_have_the_issue_13_acls() -> None:
    everyone = users()
    principals = {"gateway", "engine", "notifier", "reporter", "incidents", "operator", "admin"}
    assert set(everyone) == principals
    assert {u["spec"]["authentication"]["type"] for u in everyone.values()} == {"scram-sha-512"}
    assert "authorization" not in everyone["admin"]["spec"]  # a super user of the Kafka resource
    kafka = named(rendered("base"), "Kafka", "aduan")
    assert kafka["spec"]["kafka"]["authorization"]["superUsers"] == ["admin"]
    can = {name: u for name, u in everyone.items() if name != "admin"}
    assert allowed(can["gateway"], "Write", INTAKE)
    assert allowed(can["gateway"], "Write", "cases.commands")
    for topic in (INTAKE, "cases.commands"):
        assert allowed(can["engine"], "Read", topic)
    for topic in (EVENTS, "cases.state", DEADLETTER, "aduan-cases-changelog"):
        assert allowed(can["engine"], "Write", topic)
    assert allowed(can["notifier"], "Read", EVENTS)
    assert allowed(can["notifier"], "Read", RECEIPTS)
    assert allowed(can["notifier"], "Write", RECEIPTS)
    assert allowed(can["incidents"], "Read", EVENTS)
    assert allowed(can["incidents"], "Write", "cases.commands")
    assert not allowed(can["incidents"], "Read", INTAKE)
    for topic in [t.name for t in TOPICS]:
        assert allowed(can["operator"], "Read", topic)


def test_only_engine_and_operator_read_the_topics_with_identities() -> None:
    for topic in (t.name for t in TOPICS if t.holds_identities):
        readers = {name for name, u in users().items() if allowed(u, "Read", topic)}
        assert "operator" in readers, topic
        # contacts: the reporter-messaging service; intake and deadletter: the engine
        assert readers <= {"engine", "operator", "reporter"}, topic
        assert not {"engine", "reporter"} <= readers, topic
    assert allowed(users()["engine"], "Read", INTAKE)


# -- workloads -------------------------------------------------------------------------------------


def containers(overlay: str = "base") -> dict[str, dict[str, Any]]:
    docs = rendered(overlay)
    workloads = of_kind(docs, "Deployment") + of_kind(docs, "StatefulSet")
    return {
        w["metadata"]["name"]: w["spec"]["template"]["spec"]["containers"][0] for w in workloads
    }


def env_names(container: dict[str, Any]) -> set[str]:
    return {e["name"] for e in container.get("env", [])}


def test_every_aduan_variable_is_one_the_processes_read() -> None:
    known = {
        f"ADUAN_{n.upper()}" for c in (EngineSettings, GatewaySettings) for n in c.model_fields
    }
    known |= {f"ADUAN_NOTIFIER_{n.upper()}" for n in NotifierSettings.model_fields}
    known |= {f"ADUAN_REPORTER_{n.upper()}" for n in ReporterSettings.model_fields}
    known |= {f"ADUAN_INCIDENTS_{n.upper()}" for n in IncidentSettings.model_fields}
    known |= KAFKA_SECURITY_ENV | CLI_ENV
    names = set(config_map(rendered("base"))) | {
        n for c in containers().values() for n in env_names(c)
    }
    assert {n for n in names if n.startswith("ADUAN_")} - known == set()


def test_the_gateway_runs_with_its_production_credentials() -> None:
    gateway = containers()["aduan-gateway"]
    env = {e["name"]: e for e in gateway["env"]}
    assert "ADUAN_GATEWAY_DEV_MODE" not in env
    assert env["ADUAN_GATEWAY_TRACKING_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == (
        "aduan-gateway"
    )
    mounted = {m["mountPath"] for m in gateway["volumeMounts"]}
    assert env["ADUAN_GATEWAY_SECURITY_FILE"]["value"].rsplit("/", 1)[0] in mounted


def test_each_process_uses_its_own_kafka_user() -> None:
    expected = {
        "aduan-worker": "engine",
        "aduan-gateway": "gateway",
        "aduan-notifier": "notifier",
        "aduan-reporter": "reporter",
        "aduan-incidents": "incidents",
    }
    for name, container in containers().items():
        env = {e["name"]: e for e in container["env"]}
        user = env["ADUAN_KAFKA_SASL_USERNAME"]["value"]
        assert user == expected[name]
        assert env["ADUAN_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == user
        assert user in users()  # Strimzi writes the Secret named after the KafkaUser


def test_the_worker_is_a_stateful_set_with_its_rocksdb_volume() -> None:
    worker = named(rendered("base"), "StatefulSet", "aduan-worker")
    container = worker["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ADUAN_STORE"] == "rocksdb://"
    claim = worker["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["ADUAN_DATA_DIR"].startswith(mounts[claim] + "/")


def route_exists(component: str, path: str) -> bool:
    """Is ``path`` really served by ``component``? (read from the code that registers it)"""
    if component == "gateway":
        from consumers.gateway.routes.health import health

        return path in {getattr(route, "path", None) for route in health.routes}
    if component == "worker":
        views = (ROOT / "consumers" / "engine" / "views.py").read_text()
        return f'app.page("{path}")' in views
    return False


def test_probes_ask_the_processes_real_endpoints() -> None:
    for name, container in containers().items():
        component = name.removeprefix("aduan-")
        ports = {p["name"] for p in container["ports"]}
        for kind in ("livenessProbe", "readinessProbe"):
            probe = container[kind]
            if "httpGet" in probe:
                assert probe["httpGet"]["port"] in ports, (name, kind)
                assert route_exists(component, probe["httpGet"]["path"]), (name, kind)
            else:
                assert probe["exec"]["command"] == [
                    "python", "/opt/aduan/healthcheck.py", component,
                ]  # fmt: skip


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("overlay", ALL)
def test_budgets_services_and_autoscaler_reach_the_pods(overlay: str) -> None:
    docs = rendered(overlay)
    workloads = of_kind(docs, "Deployment") + of_kind(docs, "StatefulSet")
    pod_labels = {
        w["metadata"]["name"]: w["spec"]["template"]["metadata"]["labels"] for w in workloads
    }
    for budget in of_kind(docs, "PodDisruptionBudget"):
        wanted = budget["spec"]["selector"]["matchLabels"]
        matched = [n for n, lab in pod_labels.items() if selects(wanted, lab)]
        assert matched == [budget["metadata"]["name"]]
    assert {b["metadata"]["name"] for b in of_kind(docs, "PodDisruptionBudget")} == set(pod_labels)
    for service in of_kind(docs, "Service"):
        matched = [n for n, lab in pod_labels.items() if selects(service["spec"]["selector"], lab)]
        assert matched == [service["metadata"]["name"]]
    hpa = named(docs, "HorizontalPodAutoscaler", "aduan-gateway")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": "aduan-gateway",
    }  # fmt: skip
    namespaces = {d["metadata"].get("namespace") for d in docs}
    assert len(namespaces) == 1
    assert (None in namespaces) == (overlay == "base")


def test_service_monitors_scrape_the_jobs_the_rules_name() -> None:
    docs = rendered("base")
    rules_text = "".join(
        p.read_text() for p in (ROOT / "deploy" / "prometheus" / "rules").glob("*.yml")
    )
    jobs_in_rules = set(re.findall(r'job="(aduan-[a-z]+)"', rules_text))
    monitors = of_kind(docs, "ServiceMonitor")
    assert {m["metadata"]["name"] for m in monitors} >= jobs_in_rules
    for monitor in monitors:
        spec = monitor["spec"]
        targets = [
            s for s in of_kind(docs, "Service")
            if selects(spec["selector"]["matchLabels"], s["metadata"]["labels"])
        ]  # fmt: skip
        assert len(targets) == 1, monitor["metadata"]["name"]
        service = targets[0]
        assert service["metadata"]["labels"][spec["jobLabel"]] == monitor["metadata"]["name"]
        assert spec["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
