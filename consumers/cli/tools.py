"""Tools that need no broker: message schemas, the lifecycle diagram, secrets for the gateway."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from consumers.cli.common import CliError

schema_app = typer.Typer(no_args_is_help=True, help="JSON Schemas of every message.")


def register(app: typer.Typer) -> None:
    app.command()(diagram)
    app.command()(keygen)
    app.command()(asyncapi)
    app.add_typer(schema_app, name="schema")


@schema_app.command("export")
def schema_export(
    out: Annotated[Path, typer.Option(help="Folder to write one <Type>.schema.json per message.")],
) -> None:
    """Write the JSON Schema of every message, for channels written in other languages."""
    from workflow.schemas import export_json_schemas

    out.mkdir(parents=True, exist_ok=True)
    schemas = export_json_schemas()
    for name, schema in sorted(schemas.items()):
        (out / f"{name}.schema.json").write_text(json.dumps(schema, indent=2, ensure_ascii=False))
    typer.echo(f"{len(schemas)} schemas written to {out}")


def asyncapi(
    check: Annotated[
        bool, typer.Option("--check", help="Fail if the committed document is stale.")
    ] = False,
) -> None:
    """Write docs/asyncapi.yaml: every topic, its key and messages (AsyncAPI 3.0)."""
    from consumers import asyncapi as document

    if check:
        committed = document.DOCUMENT_PATH.read_text(encoding="utf-8")
        if committed != document.render():
            raise CliError(f"{document.DOCUMENT_PATH} is stale: run `aduan asyncapi`")
        typer.echo(f"{document.DOCUMENT_PATH} is up to date")
        return
    typer.echo(f"written {document.write()}")


def diagram(
    fmt: Annotated[str, typer.Option("--format", help="mermaid or dot.")] = "mermaid",
) -> None:
    """Print the complaint lifecycle diagram, generated from the state machine."""
    from states import diagram as lifecycle_diagram

    if fmt == "mermaid":
        typer.echo(lifecycle_diagram.mermaid())
    elif fmt == "dot":
        typer.echo(lifecycle_diagram.dot())
    else:
        raise CliError(f"format {fmt!r}: use mermaid or dot")


def keygen() -> None:
    """Print a new random API key or operator token and the hash for the security file."""
    from consumers.gateway.security import hash_secret, new_secret

    secret = new_secret()
    typer.echo(f"secret: {secret}")
    typer.echo(f"sha256: {hash_secret(secret).removeprefix('sha256:')}")
