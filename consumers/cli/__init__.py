"""``aduan``: the operators' command line.

Errors are one readable line on stderr and a non-zero exit; nothing prints a traceback at an
operator. Settings come from the same places as the worker's (``ADUAN_*`` environment variables and
``ADUAN_CONFIG``), so ``aduan clock advance 3d`` talks to the same broker and prefix as the worker.

Each command group is one module with a ``register(app)``; a new group is a new module and one
line in ``_GROUPS``.
"""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from consumers.cli import (
    cases,
    deadletters,
    engine,
    incidents,
    readmodel,
    reporter,
    services,
    tools,
    whatif,
)
from consumers.cli.common import CliError, one_line

# The order ``aduan --help`` has always listed the commands in (operators know it by sight);
# commands not named here follow, in the order their groups register them.
_HELP_ORDER = (
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
)


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="aduan: event-driven case workflow engine for public-service complaints.",
    pretty_exceptions_enable=False,
)


def _help_position(name: str | None) -> int:
    return _HELP_ORDER.index(name) if name in _HELP_ORDER else len(_HELP_ORDER)


_GROUPS = (engine, cases, services, reporter, incidents, tools, deadletters, readmodel, whatif)
for _group in _GROUPS:
    _group.register(app)
# Typer lists commands as registered; a stable sort keeps the rest in their own order.
app.registered_commands.sort(
    key=lambda info: _help_position(
        info.name or (info.callback.__name__.replace("_", "-") if info.callback else None)
    )
)
app.registered_groups.sort(key=lambda info: _help_position(info.name))


def main() -> None:
    from kafka.errors import KafkaError

    try:
        app()
    except CliError as exc:
        typer.echo(f"aduan: {exc}", err=True)
        sys.exit(1)
    except ValidationError as exc:
        typer.echo(f"aduan: {one_line(exc, root=exc.title)}", err=True)
        sys.exit(1)
    except (KafkaError, OSError) as exc:
        # Broker unreachable, timeouts, unwritable paths: one line, not a traceback.
        typer.echo(f"aduan: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
