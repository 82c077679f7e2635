"""The AsyncAPI CLI validates docs/asyncapi.yaml, and refuses a broken document.

It runs the CLI that `npm ci` installs (`make install`, `.ci/run`): without it the test fails,
never skips.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from consumers import asyncapi

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "node_modules" / ".bin" / "asyncapi"


def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(asyncapi.DOCUMENT_PATH.read_text(encoding="utf-8"))
    return loaded


def _validate(path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    if not CLI.exists():
        pytest.fail("the AsyncAPI CLI is missing: run `npm ci` (make install)", pytrace=False)
    # No analytics: CI=true and a config that says so (the CLI would otherwise write to $HOME).
    settings = tmp_path / "asyncapi-analytics.json"
    settings.write_text(json.dumps({"analyticsEnabled": "false", "infoMessageShown": "true"}))
    env = {
        **os.environ,
        "CI": "true",
        "ASYNCAPI_METRICS_CONFIG_PATH": str(settings),
        "SUPPRESS_NO_CONFIG_WARNING": "1",
    }
    return subprocess.run(
        [str(CLI), "validate", str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_asyncapi_cli_validates_the_document_and_refuses_a_broken_one(tmp_path: Path) -> None:
    good = _validate(asyncapi.DOCUMENT_PATH, tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "is valid" in good.stdout + good.stderr
    broken = _document()
    broken["operations"]["sendCasesEvents"]["action"] = "publish"  # AsyncAPI 2 wording
    bad_path = tmp_path / "broken.yaml"
    bad_path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    bad = _validate(bad_path, tmp_path)
    assert bad.returncode != 0
    assert "sendCasesEvents" in bad.stdout + bad.stderr
