"""Long-running services: the gateway, the notifier, the SMTP sink, ``aduan run`` and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from consumers.cli.common import CliError, load_settings, one_line


def register(app: typer.Typer) -> None:
    app.command()(gateway)
    app.command()(notifier)
    app.command("smtp-sink")(smtp_sink)
    app.command("run")(run_all)
    app.command()(demo)


def gateway(
    host: Annotated[str | None, typer.Option(help="Bind address (ADUAN_GATEWAY_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="HTTP port (ADUAN_GATEWAY_PORT).")] = None,
    smtp_port: Annotated[
        int | None, typer.Option(help="Also listen for SMTP here (ADUAN_GATEWAY_SMTP_PORT).")
    ] = None,
) -> None:
    """Run the HTTP intake gateway (channels, case lookup, Open311) until Ctrl-C."""
    import uvicorn

    from consumers.gateway.access_log import log_config
    from consumers.gateway.app import create_app
    from consumers.gateway.security import SecurityFileError
    from consumers.gateway.settings import GatewaySettings
    from consumers.readmodel.projection import ForeignReadModel

    overrides: dict[str, Any] = {
        "gateway_host": host,
        "gateway_port": port,
        "gateway_smtp_port": smtp_port,
    }
    try:
        settings = GatewaySettings(**{k: v for k, v in overrides.items() if v is not None})
        application = create_app(settings)
    except ValidationError as exc:
        raise CliError(f"setting {one_line(exc)}") from None
    except (SecurityFileError, ForeignReadModel) as exc:
        raise CliError(str(exc)) from None
    typer.echo(
        f"aduan gateway: http://{settings.gateway_host}:{settings.gateway_port}/docs on "
        f"{','.join(settings.kafka_bootstrap)} (prefix {settings.topic_prefix or '-'})"
    )
    uvicorn.run(
        application,
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_level="info",
        log_config=log_config(),
    )


def notifier(
    action: Annotated[
        str | None,
        typer.Argument(
            help="None: run the notifier. 'pending': list pending deliveries. "
            "'retry' KEY or --all: retry them now.",
            show_default=False,
        ),
    ] = None,
    key: Annotated[
        str | None, typer.Argument(help="retry: an alert key or a tracking number.")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="retry: every pending delivery.")] = False,
    directory: Annotated[
        Path | None, typer.Option(help="Officer directory YAML (ADUAN_NOTIFIER_DIRECTORY).")
    ] = None,
    check: Annotated[bool, typer.Option(help="Only check the directory, then exit.")] = False,
    metrics_port: Annotated[
        int,
        typer.Option(
            envvar="ADUAN_NOTIFIER_METRICS_PORT", help="Serve /metrics and /healthz here (0 = off)."
        ),
    ] = 6068,
    metrics_host: Annotated[
        str,
        typer.Option(
            envvar="ADUAN_NOTIFIER_METRICS_HOST",
            help="Address /metrics and /healthz bind (0.0.0.0: reachable from outside).",
        ),
    ] = "127.0.0.1",
) -> None:
    """Run the notifier (SLA warnings, escalations, reminders to officers) until Ctrl-C;
    ``pending`` lists stuck deliveries, ``retry`` retries them now."""
    from consumers.cli import notifications

    if action == "pending":
        notifications.pending()
        return
    if action == "retry":
        notifications.retry(key, every)
        return
    if action is not None or key is not None or every:
        raise CliError(f"unknown notifier action '{action}': use pending or retry")
    from consumers.notifier.runner import NotifierStartError, serve

    try:
        serve(directory, check, metrics_port, typer.echo, metrics_host)
    except NotifierStartError as exc:
        raise CliError(str(exc)) from None


def smtp_sink(
    port: Annotated[int, typer.Option(help="SMTP port.")] = 2525,
    maildir: Annotated[Path, typer.Option(help="Where copies are kept.")] = Path("var/smtp-sink"),
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0: other containers too).")
    ] = "127.0.0.1",
) -> None:
    """A local SMTP sink that prints and keeps every message (for make run's notifier)."""
    from consumers.notifier.sink import main as sink_main

    args = ["--host", host, "--port", str(port), "--maildir", str(maildir)]
    raise typer.Exit(sink_main(args))


def run_all(
    gateway_port: Annotated[int, typer.Option(help="Gateway HTTP port.")] = 8080,
) -> None:
    """The main job: engine worker, HTTP gateway, notifier, reporter messaging, the incident
    detector and a local SMTP sink, until Ctrl-C."""
    from consumers.kafka_security import principal_env
    from consumers.supervisor import Service, cli, run

    s = load_settings()
    try:  # on a secured broker each service logs in as its own principal (deploy/kafka/acls.json)
        logins = {
            p: principal_env(s.kafka_security, p)
            for p in ("engine", "gateway", "notifier", "reporter", "incidents")
        }
    except ValueError as exc:
        raise CliError(str(exc)) from None
    services = [
        Service(
            "worker",
            cli("worker"),
            f"engine on {','.join(s.kafka_bootstrap)}, http://{s.web_host}:{s.web_port}/stats/",
            env=logins["engine"],
        ),
        Service(
            "gateway",
            cli("gateway", "--port", str(gateway_port)),
            f"http://127.0.0.1:{gateway_port}/docs (channels, case lookup, Open311); "
            "DEVELOPMENT MODE: without ADUAN_GATEWAY_SECURITY_FILE it accepts the publicly "
            "known dev credentials (never expose it)",
            env={"ADUAN_GATEWAY_DEV_MODE": "true", **logins["gateway"]},
        ),
        Service(
            "smtp-sink",
            cli("smtp-sink", "--port", "2525", "--maildir", "var/smtp-sink"),
            "SMTP sink on 127.0.0.1:2525 (local stand-in for a mail server; copies in "
            "var/smtp-sink/)",
        ),
        Service(
            "notifier",
            cli("notifier"),
            "escalation alerts from cases.events -> officers (deploy/notifier/officers.yaml)",
            env=logins["notifier"],
        ),
        Service(
            "reporter",
            cli("reporter"),
            "messages to reporters from cases.events (email through the SMTP sink; WhatsApp "
            "and SMS when ADUAN_REPORTER_WHATSAPP_*/SMS_* are set)",
            env={
                "ADUAN_REPORTER_SMTP_HOST": "127.0.0.1",
                "ADUAN_REPORTER_SMTP_PORT": "2525",
                **logins["reporter"],
            },
        ),
        Service(
            "incidents",
            cli("incidents"),
            "incident detector: links mass complaints, linked cases follow one verification "
            "(/metrics on http://127.0.0.1:6070/metrics)",
            env=logins["incidents"],
        ),
    ]
    raise typer.Exit(run(services))


def demo(
    prefix: Annotated[str, typer.Option(help="Topic prefix of the demo deployment.")] = "demo",
    web_port: Annotated[int, typer.Option(help="HTTP port of the demo worker.")] = 6076,
) -> None:
    """One complaint through every stage on a simulated clock (starts its own worker)."""
    from consumers.demo import run_with_own_worker

    try:
        run_with_own_worker(
            load_settings(topic_prefix=prefix, web_port=web_port, clock="simulated")
        )
    except (RuntimeError, TimeoutError) as exc:
        raise CliError(str(exc)) from None
