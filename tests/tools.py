"""External tools the suite needs (promtool, prometheus, amtool, dot, docker-compose, chromium).

Missing means failed.

They are never skipped: a missing tool fails the test with the one command that installs it
(``make tools``, which apt-installs the Debian packages when run as root or with sudo).
"""

from __future__ import annotations

import shutil

import pytest

# Tool -> the Debian package that provides it (the Makefile's `tools` target installs them).
PACKAGES = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
    "dot": "graphviz",
    "docker-compose": "docker-compose",
    "chromium": "chromium",
}


def require_tool(name: str) -> str:
    """The path of ``name`` on PATH, or the test fails naming the command that installs it."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} not found: run `make tools` (apt-get install {PACKAGES[name]})", pytrace=False
        )
    return found
