"""Pins the private attributes of faust and aiokafka that aduan reads (no public API serves).

Each test builds a real object of the installed (pinned) version and checks the attribute is
there with the type the code expects, so an upgrade that renames or retypes one fails here, loudly,
instead of leaving a diagnostic silently empty or the SLA deadline index incomplete. The reasons
are in consumers/engine/faust_internals.py and consumers/topic_reading.py.
"""

from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer

from consumers.engine.faust_internals import consumer_flow_state, memory_store_partitions


@pytest.fixture
def app() -> faust.App:
    # Nothing connects: faust builds its consumer and stores lazily, without a broker.
    return faust.App("pin-internals", broker="kafka://127.0.0.1:1", autodiscover=False)


def test_faust_consumer_keeps_its_partition_states_in_private_sets(app: faust.App) -> None:
    consumer = app.consumer
    for name in ("_paused_partitions", "_buffered_partitions", "_active_partitions"):
        assert isinstance(getattr(consumer, name), set), name
    assert isinstance(consumer.flow_active, bool)
    tp = faust.types.TP("t.cases.commands", 2)
    consumer._paused_partitions.add(tp)
    state = consumer_flow_state(consumer)
    assert state["paused"] == ["t.cases.commands:2"]
    assert state == {**state, "buffered": [], "active": [], "flow_active": True}


def test_faust_consumer_offset_bookkeeping_that_the_commit_gate_wraps(app: faust.App) -> None:
    """commit_only_finished / seek_with_flow_stopped (issue 17) replace or read these."""
    consumer = app.consumer
    assert inspect.iscoroutinefunction(consumer._getmany)
    assert list(inspect.signature(consumer._getmany).parameters) == [
        "active_partitions",
        "timeout",
    ]
    assert list(inspect.signature(consumer._filter_committable_offsets).parameters) == ["tps"]
    assert inspect.iscoroutinefunction(consumer.perform_seek)
    tp = faust.types.TP("t.cases.commands", 0)
    assert consumer._committed_offset.get(tp) is None  # a mapping, None until known
    assert isinstance(consumer._acked[tp], list)
    assert isinstance(consumer._acked_index[tp], set)
    # seek also moves faust's read offset, or its drain loop would discard a record fetched
    # again below it.
    consumer._thread = SimpleNamespace(seek=lambda tp, offset: None)
    asyncio.run(consumer.seek(tp, 307))
    assert consumer._read_offset[tp] == 307


def test_faust_memory_store_records_the_partition_of_each_recovered_key(app: faust.App) -> None:
    table = app.Table("cases", key_type=bytes)
    store = table.data
    assert isinstance(store, faust.stores.memory.Store)
    # What recovery does: apply changelog records read from partition 4.
    record = SimpleNamespace(
        key=b"ADU-1", value=b"v", message=SimpleNamespace(partition=4, value=b"v")
    )
    store.apply_changelog_batch([record], to_key=lambda k: k, to_value=lambda v: v)
    assert store._key_partition == {b"ADU-1": 4}
    assert memory_store_partitions(store) == {b"ADU-1": 4}
    assert memory_store_partitions(object()) == {}


def test_aiokafka_consumer_client_can_be_asked_for_fresh_metadata() -> None:
    async def ask() -> Any:
        consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")
        try:
            # What consumers.topic_reading.refresh_metadata awaits (not started: no broker).
            answer = consumer._client.force_metadata_update()
            assert inspect.isawaitable(answer)
            answer.cancel()
            return consumer._client.cluster.partitions_for_topic
        finally:
            await consumer.stop()

    partitions_for_topic = asyncio.run(ask())
    assert partitions_for_topic("no-such-topic") is None


def test_faust_producer_settings_take_idempotence(app: faust.App) -> None:
    """idempotent_changelog_producer replaces ``_settings_extra``: the aiokafka producer faust
    creates at start must then be idempotent (faust alone makes it so only for exactly once)."""
    from consumers.engine.faust_internals import idempotent_changelog_producer

    async def created() -> tuple[Any, Any]:
        plain = app.producer._new_producer()
        idempotent_changelog_producer(app.producer)
        return plain, app.producer._new_producer()

    plain, idempotent = asyncio.run(created())
    assert plain._txn_manager is None  # faust's at-least-once default: retries may duplicate
    assert idempotent._txn_manager is not None
    assert idempotent._txn_manager.transactional_id is None  # idempotent, not transactional
