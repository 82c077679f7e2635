"""The only places the engine reads faust's private attributes, each with why no public API serves.

tests/unit/test_library_internals.py pins every attribute used here against the installed faust
(constraints.txt), so an upgrade that renames one fails that test instead of silently turning a
diagnostic empty or the SLA index incomplete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _names(partitions: Iterable[Any] | None) -> list[str]:
    return sorted(f"{tp.topic}:{tp.partition}" for tp in partitions or ())


def consumer_flow_state(consumer: Any) -> dict[str, Any]:
    """faust's view of its source partitions, for diagnosing a worker that stops consuming.

    faust's Consumer keeps the partitions it paused (flow control, recovery), those with buffered
    records and those it fetches from only as private sets; its public API can pause and resume
    but not tell which partitions are in which state.
    """
    return {
        "flow_active": bool(getattr(consumer, "flow_active", True)),
        "paused": _names(getattr(consumer, "_paused_partitions", ())),
        "buffered": _names(getattr(consumer, "_buffered_partitions", ())),
        "active": _names(getattr(consumer, "_active_partitions", None)),
    }


def memory_store_partitions(store: Any) -> Mapping[bytes, int]:
    """Key -> partition as faust's memory store recorded it while recovering the changelog.

    The store knows the partition each key was recovered from, which is what decides whether this
    worker owns the case; faust exposes it only as ``_key_partition`` (the table's public API has
    no per-key partition). Empty for other stores (rocksdb): the caller falls back to hashing the
    key, which agrees as long as every producer used the default partitioner.
    """
    known = getattr(store, "_key_partition", None)
    return known if isinstance(known, Mapping) else {}
