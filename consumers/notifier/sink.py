"""A local SMTP sink for development: accepts every message, prints one line, keeps a copy.

``python -m consumers.notifier.sink --port 2525 --maildir var/smtp-sink`` (or ``aduan smtp-sink``)
listens on 127.0.0.1:2525 with aiosmtpd, prints ``sink: <from> -> <to>: <subject>`` for each
message and stores it as ``<maildir>/<n>-<timestamp>.eml``. It relays nothing anywhere; the
sample officer directory (deploy/notifier/officers.yaml) sends its email here.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import sys
import time
from collections.abc import Sequence
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["SinkHandler", "main", "start_sink"]


class SinkHandler:
    """aiosmtpd handler: remembers (and optionally stores) every message it accepts."""

    def __init__(self, maildir: Path | None = None, echo: bool = True) -> None:
        self.maildir = maildir
        self.echo = echo
        self.messages: list[tuple[str, list[str], Any]] = []
        self._n = itertools.count(1)
        if maildir is not None:
            maildir.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        message = message_from_bytes(data, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        n = next(self._n)
        if self.maildir is not None:
            (self.maildir / f"{n:05d}-{int(time.time())}.eml").write_bytes(data)
        if self.echo:
            print(
                f"sink: {envelope.mail_from} -> {', '.join(envelope.rcpt_tos)}: "
                f"{message['subject']}",
                flush=True,
            )
        return "250 OK: stored by the aduan SMTP sink"


def start_sink(
    host: str = "127.0.0.1", port: int = 2525, maildir: Path | None = None, echo: bool = True
) -> tuple[Controller, SinkHandler]:
    """Start the sink in a background thread; stop it with ``controller.stop()``."""
    handler = SinkHandler(maildir, echo)
    controller = Controller(handler, hostname=host, port=port)
    controller.start()
    return controller, handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m consumers.notifier.sink", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--maildir", type=Path, default=Path("var/smtp-sink"))
    args = parser.parse_args(argv)
    controller, _ = start_sink(args.host, args.port, args.maildir)
    print(f"sink: SMTP on {args.host}:{args.port}, copies in {args.maildir}/ (Ctrl-C stops)")

    async def wait() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    try:
        asyncio.run(wait())
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
