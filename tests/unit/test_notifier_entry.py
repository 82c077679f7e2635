"""``python -m consumers.notifier`` and ``aduan notifier`` are one runner (`runner.serve`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consumers.cli import app
from consumers.notifier.__main__ import main

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "deploy/notifier/officers.yaml"


def test_both_entries_check_the_directory_with_the_same_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--directory", str(SAMPLE), "--check"]) == 0
    own = capsys.readouterr().out
    cli = CliRunner().invoke(app, ["notifier", "--directory", str(SAMPLE), "--check"])
    assert cli.exit_code == 0
    assert own == cli.output
    assert own.splitlines()[-1] == "aduan notifier: directory ok"


def test_a_missing_directory_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--directory", str(tmp_path / "none.yaml"), "--check"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "cannot read the officer directory" in err[0]


def test_the_module_entry_does_not_load_the_cli() -> None:
    code = "import sys, consumers.notifier.__main__; print('consumers.cli' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
