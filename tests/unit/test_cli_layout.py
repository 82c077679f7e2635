"""The CLI package assembles every group's commands, listed in the order operators know."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from consumers.cli import app

REPO = Path(__file__).resolve().parents[2]


def _listed(root: typer.Typer) -> list[str]:
    group = typer.main.get_group(root)
    return group.list_commands(typer.Context(group))


def test_every_group_is_registered_in_the_familiar_help_order() -> None:
    assert _listed(app) == [
        "worker",
        "topics",
        "diagram",
        "submit",
        "replay",
        "gateway",
        "notifier",
        "reporter",
        "incidents",
        "smtp-sink",
        "run",
        "demo",
        "keygen",
        "asyncapi",
        "whatif",
        "clock",
        "schema",
        "case",
        "events",
        "deadletter",
        "readmodel",
    ]


def test_sub_groups_keep_their_commands() -> None:
    for group, commands in (
        ("clock", ["set", "advance", "show"]),
        ("schema", ["export"]),
        ("case", ["show", "history"]),
        ("events", ["tail"]),
        ("deadletter", ["list", "show", "replay"]),
        ("readmodel", ["project", "rebuild", "purge"]),
    ):
        result = CliRunner().invoke(app, [group, "--help"])
        assert result.exit_code == 0, result.output
        for command in commands:
            assert f" {command} " in result.output


def test_the_module_entry_runs_the_same_app() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "consumers.cli", "diagram", "--format", "nope"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert out.stderr.strip() == "aduan: format 'nope': use mermaid or dot"
