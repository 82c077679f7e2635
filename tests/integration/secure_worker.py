"""A faust worker that authenticates as the engine principal (run by test_kafka_secure.py).

What an engine worker does on the broker: joins its group, declares its table's changelog (and
faust's leader topic), consumes complaints.intake, writes cases.events. Configured only through
``consumers.kafka_security`` from the environment (ADUAN_KAFKA_*), plus ADUAN_TOPIC_PREFIX and
ADUAN_FAUST_DATADIR.
"""

from __future__ import annotations

import os
from typing import Any

import faust

from consumers.kafka_security import KafkaSecurity, faust_settings
from consumers.topics import EVENTS, INTAKE, topic_name


def create_app() -> Any:
    env = os.environ
    prefix = env.get("ADUAN_TOPIC_PREFIX", "")
    app = faust.App(
        topic_name("aduan", prefix),
        broker=f"kafka://{env['ADUAN_KAFKA_BOOTSTRAP']}",
        store="memory://",
        web_enabled=False,
        topic_partitions=1,
        topic_replication_factor=1,
        datadir=env["ADUAN_FAUST_DATADIR"],
        consumer_auto_offset_reset="earliest",
        autodiscover=False,
        **faust_settings(KafkaSecurity()),
    )
    intake = app.topic(topic_name(INTAKE, prefix), key_serializer="raw", value_serializer="raw")
    events = app.topic(topic_name(EVENTS, prefix), key_serializer="raw", value_serializer="raw")
    seen = app.Table("seen", default=int, partitions=1, key_type=bytes, value_type=int)

    @app.agent(intake)
    async def engine(stream: Any) -> None:
        async for event in stream.events():
            seen[event.key] += 1
            await events.send(key=event.key, value=b"seen:" + event.value)

    return app


if __name__ == "__main__":
    faust.Worker(create_app(), loglevel="info").execute_from_commandline()
