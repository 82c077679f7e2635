"""The custom resources of deploy/k8s against the operators' own CRD schemas, offline after the
first run (cached under var/k8s-crds/).

- Strimzi: its Maven Central artifacts ``io.strimzi:api`` (the model classes) and
  ``io.strimzi:crd-generator`` (the tool Strimzi's build writes its CRD YAMLs with) are fetched by
  Maven (deploy/k8s/crds/pom.xml) and the generator is run on them: the same CRDs as Strimzi's
  release. The jars contain no CRD YAML themselves.
- Prometheus operator: its Go module from the Go module proxy (``go mod download``), which carries
  the CRDs it releases (example/prometheus-operator-crd/).

Validation is strict, like ``kubectl apply --validate=strict``: an unknown field is an error.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy_k8s import OVERLAYS, ROOT, named, rendered

CACHE = ROOT / "var" / "k8s-crds"
POM = ROOT / "deploy" / "k8s" / "crds" / "pom.xml"
STRIMZI_VERSION = re.search(r"<strimzi.version>([^<]+)<", POM.read_text())[1]  # type: ignore[index]
PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator"
PROMETHEUS_OPERATOR_VERSION = "v0.80.1"
STRIMZI_KINDS = {
    "Kafka": "io.strimzi.api.kafka.model.kafka.Kafka",
    "KafkaNodePool": "io.strimzi.api.kafka.model.nodepool.KafkaNodePool",
    "KafkaTopic": "io.strimzi.api.kafka.model.topic.KafkaTopic",
    "KafkaUser": "io.strimzi.api.kafka.model.user.KafkaUser",
}
PROMETHEUS_KINDS = {"PrometheusRule": "prometheusrules", "ServiceMonitor": "servicemonitors"}


def need(tool: str, why: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} not found: {why}", pytrace=False)
    return found


def run(argv: list[str], **kwargs: Any) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    assert done.returncode == 0, f"{argv[0]}: {done.stdout[-2000:]}{done.stderr[-2000:]}"


def strimzi_crds() -> Path:
    """Strimzi's CRD YAMLs for STRIMZI_VERSION, generated once into the cache."""
    out = CACHE / f"strimzi-{STRIMZI_VERSION}"
    if all((out / f"{kind}.yaml").exists() for kind in STRIMZI_KINDS):
        return out
    mvn = need("mvn", "Maven 3 fetches Strimzi's api and crd-generator jars (README Requirements)")
    java = need("java", "Java 17 runs Strimzi's crd-generator (README Requirements)")
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        lib = Path(work) / "lib"
        run([mvn, "-q", "-f", str(POM), "dependency:copy-dependencies", f"-Dcrds.lib.dir={lib}"])
        staged = Path(work) / "crds"
        staged.mkdir()
        outputs = [f"{cls}={staged / kind}.yaml" for kind, cls in STRIMZI_KINDS.items()]
        run(
            [java, "-cp", f"{lib}/*", "io.strimzi.crdgenerator.CrdGenerator",
             "--target-kube", "1.16+", "--crd-api-version", "v1",
             "--api-versions", "v1beta2", "--storage-version", "v1beta2", "--yaml", *outputs]
        )  # fmt: skip
        if not out.exists():  # another test process may have won the race: same content
            staged.rename(out)
    return out


def prometheus_operator_crds() -> Path:
    """The CRDs in the Prometheus operator's Go module, downloaded once into the cache."""
    go = need("go", "the Go toolchain fetches the Prometheus operator module (its CRDs)")
    env = {**os.environ, "GOMODCACHE": str(CACHE / "gomod"), "GOFLAGS": "-modcacherw"}
    module = f"{PROMETHEUS_OPERATOR}@{PROMETHEUS_OPERATOR_VERSION}"
    done = subprocess.run(
        [go, "mod", "download", "-json", module],
        capture_output=True, text=True, check=False, env=env, cwd=CACHE.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return Path(json.loads(done.stdout)["Dir"]) / "example" / "prometheus-operator-crd"


SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf")


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI v3 structural schema as JSON Schema that also refuses unknown fields."""
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {name: strict(sub) for name, sub in out["properties"].items()}
        if "additionalProperties" not in out and not out.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            out["additionalProperties"] = False
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = strict(out["additionalProperties"])
    if isinstance(out.get("items"), dict):
        out["items"] = strict(out["items"])
    for key in SUBSCHEMA_LISTS:
        if key in out:
            out[key] = [strict(sub) for sub in out[key]]
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def crd_schema(path: Path, version: str) -> dict[str, Any]:
    crd = yaml.safe_load(path.read_text())
    for served in crd["spec"]["versions"]:
        if served["name"] == version:
            schema: dict[str, Any] = strict(served["schema"]["openAPIV3Schema"])
            # metadata is validated by the API server itself (and by kubernetes-validate)
            schema["properties"]["metadata"] = {"type": "object"}
            return schema
    raise AssertionError(f"{path.name}: no version {version}")


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, Any]]:
    strimzi = strimzi_crds()
    found = {kind: crd_schema(strimzi / f"{kind}.yaml", "v1beta2") for kind in STRIMZI_KINDS}
    operator = prometheus_operator_crds()
    for kind, plural in PROMETHEUS_KINDS.items():
        found[kind] = crd_schema(operator / f"monitoring.coreos.com_{plural}.yaml", "v1")
    return found


def check(schema: dict[str, Any], doc: dict[str, Any]) -> None:
    # no check_schema: a Go regex in the operator's CRD ('^(?i)(...)') is not Python's syntax;
    # it only matters for a field we do not set
    jsonschema.Draft7Validator(schema).validate(doc)


@pytest.mark.parametrize("overlay", ["base", *OVERLAYS])
def test_custom_resources_match_the_operators_schemas(
    overlay: str, schemas: dict[str, dict[str, Any]]
) -> None:
    docs = [d for d in rendered(overlay) if d["kind"] in schemas]
    assert {d["kind"] for d in docs} == set(schemas)
    for doc in docs:
        try:
            check(schemas[doc["kind"]], doc)
        except jsonschema.ValidationError as exc:
            where = "/".join(map(str, exc.absolute_path))
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} at {where}: {exc.message}")


def test_the_schemas_refuse_mistakes(schemas: dict[str, dict[str, Any]]) -> None:
    docs = rendered("base")
    topic = copy.deepcopy(named(docs, "KafkaTopic", "cases.events"))
    topic["spec"]["replica"] = 3  # a typo
    with pytest.raises(jsonschema.ValidationError, match="replica"):
        check(schemas["KafkaTopic"], topic)
    user = copy.deepcopy(named(docs, "KafkaUser", "gateway"))
    user["spec"]["authentication"]["type"] = "scram-sha-1"
    with pytest.raises(jsonschema.ValidationError):
        check(schemas["KafkaUser"], user)
    rule = copy.deepcopy(named(docs, "PrometheusRule", "aduan-alerts"))
    del rule["spec"]["groups"][0]["rules"][0]["expr"]
    with pytest.raises(jsonschema.ValidationError, match="expr"):
        check(schemas["PrometheusRule"], rule)
