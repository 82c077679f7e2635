"""External tools (promtool, prometheus, amtool, dot) are never skipped: missing means failed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.tools import PACKAGES, require_tool

TESTS = Path(__file__).resolve().parents[1]


def test_a_missing_tool_fails_with_the_command_that_installs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(pytest.fail.Exception, match=r"run `make tools` \(apt-get install graphviz"):
        require_tool("dot")


def test_no_test_skips_when_a_tool_is_missing() -> None:
    tools = "|".join(map(re.escape, PACKAGES))
    skipping = re.compile(rf"(skipif|skip\(|importorskip)[^\n]*({tools})", re.IGNORECASE)
    found = [
        f"{path.relative_to(TESTS)}: {m[0]}"
        for path in TESTS.rglob("*.py")
        for m in skipping.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
