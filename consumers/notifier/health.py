"""The notifier's small HTTP port: ``/metrics`` (Prometheus) and ``/healthz`` (JSON; 200 when
the notifier is ready and reaches the broker, else 503), on 127.0.0.1, in a daemon thread."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

Health = Callable[[], tuple[bool, dict[str, Any]]]


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    """One thread per request: a slow scraper does not block the health check."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes are not worth a log line each."""


def health_app(registry: CollectorRegistry, health: Health) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            healthy, body = health()
            status = "200 OK" if healthy else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps(body).encode()]
        result: Iterable[bytes] = metrics(environ, start_response)
        return result

    return app


def serve_metrics_and_health(
    port: int, registry: CollectorRegistry, health: Health, host: str = "127.0.0.1"
) -> WSGIServer:
    app = health_app(registry, health)
    server = make_server(
        host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="notifier-http", daemon=True).start()
    return server
