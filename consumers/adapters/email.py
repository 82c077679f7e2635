"""E-mail: a raw RFC 5322 message (HTTP upload or the SMTP listener) -> intake.

Bodies in quoted-printable or base64 and any declared charset are decoded by the standard
library's parser (``email.policy.default``); an HTML-only message is turned into text; every
other MIME part with a file name (or a non-text part) is stored through the attachment store
and referenced. The ``Message-ID`` is the channel message id (so the same mail delivered twice
is one case); a mail without one gets the SHA-256 of its bytes. ``[RAHASIA]`` / ``[ANONIM]`` in
the subject set the reporter's confidentiality.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from email import errors as email_errors
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

from consumers.adapters.base import AdapterError, ComplaintDraft, build_complaint
from workflow.enums import Channel, Confidentiality
from workflow.intake import ComplaintSubmitted
from workflow.values import Attachment

SaveAttachment = Callable[[bytes, str | None, str | None], Attachment]

_BROKEN = (
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
    email_errors.MissingHeaderBodySeparatorDefect,
)
_MARKER = re.compile(r"\[\s*(RAHASIA|ANONIM)\s*\]", re.IGNORECASE)


class _TextExtractor(HTMLParser):
    _SKIP = frozenset({"script", "style", "head", "title"})
    _BREAK = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body (tags dropped, entities decoded, blank runs folded)."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = [
        re.sub(r"[ \t\r\f\v\xa0]+", " ", line).strip()
        for line in "".join(extractor.parts).split("\n")
    ]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def parse_email(raw: bytes) -> EmailMessage:
    """Parse; AdapterError ``broken_mime`` for structurally broken MIME."""
    if not raw.strip():
        raise AdapterError("broken_mime", "the message is empty")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    for part in message.walk():
        for defect in part.defects:
            if isinstance(defect, _BROKEN):
                raise AdapterError(
                    "broken_mime", f"{type(defect).__name__}: {defect.__doc__ or ''}".strip()
                )
    if not message.keys():
        raise AdapterError("broken_mime", "no RFC 5322 header found")
    return message


def _decode_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def from_email(raw: bytes, now: datetime, save: SaveAttachment) -> ComplaintSubmitted:
    """A raw e-mail -> intake; attachments are handed to ``save`` and referenced."""
    message = parse_email(raw)
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        if filename or disposition == "attachment" or part.get_content_maintype() not in ("text",):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                attachments.append(save(data, content_type, filename))
            continue
        if content_type == "text/plain" and plain is None:
            plain = _decode_text(part)
        elif content_type == "text/html" and html is None:
            html = _decode_text(part)
    text = (plain or "").strip() or (html_to_text(html) if html else "")
    subject = str(message.get("Subject") or "")
    confidentiality = Confidentiality.PUBLIC
    marker = _MARKER.search(subject)
    if marker:
        word = marker.group(1).upper()
        confidentiality = (
            Confidentiality.CONFIDENTIAL if word == "RAHASIA" else Confidentiality.ANONYMOUS
        )
        subject = _MARKER.sub("", subject).strip()
    name, address = _sender(message)
    message_id = str(message.get("Message-ID") or "").strip().strip("<>")
    if not message_id or len(message_id) > 128:
        message_id = "sha256:" + hashlib.sha256(raw).hexdigest()[:40]
    if not text.strip() and attachments:
        text = "(lampiran tanpa keterangan)"
    draft = ComplaintDraft(
        channel=Channel.EMAIL,
        channel_message_id=message_id,
        received_at=now,
        channel_sent_at=_date_header(message),
        text=text,
        subject=subject or None,
        name=name,
        email=address,
        confidentiality=confidentiality,
        attachments=attachments,
    )
    return build_complaint(draft)


def _date_header(message: EmailMessage) -> datetime | None:
    # The sender writes Date: (a mail dated weeks ahead or back is easy): information only.
    date = message.get("Date")
    if not date:
        return None
    try:
        return parsedate_to_datetime(str(date))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _sender(message: EmailMessage) -> tuple[str | None, str | None]:
    header = message.get("Reply-To") or message.get("From")
    addresses: tuple[Address, ...] = getattr(header, "addresses", ()) if header else ()
    if not addresses:
        return None, None
    first = addresses[0]
    return (first.display_name or None), (first.addr_spec or None)
