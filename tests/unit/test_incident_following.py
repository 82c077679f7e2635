"""Verification and referral once per incident: linked cases follow through the real core.

The follower's two halves (`workflow.incidents.following`) are driven by the events the core
really produces, and the commands they issue go back into the core, until nothing moves.
"""

from __future__ import annotations

import itertools
from typing import Any

from states.lifecycle import CaseState
from tests.unit.test_core_support import REPORTER, Driver, workflow
from workflow.commands import LinkToIncident, UnlinkFromIncident
from workflow.incidents.following import (
    FOLLOW_PREFIX,
    CaseTrack,
    IncidentFollow,
    follow,
    on_news,
    track_event,
)

INCIDENT = "INC-test"
OFFICER = {"id": "off-9", "role": "officer"}
_IDS = itertools.count(1)


class Follower:
    """The detector's follow agents in memory: case tracks, one incident, a command log."""

    def __init__(self) -> None:
        self.wf = workflow()
        self.cases: dict[str, Driver] = {}
        self.tracks: dict[str, CaseTrack] = {}
        self.incident = IncidentFollow()
        self.sent: list[Any] = []

    def open(self, n: int) -> Driver:
        driver = Driver(self.wf, n=n)
        self.cases[driver.c.case_id] = driver
        self.tracks[driver.c.case_id] = CaseTrack()
        self.observe(driver.events)
        return driver

    def observe(self, events: list[Any]) -> None:
        """Events on ``cases.events``: each goes through the two halves; commands go back."""
        for event in events:
            track, news = track_event(self.tracks[event.case_id], event)
            self.tracks[event.case_id] = track
            for item in news:
                self.incident, commands = follow(
                    item.incident_id, on_news(self.incident, item), event.occurred_at
                )
                for c in commands:
                    self.sent.append(c)
                    self.observe(self.cases[c.case_id].apply(c))

    def act(self, driver: Driver, type_: str, **kw: Any) -> None:
        self.observe(driver.send(type_, **kw))

    def link(self, driver: Driver, reporters: int) -> None:
        message = LinkToIncident.model_validate(
            {
                "event_id": f"link-{next(_IDS)}",
                "occurred_at": driver.now,
                "case_id": driver.c.case_id,
                "payload": {"incident_id": INCIDENT, "reporters": reporters},
            }
        )
        self.observe(driver.apply(message))

    def unlink(self, driver: Driver) -> None:
        message = UnlinkFromIncident.model_validate(
            {
                "event_id": f"unlink-{next(_IDS)}",
                "occurred_at": driver.now,
                "case_id": driver.c.case_id,
                "payload": {"actor": OFFICER, "incident_id": INCIDENT, "reason": "lain"},
            }
        )
        self.observe(driver.apply(message))


def linked(f: Follower, count: int) -> list[Driver]:
    drivers = [f.open(n) for n in range(1, count + 1)]
    for n, d in enumerate(drivers, start=1):
        f.link(d, n)
    return drivers


def types_of(d: Driver) -> list[str]:
    return [e.type for e in d.events]


def test_one_verification_and_referral_moves_every_linked_case_through_its_own_core() -> None:
    f = Follower()
    lead, a, b = linked(f, 3)
    f.act(lead, "CompleteFormalVerification")
    assert {d.c.state for d in (a, b)} == {CaseState.VERIFYING}
    f.act(lead, "CompleteMaterialVerification", priority="high")
    for d in (lead, a, b):
        assert d.c.state is CaseState.REFERRED
        assert d.c.agency == lead.c.agency
        assert d.c.priority is lead.c.priority
        assert d.c.complaint_class is lead.c.complaint_class
    for d in (a, b):  # each on its own audit trail, caused by the follower, as the verifier
        verified = [e for e in d.events if e.type in ("CaseVerified", "CaseReferred")]
        assert [e.type for e in verified] == ["CaseVerified", "CaseReferred"]
        assert all(str(e.causation_id).startswith(FOLLOW_PREFIX) for e in verified)
        assert verified[0].payload.actor.id == "ver-1"  # type: ignore[union-attr]
        assert "CommandRejected" not in types_of(d)
    assert len(f.sent) == 4  # two steps for each of the two followers, nothing for the lead


def test_a_redelivered_follow_command_is_a_no_op_and_followed_events_lead_nothing() -> None:
    f = Follower()
    lead, a = linked(f, 2)
    f.act(lead, "CompleteFormalVerification")
    f.act(lead, "CompleteMaterialVerification")
    for c in f.sent:
        assert f.cases[c.case_id].apply(c) == []
    # The incident's table lost (a replay from the news): the same decision, the same ids.
    replay = IncidentFollow()
    for d in (lead, a):
        track = CaseTrack()
        for event in d.events:
            track, news = track_event(track, event)
            for item in news:
                replay = on_news(replay, item)
    assert replay.decisions["material"].case_id == lead.c.case_id
    behind = replay.model_copy(
        update={"members": {**replay.members, a.c.case_id: CaseState.RECEIVED}}
    )
    _, again = follow(INCIDENT, behind, lead.now)
    assert [c.event_id for c in again] == [f.sent[0].event_id]
    assert a.apply(again[0]) == []


def test_a_case_linked_after_the_referral_catches_up() -> None:
    f = Follower()
    lead, _ = linked(f, 2)
    f.act(lead, "CompleteFormalVerification")
    f.act(lead, "CompleteMaterialVerification")
    late = f.open(3)
    assert late.c.state is CaseState.RECEIVED
    f.link(late, 3)
    assert late.c.state is CaseState.REFERRED
    assert late.c.agency == lead.c.agency


def test_an_unlinked_case_stops_following() -> None:
    f = Follower()
    lead, a, wrong = linked(f, 3)
    f.act(lead, "CompleteFormalVerification")
    f.unlink(wrong)
    f.act(lead, "CompleteMaterialVerification")
    assert a.c.state is CaseState.REFERRED
    assert wrong.c.state is CaseState.VERIFYING  # kept its formal step, then left
    assert wrong.c.agency is None


def test_a_case_waiting_on_its_reporter_follows_once_it_can() -> None:
    f = Follower()
    lead, a = linked(f, 2)
    f.act(a, "RequestInformation")
    assert a.c.state is CaseState.AWAITING_INFORMATION
    f.act(lead, "CompleteFormalVerification")
    f.act(lead, "CompleteMaterialVerification")
    assert a.c.state is CaseState.AWAITING_INFORMATION
    assert "CommandRejected" not in types_of(a)  # nothing sent it could not take
    f.act(a, "ProvideInformation", actor=REPORTER)
    assert a.c.state is CaseState.REFERRED


def test_the_first_decision_leads_and_a_case_verified_before_it_joined_leads_too() -> None:
    f = Follower()
    early = f.open(1)
    f.act(early, "CompleteFormalVerification")
    f.act(early, "CompleteMaterialVerification", agency="PUPR")
    others = [f.open(2), f.open(3)]
    f.link(early, 1)
    for n, d in enumerate(others, start=2):
        f.link(d, n)
    assert [d.c.agency for d in others] == ["PUPR", "PUPR"]
    # A later operator decision on a follower does not lead the others anywhere else.
    assert f.incident.decisions["material"].case_id == early.c.case_id


def test_final_cases_are_left_alone() -> None:
    f = Follower()
    lead, gone = linked(f, 2)
    f.act(gone, "WithdrawComplaint", actor=REPORTER)
    f.act(lead, "CompleteFormalVerification")
    assert gone.c.state is CaseState.WITHDRAWN
    assert "CommandRejected" not in types_of(gone)
    assert not any(c.case_id == gone.c.case_id for c in f.sent)
