"""Case histories for the read-model tests, made by the real core (so snapshots and events are
what the engine writes): a spread of states, agencies, channels, confidentiality and times."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e import builders
from workflow.case import Case
from workflow.codec import encode
from workflow.core import Workflow
from workflow.enums import Channel, MaladministrationCategory
from workflow.events import Event
from workflow.policy import load_policy

START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # a Monday morning in Maluku
AGENCIES = ("DINKES", "PUPR", "DIKBUD", "DUKCAPIL")
CHANNELS = (Channel.WEB, Channel.SMS, Channel.EMAIL)


@dataclass
class Written:
    """What the engine wrote, in order: ("state", key, value) and ("event", key, value)."""

    records: list[tuple[str, bytes, bytes | None]] = field(default_factory=list)
    cases: dict[str, Case] = field(default_factory=dict)
    events: dict[str, list[Event]] = field(default_factory=dict)

    def write(self, case: Case, events: list[Event]) -> None:
        for event in events:
            self.records.append(("event", case.case_id.encode(), encode(event)))
            self.events.setdefault(case.case_id, []).append(event)
        self.records.append(("state", case.case_id.encode(), encode(case)))
        self.cases[case.case_id] = case


_STEPS: tuple[Any, ...] = (
    builders.formal,
    builders.material,
    builders.accept,
    builders.plan,
    builders.resolve,
    builders.confirm,
)


def written_cases(count: int = 40, seed: int = 19) -> Written:
    """``count`` cases opened an hour apart, each taken ``k`` steps down the main path (k drawn
    per case), some confidential, some escalated (a level set on the snapshot)."""
    rng = random.Random(seed)
    workflow = Workflow(load_policy(), reporter_key=b"k" * 32)
    written = Written()
    for number in range(count):
        at = START + timedelta(hours=number, minutes=rng.randrange(60))
        agency = AGENCIES[number % len(AGENCIES)]
        message = builders.complaint(
            f"rm-{seed}-{number}",
            at,
            channel=CHANNELS[number % len(CHANNELS)],
            agency_hint=agency,
            confidentiality="confidential" if number % 7 == 3 else "public",
        )
        case, events = workflow.handle(None, message, at)
        assert case is not None
        written.write(case, events)
        for step in _STEPS[: rng.randrange(len(_STEPS) + 1)]:
            at += timedelta(hours=2)
            command = (
                step(case.case_id, at) if step in _NO_AGENCY else step(case.case_id, at, agency)
            )
            next_case, events = workflow.handle(case, command, at)
            assert next_case is not None
            case = next_case
            written.write(case, events)
        # levels and categories set on a last snapshot (queries read them, not how they came)
        if number % 5 == 2 and not case.is_final:
            update: dict[str, Any] = {"escalation_level": 1 + number % 3}
            written.write(case.model_copy(update={**update, "version": case.version + 1}), [])
        elif number % 4 == 1:
            update = {"category": MaladministrationCategory.UNDUE_DELAY}
            written.write(case.model_copy(update={**update, "version": case.version + 1}), [])
    return written


_NO_AGENCY = (builders.formal, builders.confirm)
