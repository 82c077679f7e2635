"""The attachment store: uploaded files go to a local folder, messages carry only a reference.

Files are content-addressed (``store:sha256/<hex>``), so the same file uploaded twice is kept
once and a redelivered message references the same file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from consumers.adapters.base import clean_content_type, clean_name
from workflow.values import MAX_ATTACHMENT_BYTES, Attachment


class AttachmentStore:
    """Keeps files under ``root/sha256/<first two hex>/<hex>``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, data: bytes, content_type: str | None, name: str | None) -> Attachment:
        """Store ``data`` and return the `Attachment` reference a message may carry."""
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"attachment of {len(data)} bytes exceeds {MAX_ATTACHMENT_BYTES}")
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return Attachment(
            uri=f"store:sha256/{digest}",
            size_bytes=len(data),
            content_type=clean_content_type(content_type),
            name=clean_name(name),
        )

    def path_for(self, digest: str) -> Path:
        return self.root / "sha256" / digest[:2] / digest

    def open_uri(self, uri: str) -> bytes:
        """The bytes of a ``store:`` reference (KeyError if unknown)."""
        prefix = "store:sha256/"
        digest = uri.removeprefix(prefix)
        if not uri.startswith(prefix) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise KeyError(uri)
        try:
            return self.path_for(digest).read_bytes()
        except FileNotFoundError:
            raise KeyError(uri) from None
