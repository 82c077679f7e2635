"""The gateway's FastAPI app: one factory wires settings, credentials, publisher, read model,
attachment store and rate limiter (`create_app`); nothing is built at import time.

Routes (see docs/openapi.json), one module each under `consumers.gateway.routes`:
``/v1/intake/*`` for the channels, ``/v1/cases/{tracking}`` for lookup,
``/v1/cases/{tracking}/commands`` for operators, ``/open311/v2/*`` for GeoReport v2,
``/healthz`` and ``/readyz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from consumers.connectivity import BrokerLink
from consumers.gateway.console.install import install_console
from consumers.gateway.context import Gateway
from consumers.gateway.errors import install_handlers
from consumers.gateway.limits import BodyLimit
from consumers.gateway.publisher import KafkaPublisher, MemoryPublisher, Publisher
from consumers.gateway.ratelimit import RateLimiter
from consumers.gateway.readmodel import KafkaReadModelFeeder, ReadModel
from consumers.gateway.routes.cases import cases
from consumers.gateway.routes.health import health
from consumers.gateway.routes.intake import UPLOAD_PATHS, intake
from consumers.gateway.routes.open311 import open311
from consumers.gateway.security import (
    SecurityConfig,
    SecurityFileError,
    dev_security,
    load_security,
)
from consumers.gateway.settings import GatewaySettings, tracking_secret
from consumers.gateway.smtp import start_smtp
from consumers.gateway.store import AttachmentStore
from consumers.metrics import HttpMetrics, metrics_endpoint, new_registry
from consumers.readmodel.database import open_database, shown_url
from consumers.readmodel.projection import Projection, check_own_topics
from consumers.readmodel.queries import CaseQueries
from consumers.readmodel.store import SqlReadModel
from workflow.policy import Policy, load_policy

log = logging.getLogger(__name__)


def create_app(
    settings: GatewaySettings | None = None,
    *,
    security: SecurityConfig | None = None,
    publisher: Publisher | None = None,
    read_model: CaseQueries | None = None,
    feed_read_model: bool = True,
    policy: Policy | None = None,
    clock: Callable[[], datetime] | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """Build the gateway. Injected ``publisher``/``read_model`` replace Kafka (tests);
    ``feed_read_model=False`` leaves the read model to the caller."""
    settings = settings or GatewaySettings()
    policy = policy or load_policy(settings.policy_file)
    # Refusals (credentials, tracking secret) come before anything is created on disk.
    security = security if security is not None else _security(settings)
    secret = tracking_secret(settings)
    model, feeder = read_model, None
    if model is None:
        model, feeder = _read_model(settings, policy)
    elif isinstance(model, ReadModel | SqlReadModel) and model.policy is None:
        model.policy = policy
    registry = registry if registry is not None else new_registry()
    broker = None
    if publisher is None:
        broker = BrokerLink(
            "gateway",
            settings.kafka_bootstrap,
            registry=registry,
            summary_interval=settings.broker_summary_interval,
        )
        publisher = KafkaPublisher(settings, broker)
    gw = Gateway(
        settings=settings,
        security=security,
        policy=policy,
        publisher=publisher,
        read_model=model,
        store=AttachmentStore(settings.gateway_store_dir),
        limiter=RateLimiter(settings.gateway_rate_per_minute, settings.gateway_rate_burst),
        clock=clock or (lambda: datetime.now(UTC)),
        tracking_secret=secret,
        agency_codes=frozenset(a.code for a in policy.agencies),
        broker=broker,
    )
    if feed_read_model:
        gw.feeder = feeder
    app = FastAPI(
        title="aduan gateway",
        version="1.0.0",
        summary="Intake channels, case lookup and Open311 GeoReport v2 for aduan.",
        lifespan=_lifespan(gw),
    )
    app.state.gateway = gw
    install_handlers(app)
    for router in (intake, cases, open311, health):
        app.include_router(router)
    install_console(app, gw)
    _install_middleware(app, settings, registry)
    return app


def _read_model(
    settings: GatewaySettings, policy: Policy
) -> tuple[CaseQueries, KafkaReadModelFeeder | Projection | None]:
    """The read model ``readmodel_url`` names and what feeds it from the topics."""
    if settings.readmodel_url == "memory":
        memory = ReadModel(settings.gateway_history_limit, policy)
        return memory, KafkaReadModelFeeder(settings, memory)
    store = SqlReadModel(open_database(settings.readmodel_url), policy)
    check_own_topics(store, settings, shown_url(settings.readmodel_url))
    if not settings.readmodel_projection:
        store.ready = True  # another process projects; the database is the truth
        return store, None
    return store, Projection(settings, store)


def _security(settings: GatewaySettings) -> SecurityConfig:
    if settings.gateway_security_file is not None:
        return load_security(settings.gateway_security_file)
    if not settings.gateway_dev_mode:
        raise SecurityFileError(
            "no ADUAN_GATEWAY_SECURITY_FILE: refusing to start on the public development "
            "credentials (create one with `aduan keygen`, see consumers/gateway/security.py; "
            "or set ADUAN_GATEWAY_DEV_MODE=true on a development machine)"
        )
    log.warning("DEVELOPMENT MODE: using the well-known development credentials")
    return dev_security()


def _lifespan(gw: Gateway) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """Start the publisher, the read model feeder and the SMTP listener; stop them in reverse."""
    settings = gw.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if gw.broker is not None:
            gw.broker.start()
        await gw.publisher.start()
        if gw.feeder is not None:
            await gw.feeder.start()
        if settings.gateway_smtp_port is not None:
            gw.smtp_server = await start_smtp(gw, settings.gateway_host, settings.gateway_smtp_port)
        try:
            yield
        finally:
            if gw.smtp_server is not None:
                gw.smtp_server.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(gw.smtp_server.wait_closed(), 5)
            if gw.feeder is not None:
                await gw.feeder.stop()
            await gw.publisher.stop()
            if gw.broker is not None:
                gw.broker.stop()

    return lifespan


def _install_middleware(
    app: FastAPI, settings: GatewaySettings, registry: CollectorRegistry
) -> None:
    def limit_for(path: str) -> int:
        if path in UPLOAD_PATHS:
            return settings.gateway_max_upload_bytes
        return settings.gateway_max_json_bytes

    app.add_middleware(BodyLimit, limit_for=limit_for)
    # Prometheus: /metrics (not in the OpenAPI document) and request counts by route template.
    app.add_route("/metrics", metrics_endpoint(registry), include_in_schema=False)
    app.add_middleware(HttpMetrics, registry=registry)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document as committed in docs/openapi.json (no connections are made)."""
    app = create_app(
        GatewaySettings(gateway_dev_mode=True),
        security=SecurityConfig(),
        publisher=MemoryPublisher(),
        read_model=ReadModel(),
    )
    return app.openapi()


def openapi_json() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m consumers.gateway.app > docs/openapi.json
    import sys

    sys.stdout.write(openapi_json())
