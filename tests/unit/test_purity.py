"""The core (workflow/, states/) imports no Kafka, metrics, HTTP or SMTP code."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("workflow", "states")
FORBIDDEN = {
    "faust",
    "mode",
    "kafka",
    "aiokafka",
    "confluent_kafka",
    "prometheus_client",
    "http",
    "urllib",
    "urllib3",
    "requests",
    "httpx",
    "aiohttp",
    "smtplib",
    "aiosmtplib",
    "consumers",
}
"""Top-level packages the core's own source must not import (``http``/``urllib`` included)."""
FORBIDDEN_AT_RUNTIME = (FORBIDDEN - {"http", "urllib"}) | {
    "http.client",
    "http.server",
    "urllib.request",
    "email.mime",
}
"""Modules that must not be loaded, even indirectly (``urllib.parse`` is harmless: pydantic
and the email validator use it for parsing only)."""


def modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            roots.add("<dynamic import>")
    return roots


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_forbidden_import_in_source(path: Path) -> None:
    bad = imported_roots(path) & (FORBIDDEN | {"<dynamic import>"})
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_no_forbidden_module_loaded_at_runtime() -> None:
    names = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in modules()
        if p.name != "__main__.py"
    ]
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "from workflow.core import Workflow\n"
        "from workflow.policy import load_policy\n"
        "Workflow(load_policy())\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout))
    roots = {m.split(".")[0] for m in loaded}
    bad = (roots | loaded) & FORBIDDEN_AT_RUNTIME
    assert not bad, sorted(bad)
