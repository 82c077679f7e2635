"""The escalation ladder: who is alerted, in order, when a case's deadline passes.

Level 0 means "not escalated". A breach of the stage deadline moves a case to level 1; each
level has its own deadline (`EscalationLevel.deadline`) after which the next level is alerted.
Past the top level the case stays at the top and a reminder goes out every
``reminder_interval``.

A ladder belongs to one agency: the case climbs the ladder of the agency that is late (see
`workflow.escalation_state`); `LevelReached` records how far it climbed an agency's ladder.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workflow.sla import DayType, SlaTarget

__all__ = ["DEFAULT_LEVEL_DEADLINE", "EscalationLadder", "EscalationLevel", "LevelReached"]

DEFAULT_LEVEL_DEADLINE = SlaTarget(amount=3, unit=DayType.WORKING)


class EscalationLevel(BaseModel):
    """One rung: the officer role alerted at this level and how long it has to act."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: int = Field(ge=1)
    title: str = Field(min_length=1)
    """Human title, e.g. "Kepala OPD"."""
    role: str = Field(min_length=1)
    """Role key the notifier resolves to officers (per agency), e.g. "head_of_agency"."""
    deadline: SlaTarget = DEFAULT_LEVEL_DEADLINE


class LevelReached(BaseModel):
    """The highest level a case reached on one agency's ladder (an entry of its history)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agency: str = Field(min_length=1)
    level: int = Field(ge=1)


_DEFAULT_LEVELS = (
    EscalationLevel(level=1, title="Kepala OPD", role="head_of_agency"),
    EscalationLevel(level=2, title="Sekretaris Daerah / Inspektorat", role="regional_secretary"),
    EscalationLevel(
        level=3,
        title="Ombudsman RI Perwakilan Provinsi Maluku",
        role="ombudsman_representative",
    ),
)


class EscalationLadder(BaseModel):
    """Ordered escalation levels numbered 1..top, plus the reminder interval past the top."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    levels: tuple[EscalationLevel, ...] = _DEFAULT_LEVELS
    reminder_interval: SlaTarget = SlaTarget(amount=2, unit=DayType.WORKING)

    @model_validator(mode="after")
    def _check_numbering(self) -> EscalationLadder:
        if not self.levels:
            raise ValueError("an escalation ladder needs at least one level")
        numbers = [lv.level for lv in self.levels]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"levels must be numbered 1, 2, ... in order; got {numbers}")
        return self

    @property
    def top(self) -> int:
        """The highest level number."""
        return len(self.levels)

    def level(self, n: int) -> EscalationLevel:
        """Level ``n`` (1..top); raises KeyError naming the valid range otherwise."""
        if not 1 <= n <= self.top:
            raise KeyError(f"escalation level {n} does not exist (levels 1..{self.top})")
        return self.levels[n - 1]

    def next_level(self, current: int) -> int | None:
        """The level after ``current`` (0 = not escalated -> 1); None at or past the top."""
        if current < 0:
            raise ValueError(f"escalation level cannot be negative: {current}")
        return current + 1 if current < self.top else None

    def deadline_after(self, current: int) -> SlaTarget:
        """How long level ``current`` has before the next step: its own deadline, or the
        reminder interval once the case sits at the top."""
        if current >= self.top:
            return self.reminder_interval
        return self.level(current).deadline
