"""``aduan reporter``: the reporter-messaging service (issue 15)."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from consumers.cli.common import CliError, one_line


def register(app: typer.Typer) -> None:
    app.command()(reporter)


def reporter(
    metrics_port: Annotated[
        int,
        typer.Option(envvar="ADUAN_REPORTER_METRICS_PORT", help="Serve /metrics here (0 = off)."),
    ] = 6069,
    metrics_host: Annotated[
        str,
        typer.Option(
            envvar="ADUAN_REPORTER_METRICS_HOST",
            help="Address /metrics binds (0.0.0.0: reachable from outside, e.g. Prometheus).",
        ),
    ] = "127.0.0.1",
) -> None:
    """Tell reporters what happens to their complaint (WhatsApp, SMS, email) until Ctrl-C."""
    from consumers.reporter.runner import serve

    try:
        serve(metrics_port, typer.echo, metrics_host)
    except ValidationError as exc:
        raise CliError(f"setting {one_line(exc)}") from None
