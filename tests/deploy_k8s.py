"""Shared by the deploy/k8s tests: render an overlay with real kustomize, load the generator."""

from __future__ import annotations

import functools
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("regency", "province", "national")


def kustomize_command() -> list[str]:
    """``kubectl kustomize`` (kustomize built into kubectl), else ``kustomize build``."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    pytest.fail(
        "neither kubectl nor kustomize found: install kubectl "
        "(https://kubernetes.io/docs/tasks/tools/) or "
        "`go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0`",
        pytrace=False,
    )


@functools.cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    """Every resource of ``deploy/k8s/overlays/<overlay>`` (or ``base``), as kustomize builds it."""
    path = K8S / "base" if overlay == "base" else K8S / "overlays" / overlay
    run = subprocess.run(
        [*kustomize_command(), str(path)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    return tuple(doc for doc in yaml.safe_load_all(run.stdout) if doc)


def of_kind(docs: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("aduan_k8s_generate", K8S / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
