"""The gateway (console included) served over real HTTP by uvicorn in a thread, on the engine
harness's topics, with a clock the test moves along with the engine's simulated one."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import uvicorn

from consumers.gateway.app import create_app
from consumers.gateway.security import dev_security
from consumers.gateway.settings import GatewaySettings
from tests.e2e.harness import EngineHarness, free_port, wait_for


class ServedGateway:
    def __init__(self, engine: EngineHarness, store: Path) -> None:
        self.now: datetime = engine.start
        settings = GatewaySettings(
            kafka_bootstrap=[engine.bootstrap],
            topic_prefix=engine.prefix,
            gateway_store_dir=store,
            # its own database: the repository's var/readmodel.sqlite belongs to `make run`
            readmodel_url=f"sqlite:///{store / 'readmodel.sqlite'}",
            gateway_rate_per_minute=0,
            gateway_dev_mode=True,
        )
        app = create_app(settings, security=dev_security(), clock=lambda: self.now)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="gateway", daemon=True)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def start(self, timeout: float = 90) -> ServedGateway:
        self.thread.start()
        wait_for(self._ready, timeout, "the gateway to be ready", interval=0.2)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
