"""The core's hand-rolled fast paths equal the library functions they stand in for."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.enums import Confidentiality
from workflow.fastpaths import EVENT_NAMESPACE, case_id_fast, event_id_for, reporter_view_fast
from workflow.intake import case_id_for
from workflow.reporter import Reporter, reporter_view


@settings(max_examples=300, deadline=None)
@given(channel=st.sampled_from(["web", "sms", "email", "whatsapp"]), mid=st.text(max_size=40))
def test_case_id_equals_messages_case_id_for(channel: str, mid: str) -> None:
    assert case_id_fast(channel, mid) == case_id_for(channel, mid)


@settings(max_examples=200, deadline=None)
@given(mid=st.text(max_size=40), index=st.integers(min_value=0, max_value=20))
def test_event_id_equals_uuid5(mid: str, index: int) -> None:
    assert event_id_for(mid, index) == str(uuid.uuid5(EVENT_NAMESPACE, f"{mid}#{index}"))


def test_reporter_view_fast_path_equals_reporter_view() -> None:
    for reporter in (
        Reporter(name="Warga", confidentiality=Confidentiality.PUBLIC),
        Reporter(name="Warga", phone="0812 3456 7890", email="w@example.id"),
        Reporter(name="Warga", phone="0812 3456 7890", confidentiality="anonymous"),
        Reporter(email="w@example.id", confidentiality="confidential"),
    ):
        for key in (None, b"k"):
            fast = reporter_view_fast(reporter, key)
            slow = reporter_view(reporter, key)
            assert fast == slow
            assert fast.model_dump_json() == slow.model_dump_json()
