"""Choosing the reporter's channel, pacing messages per recipient, and retrying a send.

`channel_for`: the channel the complaint came in on when it has an address there (WhatsApp or
SMS by phone, email), else email, else SMS; None when nothing is configured for the reporter.
`RecipientPacer`: at most ``per_hour`` messages to one address in any hour and ``gap`` seconds
between two; a message over the limit waits as a pending message (it is never dropped, and it
holds up no other recipient).
`send_with_retries`: the first, short, in-line attempts with the officer alerts' backoff delays
(`consumers.notifier.delivery.Backoff`); a permanent failure (the provider refused the request
itself) is not retried. What still fails for now is retried durably (`consumers.reporter.retrier`).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from consumers.notifier.delivery import Backoff
from consumers.reporter.channels import ChannelSender, Outgoing, SendFailed
from consumers.reporter.contacts import Contact


@dataclass(frozen=True)
class RetryPolicy:
    """How long one reporter message is retried at once, in line, before it becomes pending
    (`consumers.reporter.pending`, retried by `consumers.reporter.retrier`); the delays between
    attempts are the officer alerts' capped exponential backoff with jitter. Short, so a
    provider outage holds up the event loop for seconds, not minutes."""

    max_attempts: int = 3
    base: float = 0.5
    cap: float = 8.0
    give_up_after: float = 5.0

    def delay(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (1 = the first retry)."""
        return Backoff(self.base, self.cap).delay(retry)


__all__ = ["Attempted", "RecipientPacer", "channel_for", "send_with_retries"]


def channel_for(contact: Contact, senders: Mapping[str, ChannelSender]) -> tuple[str, str] | None:
    """(channel, address) to reach ``contact`` with, or None."""
    by_phone = [c for c in ("whatsapp", "sms") if c in senders and contact.phone]
    own = contact.channel
    if own in by_phone and contact.phone:
        return own, contact.phone
    if own == "email" and contact.email and "email" in senders:
        return "email", contact.email
    if contact.email and "email" in senders:
        return "email", contact.email
    if "sms" in by_phone and contact.phone:
        return "sms", contact.phone
    return None


@dataclass
class RecipientPacer:
    per_hour: int
    gap: float
    clock: Callable[[], float] = time.monotonic
    _sent: dict[str, deque[float]] = field(default_factory=dict)

    @staticmethod
    def _id(address: str) -> str:
        # Only a hash is kept in memory for pacing: nothing to leak in a heap dump or a log.
        return hashlib.sha256(address.encode()).hexdigest()[:32]

    def wait_for(self, address: str) -> float:
        """Seconds to wait before the next message to ``address`` may go."""
        now = self.clock()
        sent = self._sent.setdefault(self._id(address), deque())
        while sent and now - sent[0] >= 3600:
            sent.popleft()
        wait = 0.0
        if sent:
            wait = max(wait, sent[-1] + self.gap - now)
        if len(sent) >= self.per_hour:
            wait = max(wait, sent[0] + 3600 - now)
        return wait

    def note(self, address: str) -> None:
        self._sent.setdefault(self._id(address), deque()).append(self.clock())

    async def pace(self, address: str, sleep: Callable[[float], Awaitable[None]]) -> float:
        waited = 0.0
        while (wait := self.wait_for(address)) > 0:
            await sleep(wait)
            waited += wait
        return waited


@dataclass(frozen=True)
class Attempted:
    delivered: bool
    attempts: int
    provider_id: str = ""
    reason: str = ""
    permanent: bool = False
    """The provider refused the message itself: retrying cannot help."""


async def send_with_retries(
    sender: ChannelSender,
    message: Outgoing,
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Attempted:
    """Send until accepted, a permanent refusal, or the policy's limits; never raises."""
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return Attempted(True, attempt, await sender.send(message))
        except SendFailed as exc:
            reason = str(exc)
            if exc.permanent or attempt >= policy.max_attempts:
                return Attempted(False, attempt, reason=reason, permanent=exc.permanent)
        pause = policy.delay(attempt)
        if time.monotonic() - started + pause > policy.give_up_after:
            return Attempted(False, attempt, reason=reason)
        await sleep(pause)
