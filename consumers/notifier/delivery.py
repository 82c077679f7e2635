"""Sending one message to one target, once, with a verdict: delivered, failed for now, or never.

`AppriseSender` sends through apprise (email over SMTP, JSON webhooks, chat services); it runs
apprise's blocking call in a thread and turns a failure into `DeliveryFailed` with apprise's own
error line as the reason (the target URL, which may hold a secret, is never in it). A failure that
no retry can cure is a `PermanentFailure`: apprise cannot send to the URL at all (unknown scheme,
malformed), or the mail server refuses the recipient's address itself (5xx with an enhanced status
5.1.x: no such mailbox, bad address syntax). Everything else (connection refused, timeouts, 4xx,
a webhook answering 500, even a relay refusal 5.7.x, which an operator fixes at the server) is
transient: the message stays pending and is retried (`consumers.notifier.retrier`).

`Backoff` gives the delay before each retry of one target: ``base * 2**n`` up to ``cap``, each
drawn uniformly from its upper half ("equal jitter"), so many notifiers recovering from the same
outage do not retry in lockstep.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from dataclasses import dataclass
from typing import Protocol

from consumers.notifier.directory import Target

__all__ = ["AppriseSender", "Backoff", "DeliveryFailed", "PermanentFailure", "Sender"]


class DeliveryFailed(Exception):
    """One attempt failed and a later one may succeed; ``str()`` is the reason."""


class PermanentFailure(DeliveryFailed):
    """The target itself is invalid: no retry can deliver to it."""


class Sender(Protocol):
    async def send(self, target: Target, subject: str, body: str, severity: str) -> None:
        """Deliver or raise `DeliveryFailed` (`PermanentFailure` when retrying is pointless)."""
        ...


@dataclass(frozen=True)
class Backoff:
    base: float = 0.5
    cap: float = 300.0

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds before retry number ``retry`` (1 = the first retry)."""
        upper = min(self.cap, self.base * 2 ** min(retry - 1, 62))
        return (rng or random).uniform(upper / 2, upper)


# smtplib's SMTPRecipientsRefused as apprise logs it: {'a@b': (550, b'5.1.1 ...')}.
_REFUSED_ADDRESS = re.compile(r"\(5\d\d, b?['\"]5\.1\.\d")


def _reason(lines: list[str]) -> str:
    """The last warning apprise logged (its debug lines may name the URL: never used)."""
    for line in reversed(lines):
        if not line.startswith("DEBUG"):
            return line.split(" - ", 1)[-1]
    return "no detail from apprise"


class AppriseSender:
    """Delivery through apprise, one apprise object per attempt."""

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
            raise PermanentFailure(f"{target.label}: not a URL apprise can send to")
        fmt = "%(levelname)s - %(message)s"
        with apprise.LogCapture(level=logging.DEBUG, fmt=fmt) as output:
            ok = client.notify(
                title=subject,
                body=body,
                notify_type=notify_type,
                body_format=apprise.NotifyFormat.TEXT,
            )
            if not ok:
                text = output.getvalue()
                lines = [line.strip() for line in text.splitlines() if line.strip()]
                detail = f"{target.label}: {_reason(lines)[:300]}"
                if target.channel == "email" and _REFUSED_ADDRESS.search(text):
                    raise PermanentFailure(f"{detail} (the mail server refused the address)")
                raise DeliveryFailed(detail)

    async def send(self, target: Target, subject: str, body: str, severity: str) -> None:
        await asyncio.to_thread(self._send_blocking, target, subject, body, severity)
