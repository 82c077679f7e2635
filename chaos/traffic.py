"""A seeded stream of mixed traffic: intakes and commands for many cases, published without rounds.

Each case follows a script (a plausible path through the lifecycle, or a silence that lets its SLA
clocks run out); the next message is drawn from a random open case, so cases interleave freely.
Injected on top: immediate duplicates, redeliveries of an old message long after the original,
commands published before their case's intake, and a few busy cases whose first escalation is
re-sent after dozens of other messages of the same case (the shape of issue 12, defect 1).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chaos import seam

INTAKE = "complaints.intake"
COMMANDS = "cases.commands"

AGENCIES = ("DINKES", "DIKBUD", "PUPR", "DUKCAPIL", "DINSOS")
VERIFIER = seam.Actor(id="verifier-chaos", role=seam.ActorRole.VERIFIER)
REPORTER = seam.Actor(id="reporter", role=seam.ActorRole.REPORTER)
OFFICER = seam.Actor(id="officer-chaos", role=seam.ActorRole.OFFICER)

#: Messages of a busy case after its first escalation, before that escalation is re-sent: more
#: than a case's bounded memory of applied ids has held so far (32).
BUSY_CASE_FILLER = 40


@dataclass(frozen=True)
class Outgoing:
    topic: str  # logical topic name (without prefix)
    key: bytes
    value: bytes
    case_id: str
    message_id: str
    kind: str  # new | duplicate | redelivery | overtaking


@dataclass
class TrafficCounts:
    new: int = 0
    duplicate: int = 0
    redelivery: int = 0
    overtaking: int = 0
    cases: int = 0
    busy_cases: int = 0

    def add(self, item: Outgoing) -> None:
        setattr(self, item.kind, getattr(self, item.kind) + 1)


Build = Callable[[str, datetime, str], Any]  # (case_id, now, message id) -> a command model


def _command(cls: Any, payload: Any) -> Build:
    def build(case_id: str, now: datetime, message_id: str) -> Any:
        return cls(event_id=message_id, occurred_at=now, case_id=case_id, payload=payload)

    return build


def _agency_actor(agency: str) -> Any:
    return seam.Actor(id=f"{agency.lower()}-liaison", role=seam.ActorRole.AGENCY, agency=agency)


def _steps(agency: str) -> dict[str, Build]:
    liaison = _agency_actor(agency)
    return {
        "formal": _command(seam.CompleteFormalVerification, seam.NotePayload(actor=VERIFIER)),
        "material": _command(
            seam.CompleteMaterialVerification,
            seam.MaterialVerificationPayload(actor=VERIFIER, agency=agency),
        ),
        "accept": _command(seam.AcceptReferral, seam.NotePayload(actor=liaison)),
        "plan": _command(
            seam.PostFollowUpPlan,
            seam.FollowUpPlanPayload(actor=liaison, plan="Menambah petugas jaga pagi."),
        ),
        "resolve": _command(
            seam.ResolveComplaint,
            seam.ResolvePayload(actor=liaison, resolution_text="Jadwal petugas diperbaiki."),
        ),
        "confirm": _command(seam.ConfirmResolution, seam.NotePayload(actor=REPORTER)),
        "dispute": _command(
            seam.DisputeResolution, seam.DisputePayload(actor=REPORTER, reason="Belum berubah.")
        ),
        "ask": _command(
            seam.RequestInformation,
            seam.RequestInformationPayload(actor=VERIFIER, question="Puskesmas yang mana?"),
        ),
        "answer": _command(
            seam.ProvideInformation,
            seam.ProvideInformationPayload(actor=REPORTER, text="Puskesmas Masohi."),
        ),
        "withdraw": _command(seam.WithdrawComplaint, seam.NotePayload(actor=REPORTER)),
        "escalate": _command(
            seam.EscalateManually, seam.EscalatePayload(actor=OFFICER, reason="Tidak ada kabar.")
        ),
    }


#: Scripts and their weights. Silent tails let SLA warnings, breaches, escalations, the reporter's
#: silence (automatic closure) and the information deadline (automatic withdrawal) fire.
SCRIPTS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (20, ("formal", "material", "accept", "plan", "resolve", "confirm")),
    (12, ("formal", "material", "accept", "plan", "resolve")),
    (6, ("formal", "material", "accept", "plan", "resolve", "dispute", "resolve")),
    (14, ()),
    (12, ("formal", "material")),
    (8, ("formal", "material", "accept")),
    (8, ("formal", "ask", "answer", "material", "plan")),
    (6, ("formal", "ask")),
    (6, ("formal", "withdraw")),
    (8, ("formal", "material", "escalate", "accept", "confirm")),
)
BUSY_FILLER_STEPS = ("confirm", "accept", "formal", "answer", "dispute")


@dataclass
class _OpenCase:
    case_id: str
    intake: Outgoing
    builds: list[Build]
    sent: list[Outgoing] = field(default_factory=list)
    opened: bool = False
    # Index into ``sent`` of a message to redeliver at the end (busy cases).
    resend_at_end: int | None = None
    busy: bool = False


class Traffic:
    """Yields ``Outgoing`` messages; ``now`` gives the simulated instant to stamp them with."""

    def __init__(self, seed: int, messages: int, cases: int, now: Callable[[], datetime]) -> None:
        self.rng = random.Random(seed)
        self.budget = messages
        self.cases_left = cases
        self.now = now
        self.counts = TrafficCounts()
        self.history: list[Outgoing] = []
        self.open: list[_OpenCase] = []
        self.serial = 0
        self.tag = f"chaos-{seed}"

    def __iter__(self) -> Iterator[Outgoing]:
        while self.budget > 0:
            for item in self._next():
                if self.budget <= 0:
                    return
                self.budget -= 1
                self.counts.add(item)
                self.history.append(item)
                yield item

    # -- one step --------------------------------------------------------------------------

    def _next(self) -> list[Outgoing]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.03 and self.history:
            return [self._again(self.history[-1], "duplicate")]
        if roll < 0.05 and len(self.history) > 500:
            # A redelivery long after the original (at least 500 messages later).
            return [self._again(rng.choice(self.history[:-500]), "redelivery")]
        remaining_ratio = self.cases_left / max(self.budget, 1)
        if self.cases_left and (not self.open or rng.random() < remaining_ratio * 1.2):
            return self._open_case()
        if not self.open:
            return [self._again(rng.choice(self.history), "redelivery")]
        return self._advance(rng.randrange(len(self.open)))

    def _again(self, item: Outgoing, kind: str) -> Outgoing:
        return Outgoing(item.topic, item.key, item.value, item.case_id, item.message_id, kind)

    def _open_case(self) -> list[Outgoing]:
        rng = self.rng
        self.cases_left -= 1
        self.counts.cases += 1
        self.serial += 1
        complaint = self._complaint(f"{self.tag}-{self.serial:06d}")
        case_id = complaint.derived_case_id
        intake = Outgoing(
            INTAKE,
            case_id.encode(),
            seam.encode(complaint),
            case_id,
            complaint.event_id,
            "new",
        )
        steps = _steps(rng.choice(AGENCIES))
        weights = [w for w, _ in SCRIPTS]
        script = list(rng.choices([s for _, s in SCRIPTS], weights=weights)[0])
        busy = rng.random() < 0.01
        case = _OpenCase(case_id, intake, [steps[name] for name in script])
        if busy:
            self.counts.busy_cases += 1
            filler = [rng.choice(BUSY_FILLER_STEPS) for _ in range(BUSY_CASE_FILLER)]
            case.builds = [steps["formal"], steps["escalate"], *(steps[n] for n in filler)]
            case.resend_at_end = 1
            case.busy = True
        self.open.append(case)
        if case.builds and rng.random() < 0.04:
            # The first command overtakes its intake (published just before it).
            first = self._command_of(case, case.builds.pop(0), "overtaking")
            case.opened = True
            return [first, intake]
        case.opened = True
        return [intake]

    def _advance(self, index: int) -> list[Outgoing]:
        case = self.open[index]
        if not case.builds:
            self.open.pop(index)
            if case.resend_at_end is not None and len(case.sent) > case.resend_at_end:
                return [self._again(case.sent[case.resend_at_end], "redelivery")]
            return self._next() if self.open or self.cases_left else []
        # A busy case sends bursts, so its 40-odd messages fit in the run beside the others.
        burst = self.rng.randint(4, 10) if case.busy else 1
        builds, case.builds = case.builds[:burst], case.builds[burst:]
        return [self._command_of(case, build, "new") for build in builds]

    def _command_of(self, case: _OpenCase, build: Build, kind: str) -> Outgoing:
        command = build(case.case_id, self.now(), self._uuid())
        item = Outgoing(
            COMMANDS,
            case.case_id.encode(),
            seam.encode(command),
            case.case_id,
            command.event_id,
            kind,
        )
        case.sent.append(item)
        return item

    def _uuid(self) -> str:
        """Message ids from the seeded generator, so a seed gives the same stream."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _complaint(self, message_id: str) -> Any:
        rng = self.rng
        now = self.now()
        confidentiality = rng.choice(("public", "public", "confidential", "anonymous"))
        reporter: dict[str, Any] = {"confidentiality": confidentiality}
        if confidentiality != "anonymous":
            reporter.update(name="Maria Latuconsina", phone="081234567890")
        return seam.ComplaintSubmitted(
            event_id=self._uuid(),
            occurred_at=now,
            payload=seam.ComplaintPayload(
                channel=rng.choice((seam.Channel.WEB, seam.Channel.SMS, seam.Channel.WHATSAPP)),
                channel_message_id=message_id,
                received_at=now,
                reporter=seam.Reporter.model_validate(reporter),
                subject="Pelayanan lambat",
                text="Antrean pelayanan sangat lama dan petugas tidak ada di tempat.",
                agency_hint=rng.choice((None, "DINKES", "PUPR")),
            ),
        )
