"""The worker's own HTTP pages: /clock/, /stats/ and /debug/tasks/ (on faust's web server).

/metrics is served there too, by faust's Prometheus sensor (wired in :mod:`consumers.engine.app`).
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING, Any

import faust
from faust.web import Request, Response, View

from consumers.engine.faust_internals import consumer_flow_state

if TYPE_CHECKING:
    from consumers.engine.app import Engine


def register_pages(app: faust.App, engine: Engine) -> None:
    """Add the worker's pages to ``app``; they read ``engine`` at request time."""

    class ClockView(View):
        async def get(self, request: Request) -> Response:
            return self.json(
                {
                    "now": engine.clock.now().isoformat(),
                    "mode": engine.settings.clock,
                    "scheduled": len(engine.index),
                }
            )

    class StatsView(View):
        async def get(self, request: Request) -> Response:
            return self.json(stats_page(engine))

    class TasksView(View):
        """Where every asyncio task of the worker is waiting (for diagnosing a stall)."""

        async def get(self, request: Request) -> Response:
            return self.text(describe_tasks())

    app.page("/clock/")(ClockView)
    app.page("/stats/")(StatsView)
    app.page("/debug/tasks/")(TasksView)


def stats_page(engine: Engine) -> dict[str, Any]:
    relay = engine.relay
    return {
        **engine.agent.stats.__dict__,
        "first_offsets": _by_partition(engine.agent.first_offsets),
        "last_offsets": _by_partition(engine.agent.last_offsets),
        "ready": engine.ready,
        "owned_partitions": sorted(engine.owned_partitions()),
        "relayed_events": relay.published_events,
        "relayed_snapshots": relay.published_snapshots,
        "relay_failures": relay.failures,
        "consumer": {
            **consumer_flow_state(engine.app.consumer),
            "in_recovery": bool(engine.app.in_recovery),
        },
    }


def _by_partition(offsets: dict[tuple[str, int], int]) -> dict[str, int]:
    return {f"{topic}:{partition}": offset for (topic, partition), offset in offsets.items()}


def describe_tasks() -> str:
    """Every asyncio task and the chain of awaits it is suspended in, innermost last."""
    out = io.StringIO()
    for task in asyncio.all_tasks():
        out.write(f"--- {task.get_name()}\n")
        awaited: Any = task.get_coro()
        while awaited is not None:
            frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
            if frame is not None:
                code = frame.f_code
                out.write(f"  {code.co_filename}:{frame.f_lineno} {code.co_name}\n")
            awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return out.getvalue()
