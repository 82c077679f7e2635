"""``aduan readmodel``: the read-model database (project, rebuild, purge)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from consumers.cli.common import CliError, one_line

readmodel_app = typer.Typer(
    no_args_is_help=True,
    help="The read-model database the gateway reads (ADUAN_READMODEL_URL).",
)

UrlOption = Annotated[
    str | None, typer.Option("--url", help="Database URL (default: ADUAN_READMODEL_URL).")
]


def register(app: typer.Typer) -> None:
    app.add_typer(readmodel_app, name="readmodel")


def _settings(url: str | None) -> Any:
    from consumers.gateway.settings import GatewaySettings

    try:
        overrides: dict[str, Any] = {"readmodel_url": url} if url else {}
        settings = GatewaySettings(**overrides)
    except ValidationError as exc:
        raise CliError(f"setting {one_line(exc)}") from None
    if settings.readmodel_url == "memory":
        raise CliError("ADUAN_READMODEL_URL=memory has no database to work on")
    return settings


def _store(url: str, settings: Any) -> Any:
    from consumers.readmodel.database import open_database
    from consumers.readmodel.store import SqlReadModel
    from workflow.policy import load_policy

    return SqlReadModel(open_database(url), load_policy(settings.policy_file))


@readmodel_app.command()
def project(
    url: UrlOption = None,
    max_batch: Annotated[
        int, typer.Option(min=1, help="Records per database transaction at most.")
    ] = 5000,
) -> None:
    """Run the projection (cases.state, cases.events -> database) until Ctrl-C.

    For gateways started with ADUAN_READMODEL_PROJECTION=false."""
    from consumers.readmodel.projection import ForeignReadModel, Projection, check_own_topics

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = _settings(url)
    store = _store(settings.readmodel_url, settings)
    try:
        check_own_topics(store, settings, _shown(settings.readmodel_url))
    except ForeignReadModel as exc:
        raise CliError(str(exc)) from None
    typer.echo(f"aduan readmodel: projecting into {_shown(settings.readmodel_url)}")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(Projection(settings, store, max_batch=max_batch).run())


@readmodel_app.command()
def rebuild(
    url: UrlOption = None,
    into: Annotated[
        str | None,
        typer.Option(help="Empty database to rebuild into (default: a temporary SQLite file)."),
    ] = None,
) -> None:
    """Re-create the database from the topics and compare it with the current one.

    One line; exit 1 on differences."""
    from consumers.readmodel.compare import compare
    from consumers.readmodel.projection import Projection, ProjectionError

    settings = _settings(url)
    with tempfile.TemporaryDirectory(prefix="aduan-rebuild-") as scratch:
        target = into or f"sqlite:///{Path(scratch) / 'rebuilt.sqlite'}"
        fresh = _store(target, settings)
        if fresh.stored_offsets():
            raise CliError(f"{_shown(target)} is not empty: rebuild needs a fresh database")
        try:
            asyncio.run(Projection(settings, fresh, until_caught_up=True).run())
        except ProjectionError as exc:
            raise CliError(str(exc)) from None
        current = _store(settings.readmodel_url, settings)
        result = compare(fresh.engine, current.engine)
    typer.echo(f"aduan readmodel rebuild: {result.summary()}")
    if result.differences:
        raise typer.Exit(1)


@readmodel_app.command()
def purge(
    closed_before: Annotated[
        datetime,
        typer.Option(
            "--closed-before",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
            help="Purge cases closed before this date (UTC), e.g. two years ago.",
        ),
    ],
    url: UrlOption = None,
) -> None:
    """Remove the personal data of cases closed before a date.

    What goes and what stays: consumers/readmodel/retention.py."""
    from consumers.readmodel.retention import purge_personal_data

    settings = _settings(url)
    moment = closed_before if closed_before.tzinfo else closed_before.replace(tzinfo=UTC)
    count = purge_personal_data(_store(settings.readmodel_url, settings), moment)
    typer.echo(f"aduan readmodel purge: {count} cases closed before {moment:%Y-%m-%d} purged")


def _shown(url: str) -> str:
    from consumers.readmodel.database import shown_url

    return shown_url(url)
