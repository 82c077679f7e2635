"""Sending one message to one target, with retries (exponential backoff, jitter) and a verdict.

`AppriseSender` sends through apprise (email over SMTP, JSON webhooks, chat services); it runs
apprise's blocking call in a thread and turns a failure into `DeliveryFailed` with apprise's own
error line as the reason (the target URL, which may hold a secret, is never in it).
`deliver` retries a failing send until it succeeds, ``max_attempts`` are used or ``give_up_after``
seconds have passed; the delays grow as ``base * 2**n`` up to ``cap``, each drawn uniformly from
its upper half ("equal jitter"), so many notifiers recovering from the same outage do not retry
in lockstep.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from consumers.notifier.directory import Target

__all__ = ["AppriseSender", "DeliveryFailed", "Outcome", "RetryPolicy", "Sender", "deliver"]


class DeliveryFailed(Exception):
    """One attempt failed; ``str()`` is the reason."""


class Sender(Protocol):
    async def send(self, target: Target, subject: str, body: str, severity: str) -> None:
        """Deliver or raise `DeliveryFailed`."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base: float = 0.5
    cap: float = 8.0
    give_up_after: float = 60.0

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds before retry number ``retry`` (1 = the first retry)."""
        upper = min(self.cap, self.base * 2 ** (retry - 1))
        return (rng or random).uniform(upper / 2, upper)


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    attempts: int
    reason: str = ""


async def deliver(
    sender: Sender,
    target: Target,
    subject: str,
    body: str,
    severity: str,
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_retry: Callable[[int, str], None] | None = None,
) -> Outcome:
    """Send with retries; never raises for a delivery failure (the `Outcome` says)."""
    started = time.monotonic()
    attempt = 0
    reason = ""
    while True:
        attempt += 1
        try:
            await sender.send(target, subject, body, severity)
            return Outcome(True, attempt)
        except DeliveryFailed as exc:
            reason = str(exc) or "delivery failed"
        if attempt >= policy.max_attempts:
            break
        pause = policy.delay(attempt)
        if time.monotonic() - started + pause > policy.give_up_after:
            break
        if on_retry is not None:
            on_retry(attempt, reason)
        await sleep(pause)
    return Outcome(False, attempt, reason)


class AppriseSender:
    """Delivery through apprise, one apprise object per target URL (built once, reused)."""

    def __init__(self) -> None:
        import apprise

        self._apprise = apprise

    def _send_blocking(self, target: Target, subject: str, body: str, severity: str) -> None:
        apprise = self._apprise
        notify_type = {
            "warning": apprise.NotifyType.WARNING,
            "failure": apprise.NotifyType.FAILURE,
        }.get(severity, apprise.NotifyType.INFO)
        client = apprise.Apprise()
        if not client.add(target.url):
            raise DeliveryFailed(f"{target.label}: not a URL apprise can send to")
        with apprise.LogCapture(level=logging.WARNING) as output:
            ok = client.notify(
                title=subject,
                body=body,
                notify_type=notify_type,
                body_format=apprise.NotifyFormat.TEXT,
            )
            if not ok:
                lines = [line.strip() for line in output.getvalue().splitlines() if line.strip()]
                detail = lines[-1] if lines else "no detail from apprise"
                raise DeliveryFailed(f"{target.label}: {detail[:300]}")

    async def send(self, target: Target, subject: str, body: str, severity: str) -> None:
        await asyncio.to_thread(self._send_blocking, target, subject, body, severity)
