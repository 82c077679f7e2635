"""Replies from ``reporter.inbound`` (the gateway's "is this a reply?" said yes) -> commands.

Matching: a tracking number in the reply names the case, but only when the sender is that
case's reporter (the contact store's address); without one, the sender's cases that wait for
this kind of answer (the conversation). Then:

* BERHENTI / STOP: opt-out of those cases' messages (the cases go on), confirmed once;
* a reply a waiting case understands: its command on ``cases.commands`` (deterministic event
  id: a redelivered reply is applied once by the core);
* a tracking number or a bare keyword that matches nothing waiting: a helpful answer on the
  same channel, and never a case;
* anything else (a first complaint that happens to start with "Tidak ..."): passed on to
  ``complaints.intake`` unchanged, as the complaint it is.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from consumers.reporter.contacts import Contact, ContactBook, optout_record
from consumers.reporter.replies import Reply, command_for, parse_reply
from consumers.topics import COMMANDS, CONTACTS, INTAKE
from workflow.codec import encode
from workflow.intake import ComplaintSubmitted

log = logging.getLogger("aduan.reporter")

__all__ = ["InboundHandler"]

#: A keyword reply this short that matches nothing is an answer gone astray, not a complaint.
BARE_REPLY_WORDS = 3
#: Reply keyword -> what a case must wait for to understand it (None: free text).
_WAITS_FOR: dict[str | None, str] = {
    None: "information",
    "INFO": "information",
    "CONFIRM": "confirmation",
    "DISPUTE": "confirmation",
}

Answer = Callable[[ComplaintSubmitted, str, str], Awaitable[None]]
"""(the reply, the answer's name in texts.yaml, the case id) -> send the answer back."""
Send = Callable[[str, bytes | None, bytes | None], Awaitable[None]]


class InboundHandler:
    def __init__(
        self,
        book: ContactBook,
        send: Send,
        topic: Callable[[str], str],
        answer: Answer,
        clock: Callable[[], datetime],
    ) -> None:
        self.book = book
        self._send = send
        self._topic = topic
        self._answer = answer
        self._clock = clock

    def _sender_cases(self, message: ComplaintSubmitted) -> list[str]:
        reporter = message.payload.reporter
        return self.book.cases_of(phone=reporter.phone, email=reporter.email)

    def _is_reporter_of(self, contact: Contact | None, message: ComplaintSubmitted) -> bool:
        reporter = message.payload.reporter
        if contact is None:
            return False
        same_phone = reporter.phone is not None and reporter.phone == contact.phone
        same_email = reporter.email is not None and reporter.email == contact.email
        return same_phone or same_email

    def _matched(self, reply: Reply, message: ComplaintSubmitted) -> list[str]:
        if reply.tracking is not None:
            own = self._is_reporter_of(self.book.contact(reply.tracking), message)
            return [reply.tracking] if own else []
        cases = self._sender_cases(message)
        if reply.keyword == "STOP":
            return cases
        wanted = _WAITS_FOR.get(reply.keyword)
        return [c for c in cases if self.book.waiting.get(c) == wanted]

    async def handle(self, message: ComplaintSubmitted) -> str:
        """What became of the reply: command, opted_out, answered or complaint."""
        reply = parse_reply(message.payload.text, message.payload.subject)
        cases = self._matched(reply, message)
        if reply.keyword == "STOP":
            return await self._opt_out(message, cases)
        for case_id in cases:
            waiting = self.book.waiting.get(case_id)
            command = command_for(reply, case_id, waiting, message, self._clock())
            if command is not None:
                await self._send(self._topic(COMMANDS), case_id.encode(), encode(command))
                return "command"
        if reply.tracking is not None or len(message.payload.text.split()) <= BARE_REPLY_WORDS:
            name = "unmatched" if not cases else "not_waiting"
            await self._answer(message, name, cases[0] if cases else "")
            return "answered"
        key = message.derived_case_id.encode()
        await self._send(self._topic(INTAKE), key, encode(message))
        return "complaint"

    async def _opt_out(self, message: ComplaintSubmitted, cases: list[str]) -> str:
        if not cases:
            await self._answer(message, "unmatched", "")
            return "answered"
        for case_id in cases:
            key, value = optout_record(case_id, self._clock())
            await self._send(self._topic(CONTACTS), key, value)
            self.book.opted_out[case_id] = self._clock()
        await self._answer(message, "opted_out", cases[0])
        return "opted_out"
