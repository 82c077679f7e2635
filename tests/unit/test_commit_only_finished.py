"""Issue 17: no offset commit past a record the case agent never finished.

The cluster failure run (seed 20261217) lost one command: ``cases.commands`` partition 0, offset
307, the group's committed offset when the partition moved to a freshly restarted worker. That
worker took 307, 308, 309... from the client while it sought its partitions to the committed
offsets (faust resumes a worker's stream partitions before that seek, with flow control already
on from the table recovery); flow control's resume right after the seek cleared the agent's queue
with 307 in it, the agent went on with 308 and 309, and faust committed 310: its check
``min(acked) - committed > 1`` lets one record that nobody acknowledged, sitting at the committed
offset, be stepped over. faust's real consumer is driven here; only the Kafka client under it is
a stand-in that serves records from a position, records seeks and takes commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

import faust
from aiokafka.structs import ConsumerRecord
from faust.events import Event
from faust.types import TP

from consumers.engine.app import create_engine
from consumers.engine.finished import FinishedRecords

COMMITTED = 307  # the group's committed offset when the partition arrived


def _record(topic: str, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=topic,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"ADU-TEST",
        value=b"not json: dead-lettered, which finishes the record too",
        checksum=None,
        serialized_key_size=8,
        serialized_value_size=10,
        headers=(),
    )


class _Client:
    """Stands in for faust's thread around the aiokafka consumer: three records per fetch from
    the position, up to offset 320; a seek moves the position; commits are recorded."""

    def __init__(self, tp: TP) -> None:
        self.tp = tp
        self.position = COMMITTED
        self.committed = COMMITTED
        self.commits: list[int] = []
        self.seeks: list[int] = []

    async def getmany(
        self,
        active: Iterable[TP] | None,
        timeout: float,  # noqa: ASYNC109  # faust's name for it
    ) -> dict[TP, list[Any]]:
        if self.tp not in set(active or ()) or self.position >= 320:
            return {}
        batch = [_record(self.tp.topic, o) for o in range(self.position, self.position + 3)]
        self.position += 3
        return {self.tp: batch}

    async def seek_to_committed(self) -> dict[TP, int]:
        self.position = self.committed
        return {self.tp: self.committed}

    def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append(offset)
        self.position = offset

    def assignment(self) -> set[TP]:
        return {self.tp}

    def highwater(self, tp: TP) -> int:
        return 320

    async def commit(self, offsets: dict[TP, int]) -> bool:
        self.commits.append(offsets[self.tp])
        self.committed = offsets[self.tp]
        return True


class _Sink:
    """The agent's output topics (deadletter here): sends are kept, nothing is published."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, *, key: bytes | None, value: bytes, headers: Any = None) -> None:
        self.sent.append(value)


async def _arrived(app: faust.App, source: Any, client: _Client) -> Any:
    """The partition as a worker has it once its seek to the committed offsets is done."""
    app.topics.add(source)  # what a starting agent does with its topic
    await app.topics._update_indices()  # and the conductor when it subscribes
    consumer = app.consumer
    consumer._thread = client
    consumer.resume_partitions({client.tp})
    await consumer.perform_seek()
    consumer.resume_flow()  # as faust's recovery does right after the seek
    return consumer


async def _fetch(consumer: Any) -> list[Any]:
    """One fetch through faust's own ``getmany`` (the read-offset checks of its drain loop
    are applied as well: it hands over no offset below the read offset)."""
    taken = []
    async for tp, message in consumer.getmany(timeout=1.0):
        read = consumer._read_offset[tp]
        if read is None or message.offset >= read:
            consumer._read_offset[tp] = message.offset
            taken.append(message)
    return taken


async def _process(app: faust.App, consumer: Any, agent_fun: Any, messages: list[Any]) -> None:
    """The agent over a stream of ``messages``, each acknowledged after the agent is done with
    it, as faust's stream does."""

    class _Stream:
        async def events(self) -> AsyncIterator[Event]:
            for message in messages:
                yield Event(app, message.key, message.value, message.headers, message)
                consumer.ack(message)

    await agent_fun(_Stream())


def test_faust_alone_commits_past_a_record_dropped_at_the_committed_offset() -> None:
    """The defect, pinned against the installed faust: if this fails, faust fixed it."""

    async def scenario() -> list[int]:
        app = faust.App("commit-past", broker="kafka://127.0.0.1:1", autodiscover=False)
        tp = TP("t.cases.commands", 0)
        client = _Client(tp)
        consumer = await _arrived(app, app.topic(tp.topic), client)
        taken = await _fetch(consumer)
        assert [m.offset for m in taken] == [307, 308, 309]
        for message in taken[1:]:  # 307 was cleared from the agent's queue
            consumer.ack(message)
        await consumer.commit()
        return client.commits

    assert asyncio.run(scenario()) == [310]


