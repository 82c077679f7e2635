"""The reporter contact store (issue 15 part 4): the engine writes the contact when the intake
opens the case; events and snapshots of confidential and anonymous reporters carry none."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from consumers.reporter.contacts import ContactBook, contact_record, ended_record, optout_record
from tests.e2e import builders as b
from tests.unit.test_case_agent import INTAKE, T0, Rig, SentRecords
from workflow.codec import encode

PHONE_E164 = "+6281234567890"


@pytest.fixture
def rig() -> Rig:
    rig = Rig()
    rig.contacts = SentRecords()  # type: ignore[attr-defined]
    rig.agent.contacts_topic = rig.contacts  # type: ignore[attr-defined]
    return rig


@pytest.mark.parametrize("confidentiality", ["public", "anonymous", "confidential"])
async def test_opening_a_case_writes_its_contact_and_nothing_else_carries_it(
    rig: Rig, confidentiality: str
) -> None:
    complaint = b.complaint("m-c1", T0, confidentiality=confidentiality)
    key = complaint.derived_case_id.encode()
    await rig.deliver(INTAKE, key, encode(complaint))
    [written] = rig.contacts.sent  # type: ignore[attr-defined]
    assert written["key"] == key
    contact = json.loads(written["value"])
    assert contact["phone"] == PHONE_E164
    assert contact["confidentiality"] == confidentiality
    record = rig.cases[key]
    produced = b"".join(record.outbox) + record.case.model_dump_json().encode()
    if confidentiality != "public":
        assert PHONE_E164.encode() not in produced
        assert b"Latuconsina" not in produced


async def test_a_reporter_without_phone_or_email_has_no_contact(rig: Rig) -> None:
    complaint = b.complaint("m-c2", T0, phone=None)  # type: ignore[arg-type]
    await rig.deliver(INTAKE, complaint.derived_case_id.encode(), encode(complaint))
    assert rig.contacts.sent == []  # type: ignore[attr-defined]
    assert contact_record(complaint) is None


def test_the_book_follows_contacts_opt_outs_ends_and_tombstones() -> None:
    complaint = b.complaint("m-c3", T0)
    case_id = complaint.derived_case_id
    record = contact_record(complaint)
    assert record is not None
    book = ContactBook()
    book.apply(*record)
    book.apply(b"garbage", b"{not json")
    contact = book.contact(case_id)
    assert contact is not None
    assert contact.phone == PHONE_E164
    assert PHONE_E164 not in repr(contact)
    assert book.cases_of(phone=PHONE_E164) == [case_id]
    book.apply(*optout_record(case_id, T0))
    assert case_id in book.opted_out
    book.apply(*ended_record(case_id, T0))
    assert book.cases_of(phone=PHONE_E164) == []
    keep = timedelta(days=30)
    assert book.expired(T0 + timedelta(days=29), keep) == []
    expired = book.expired(T0 + timedelta(days=30), keep)
    assert case_id.encode() in expired
    assert len(expired) == 4
    for key in expired:
        book.apply(key, None)
    assert book.contact(case_id) is None
    assert not book.opted_out
    assert not book.ended


def test_a_redelivered_intake_writes_the_same_bytes() -> None:
    complaint = b.complaint("m-c4", datetime.fromisoformat("2026-12-07T10:00:00+09:00"))
    assert contact_record(complaint) == contact_record(complaint.model_copy())
