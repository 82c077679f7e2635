"""``aduan incidents``: the incident detector (issue 18): links mass complaints to one incident
and makes linked cases follow its verification and referral."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from consumers.cli.common import CliError, load_settings, one_line


def register(app: typer.Typer) -> None:
    app.command()(incidents)


def incidents() -> None:
    """Run the incident detector worker until Ctrl-C (/metrics: ADUAN_INCIDENTS_METRICS_PORT)."""
    from consumers.incidents.app import IncidentDetectorApp
    from consumers.incidents.settings import IncidentSettings

    try:
        own = IncidentSettings()
    except ValidationError as exc:
        raise CliError(f"setting {one_line(exc)}") from None
    IncidentDetectorApp(load_settings(), own).run()
