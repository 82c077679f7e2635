"""Issue 15 part 7 on the real broker: reporter messages are retried durably like officer alerts.

The SMS provider (a real local HTTP server in the Twilio shape) is down for a while; the
messaging service is stopped during the outage and started again; when the provider is back
every message arrives exactly once. And a recipient over its rate limit waits alone: another
reporter's message goes out meanwhile. The events are the real core's, published on
``cases.events``; the contacts are the engine's records on ``reporter.contacts``.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from kafka import KafkaConsumer

from consumers.reporter.contacts import contact_record
from consumers.reporter.service import ReporterService
from tests.e2e import builders as b
from tests.e2e.harness import EngineHarness
from tests.e2e.test_gateway_e2e import until
from tests.e2e.test_reporter_e2e import Reporters
from tests.reporter_providers import MailServer, ProviderServer
from workflow.codec import encode
from workflow.core import Workflow
from workflow.enums import Channel
from workflow.policy import load_policy

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(300)]

DOWN = 10**6
"""``fail_next`` for a provider that answers 503 until told otherwise."""


def publish_case(engine: EngineHarness, message_id: str, phone: str, *steps: Any) -> str:
    """The contact and the core's events of an SMS complaint driven through ``steps``."""
    complaint = b.complaint(message_id, engine.start, channel=Channel.SMS, phone=phone)
    contact = contact_record(complaint)
    assert contact is not None
    engine.publish("reporter.contacts", contact[1], contact[0])
    workflow = Workflow(load_policy())
    case_id = complaint.derived_case_id
    case, events = workflow.handle(None, complaint, engine.start)
    for step in steps:
        message = step(case_id, engine.start + timedelta(minutes=1))
        case, more = workflow.handle(case, message, message.occurred_at)
        events += more
    for event in events:
        engine.publish("cases.events", encode(event), case_id.encode())
    return case_id


def receipts(engine: EngineHarness) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(
        engine.topic("reporter.receipts"),
        bootstrap_servers=engine.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        return [json.loads(r.value) for r in consumer if r.value]
    finally:
        consumer.close()


def sms_to(providers: ProviderServer, phone: str) -> list[str]:
    return [m["Body"] for m in providers.recorded.sms if m["To"] == phone]


def counted(service: ReporterService | None, kind: str, outcome: str) -> float:
    assert service is not None
    labels = {"channel": "sms", "kind": kind, "outcome": outcome}
    return service.registry.get_sample_value("aduan_reporter_messages_total", labels) or 0.0


def test_an_outage_across_a_restart_loses_nothing_and_sends_nothing_twice(
    engine: EngineHarness,
) -> None:
    with ProviderServer() as providers, MailServer() as mail:
        asyncio.run(_outage(engine, providers, mail))


async def _outage(engine: EngineHarness, providers: ProviderServer, mail: MailServer) -> None:
    phone = "+6281322223333"
    reporters = Reporters(engine, providers, mail)
    providers.recorded.fail_next = DOWN
    case_id = publish_case(engine, "sms-r1", phone, b.formal, b.request_information)
    await reporters.start()

    async def outage_felt() -> bool:  # the in-line tries and at least one retry failed
        return DOWN - providers.recorded.fail_next >= 5

    await until(outage_felt, "failed attempts during the outage", limit=90)
    await reporters.stop()  # the messaging service goes away while the provider is down
    assert sms_to(providers, phone) == []

    service = await reporters.start()
    providers.recorded.fail_next = 0  # the provider is back

    async def delivered() -> bool:
        return len(sms_to(providers, phone)) >= 2 and not service.pending.entries

    await until(delivered, "both messages after the outage", limit=120)
    await reporters.stop()
    texts = sms_to(providers, phone)
    assert len(texts) == 2, texts
    assert case_id in texts[0]
    assert "Mohon sebutkan nama puskesmas." in texts[1]  # in order: received, then the question
    final = [r for r in receipts(engine) if r["case_id"] == case_id and r["outcome"] != "pending"]
    assert Counter(r["outcome"] for r in final) == {"delivered": 2}
    attempts = sorted(r["attempts"] for r in final)
    assert attempts[0] >= 1  # the question, queued behind the first, went on its first try
    assert attempts[-1] > 3  # the first: the in-line tries, then retries after the restart
    assert all(phone.removeprefix("+62") not in json.dumps(r) for r in receipts(engine))
    assert counted(service, "received", "delivered") == 1  # by the second run's retrier


def test_a_recipient_over_its_rate_limit_holds_up_no_one_else(engine: EngineHarness) -> None:
    with ProviderServer() as providers, MailServer() as mail:
        asyncio.run(_rate_limit(engine, providers, mail))


async def _rate_limit(engine: EngineHarness, providers: ProviderServer, mail: MailServer) -> None:
    busy, other = "+6281344445555", "+6281366667777"
    reporters = Reporters(engine, providers, mail)
    reporters.settings = reporters.settings.model_copy(update={"per_recipient_per_hour": 1})
    publish_case(engine, "sms-r2", busy, b.formal, b.request_information)
    service = await reporters.start()

    async def busy_told_once() -> bool:
        return len(sms_to(providers, busy)) == 1

    await until(busy_told_once, "the first message to the busy reporter", limit=90)
    publish_case(engine, "sms-r3", other)  # while the busy reporter's second message must wait

    async def other_told() -> bool:
        return len(sms_to(providers, other)) == 1

    await until(other_told, "the other reporter's message", limit=90)
    assert len(sms_to(providers, busy)) == 1  # its second message waits out the hour
    assert counted(service, "information_requested", "pending") == 1
    assert len(service.pending.entries) == 1
    await reporters.stop()
