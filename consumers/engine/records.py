"""What the case table holds, and how it travels on the table's changelog.

A :class:`CaseRecord` is the case snapshot plus its *outbox*: the encoded domain events produced by
the message that made this snapshot. The case agent writes only the table; the event relay
(:mod:`consumers.engine.relay`) reads the table's changelog and publishes the outbox to
``cases.events`` and the snapshot to ``cases.state`` inside one Kafka transaction. Snapshot and
events therefore commit together or not at all, which is what keeps the audit trail free of
duplicates after a crash.

Changelog value framing (binary, so the relay never parses JSON): ``b"ADN1"`` then, for the snapshot
and for each outbox event, a 4-byte big-endian length and that many bytes of JSON.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from faust.serializers import codecs

from workflow.case import Case

MAGIC = b"ADN1"
_LENGTH = struct.Struct(">I")
CODEC_NAME = "aduan-case-record"


@dataclass(frozen=True, slots=True)
class CaseRecord:
    case: Case
    outbox: tuple[bytes, ...] = ()


def frame(parts: list[bytes] | tuple[bytes, ...]) -> bytes:
    chunks = [MAGIC]
    for part in parts:
        chunks.append(_LENGTH.pack(len(part)))
        chunks.append(part)
    return b"".join(chunks)


def unframe(data: bytes) -> list[bytes]:
    """Split a changelog value into [snapshot, event, event, ...]; ValueError if malformed."""
    if not data.startswith(MAGIC):
        raise ValueError("not an aduan case record (bad magic)")
    parts: list[bytes] = []
    position = len(MAGIC)
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


class CaseRecordCodec(codecs.Codec):
    """Faust codec for the case table's values."""

    def _dumps(self, obj: Any) -> bytes:
        if not isinstance(obj, CaseRecord):
            raise TypeError(f"case table values must be CaseRecord, not {type(obj).__name__}")
        return encode_record(obj)

    def _loads(self, s: bytes) -> Any:
        # Only table recovery decodes through this codec, and the recovered table needs the
        # case alone: the outbox was the relay's, which reads the changelog bytes itself.
        return CaseRecord(decode_record(s).case)


def register_codec() -> None:
    """Register the codec with faust (idempotent)."""
    codecs.register(CODEC_NAME, CaseRecordCodec())
