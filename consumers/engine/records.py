"""What the case table holds, and how it travels on the table's changelog.

A :class:`CaseRecord` is the case snapshot plus its *outbox*: the encoded domain events produced by
the message that made this snapshot. The case agent writes only the table; the event relay
(:mod:`consumers.engine.relay`) reads the table's changelog and publishes the outbox to
``cases.events`` and the snapshot to ``cases.state`` inside one Kafka transaction. Snapshot and
events therefore commit together or not at all, which is what keeps the audit trail free of
duplicates after a crash.

Changelog value framing (binary, so the relay never parses JSON): ``b"ADN1"`` then, for the snapshot
and for each outbox event, a 4-byte big-endian length and that many bytes of JSON.

A case whose commands arrived before its intake holds :class:`HeldCommands` under its key instead
(issue 12): the commands' original bytes and where they came from, until the intake opens the case
or the wait expires. Framed the same way after ``b"ADH1"``: a JSON header (expiry instant and the
sources), then each command's original bytes. The relay publishes nothing for it (`is_held`).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faust.serializers import codecs

from workflow.case import Case

MAGIC = b"ADN1"
HELD_MAGIC = b"ADH1"
_LENGTH = struct.Struct(">I")
CODEC_NAME = "aduan-case-record"


@dataclass(frozen=True, slots=True)
class CaseRecord:
    case: Case
    outbox: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class HeldCommand:
    """A command that arrived before its case's intake: original bytes and source record."""

    raw: bytes
    topic: str
    partition: int
    offset: int
    key: bytes | None
    """The record's key (the case id it was held for)."""


@dataclass(frozen=True, slots=True)
class HeldCommands:
    """The commands waiting for a case's intake, in arrival order, until ``expires_at``."""

    expires_at: datetime
    commands: tuple[HeldCommand, ...]


TableValue = CaseRecord | HeldCommands
"""What the case table holds under a case id."""


def frame(parts: list[bytes] | tuple[bytes, ...], magic: bytes = MAGIC) -> bytes:
    chunks = [magic]
    for part in parts:
        chunks.append(_LENGTH.pack(len(part)))
        chunks.append(part)
    return b"".join(chunks)


def unframe(data: bytes, magic: bytes = MAGIC) -> list[bytes]:
    """Split a changelog value into [snapshot, event, event, ...]; ValueError if malformed."""
    if not data.startswith(magic):
        raise ValueError("not an aduan case record (bad magic)")
    parts: list[bytes] = []
    position = len(magic)
    while position < len(data):
        if position + _LENGTH.size > len(data):
            raise ValueError("truncated case record")
        (length,) = _LENGTH.unpack_from(data, position)
        position += _LENGTH.size
        if position + length > len(data):
            raise ValueError("truncated case record")
        parts.append(data[position : position + length])
        position += length
    if not parts:
        raise ValueError("case record without a snapshot")
    return parts


def encode_record(record: CaseRecord) -> bytes:
    return frame([record.case.model_dump_json().encode(), *record.outbox])


def decode_record(data: bytes) -> CaseRecord:
    snapshot, *outbox = unframe(data)
    return CaseRecord(Case.model_validate_json(snapshot), tuple(outbox))


def is_held(data: bytes) -> bool:
    """True for a changelog value holding commands (nothing to publish)."""
    return data.startswith(HELD_MAGIC)


def encode_held(held: HeldCommands) -> bytes:
    sources = [
        [c.topic, c.partition, c.offset, None if c.key is None else c.key.decode()]
        for c in held.commands
    ]
    header = json.dumps({"expires_at": held.expires_at.isoformat(), "sources": sources})
    return frame([header.encode(), *(c.raw for c in held.commands)], HELD_MAGIC)


def decode_held(data: bytes) -> HeldCommands:
    header, *raws = unframe(data, HELD_MAGIC)
    meta = json.loads(header)
    if len(meta["sources"]) != len(raws):
        raise ValueError("held commands: sources and bodies differ in number")
    commands = tuple(
        HeldCommand(raw, str(topic), int(partition), int(offset), None if k is None else k.encode())
        for raw, (topic, partition, offset, k) in zip(raws, meta["sources"], strict=True)
    )
    return HeldCommands(datetime.fromisoformat(meta["expires_at"]), commands)


class CaseRecordCodec(codecs.Codec):
    """Faust codec for the case table's values."""

    def _dumps(self, obj: Any) -> bytes:
        if isinstance(obj, CaseRecord):
            return encode_record(obj)
        if isinstance(obj, HeldCommands):
            return encode_held(obj)
        raise TypeError(f"not a case table value: {type(obj).__name__}")

    def _loads(self, s: bytes) -> Any:
        if is_held(s):
            return decode_held(s)
        # Only table recovery decodes through this codec, and the recovered table needs the
        # case alone: the outbox was the relay's, which reads the changelog bytes itself.
        return CaseRecord(decode_record(s).case)


def register_codec() -> None:
    """Register the codec with faust (idempotent)."""
    codecs.register(CODEC_NAME, CaseRecordCodec())
