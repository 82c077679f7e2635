"""Temporary engine worker: one faust agent that copies complaints.intake to cases.events.

It proves the path broker -> faust -> broker end to end until the real engine replaces it.
Run: ``python -m consumers.passthrough`` (Ctrl-C stops it cleanly). Environment:
ADUAN_KAFKA_BOOTSTRAP (127.0.0.1:9092), ADUAN_TOPIC_PREFIX (none), ADUAN_APP_ID
(aduan-passthrough), ADUAN_FAUST_DATADIR (var/faust).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import faust

from consumers.topics import DEFAULT_BOOTSTRAP, DEFAULT_PARTITIONS, EVENTS, INTAKE, topic_name


def create_app(
    bootstrap: str = DEFAULT_BOOTSTRAP,
    prefix: str = "",
    app_id: str = "aduan-passthrough",
    datadir: str = "var/faust",
) -> Any:
    app_dir = Path(datadir, app_id)
    app_dir.parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        web_enabled=False,
        topic_partitions=DEFAULT_PARTITIONS,
        datadir=str(app_dir),
        consumer_auto_offset_reset="earliest",
    )
    intake = app.topic(topic_name(INTAKE, prefix), key_serializer="raw", value_serializer="raw")
    events = app.topic(topic_name(EVENTS, prefix), key_serializer="raw", value_serializer="raw")

    @app.agent(intake)
    async def passthrough(stream: Any) -> None:
        async for event in stream.events():
            await events.send(key=event.key, value=event.value)

    return app


def main() -> None:
    env = os.environ
    bootstrap = env.get("ADUAN_KAFKA_BOOTSTRAP", DEFAULT_BOOTSTRAP)
    prefix = env.get("ADUAN_TOPIC_PREFIX", "")
    app = create_app(
        bootstrap,
        prefix,
        env.get("ADUAN_APP_ID", "aduan-passthrough"),
        env.get("ADUAN_FAUST_DATADIR", "var/faust"),
    )
    print(
        f"aduan worker (passthrough): {topic_name(INTAKE, prefix)} -> "
        f"{topic_name(EVENTS, prefix)} on kafka://{bootstrap}; Ctrl-C stops it",
        flush=True,
    )
    worker = faust.Worker(app, loglevel=env.get("ADUAN_LOG_LEVEL", "info"))
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
    sys.exit(0)