def test_the_engine_commits_no_further_than_a_dropped_record_and_fetches_it_again() -> None:
    async def scenario() -> None:
        engine = create_engine(kafka_bootstrap="127.0.0.1:1")
        sink = _Sink()
        engine.agent.deadletter_topic = sink
        agent_fun = engine.app.agents["cases"].fun
        tp = TP(engine.commands_name, 0)
        client = _Client(tp)
        consumer = await _arrived(engine.app, engine.source, client)

        taken = await _fetch(consumer)
        assert [m.offset for m in taken] == [307, 308, 309]
        await _process(engine.app, consumer, agent_fun, taken[1:])  # 307 dropped
        await consumer.commit()
        assert all(offset <= COMMITTED for offset in client.commits), client.commits

        # The next fetch goes back to 307; faust hands it over although it read 309 already.
        again = await _fetch(consumer)
        assert client.seeks == [COMMITTED]
        assert [m.offset for m in again] == [307, 308, 309]
        await _process(engine.app, consumer, agent_fun, again)
        await consumer.commit()
        assert client.commits == [310]
        assert len(sink.sent) == 5  # 308 and 309 twice (redelivered), 307 once

    asyncio.run(scenario())


def test_a_record_still_in_flight_holds_the_commit_without_a_redelivery() -> None:
    """faust counts a record as done that the agent has not reached yet (its gap tracking can,
    after a seek in mid-batch): the commit waits for the agent, nothing is fetched again."""

    async def scenario() -> None:
        engine = create_engine(kafka_bootstrap="127.0.0.1:1")
        engine.agent.deadletter_topic = _Sink()
        agent_fun = engine.app.agents["cases"].fun
        client = _Client(TP(engine.commands_name, 0))
        consumer = await _arrived(engine.app, engine.source, client)
        taken = await _fetch(consumer)
        await _process(engine.app, consumer, agent_fun, taken[:1])  # 307 finished
        consumer.ack(taken[1])  # 308: done for faust, still queued for the agent
        await consumer.commit()
        assert client.commits == [308]
        await _process(engine.app, consumer, agent_fun, taken[1:])  # 308, 309 finished
        await consumer.commit()
        assert client.commits == [308, 310]
        assert client.seeks == []

    asyncio.run(scenario())


class _SlowSeekClient(_Client):
    """The seek to the committed offsets answers only when ``answer`` is set (a loaded
    machine: it took 2.5 s in the failing run)."""

    def __init__(self, tp: TP) -> None:
        super().__init__(tp)
        self.answer = asyncio.Event()

    async def seek_to_committed(self) -> dict[TP, int]:
        await self.answer.wait()
        return await super().seek_to_committed()


async def _handed_over_during_the_seek(
    app: faust.App, source: Any, topic: str
) -> tuple[list[int], list[int]]:
    """(offsets faust handed over while the seek was pending, offsets handed over after the
    recovery resumed the flow), with the flow on as the table recovery leaves it."""
    client = _SlowSeekClient(TP(topic, 0))
    app.topics.add(source)
    await app.topics._update_indices()
    consumer = app.consumer
    consumer._thread = client
    consumer.resume_partitions({client.tp})  # what the recovery does first, then the seek
    seek = asyncio.ensure_future(consumer.perform_seek())
    during = asyncio.ensure_future(_fetch(consumer))
    for _ in range(100):  # loop turns, not time: the stand-in client answers a fetch at once
        await asyncio.sleep(0)
    assert not seek.done()
    early = [m.offset for m in await during] if during.done() else []
    client.answer.set()
    await seek
    consumer.resume_flow()  # the recovery, right after the seek
    later = [m.offset for m in await during] if not early else []
    return early, later


def test_faust_alone_hands_records_over_while_it_seeks_to_the_committed_offsets() -> None:
    """Pinned against the installed faust: records reach the streams during the seek."""

    async def scenario() -> tuple[list[int], list[int]]:
        app = faust.App("seek-flow", broker="kafka://127.0.0.1:1", autodiscover=False)
        topic = "t.cases.commands"
        return await _handed_over_during_the_seek(app, app.topic(topic), topic)

    early, _ = asyncio.run(scenario())
    assert early == [307, 308, 309]


def test_the_engine_hands_nothing_over_until_the_seek_is_done() -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        # Built inside the loop: the stopped flow's event must belong to it.
        engine = create_engine(kafka_bootstrap="127.0.0.1:1")
        return await _handed_over_during_the_seek(engine.app, engine.source, engine.commands_name)

    early, later = asyncio.run(scenario())
    assert early == []
    assert later == [307, 308, 309]  # from the committed offset, after the seek


def test_the_ledger_asks_once_per_dropped_record_and_forgets_what_was_committed_past() -> None:
    ledger: FinishedRecords[str] = FinishedRecords()
    ledger.taken("p0", [307, 308, 309])
    ledger.finished("p0", 308)  # 307 was dropped: taken before a record that finished
    assert ledger.committable("p0", 310, committed=307) == 307
    assert ledger.redeliveries() == {"p0": 307}
    assert ledger.committable("p0", 310, committed=307) == 307
    assert ledger.redeliveries() == {}  # asked already: waiting for it
    ledger.taken("p0", [307, 308, 309])  # fetched again
    ledger.finished("p0", 309)  # the first 309, queued before the seek
    assert ledger.committable("p0", 310, committed=307) == 307
    assert ledger.redeliveries() == {}  # not another drop: 307 is on its way
    for offset in (307, 308, 309):
        ledger.finished("p0", offset)
    assert ledger.committable("p0", 310, committed=307) == 310
    # Another worker committed past what this one had open (a partition that came back).
    ledger.taken("p0", [400, 401])
    assert ledger.committable("p0", 500, committed=450) == 500
    assert ledger.open_records("p0") == []
