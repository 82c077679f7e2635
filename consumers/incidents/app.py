"""The incident detector's faust worker (``python -m consumers.incidents``).

Three agents, all at-least-once like the engine:

* ``incident-cases`` reads ``cases.events`` (keyed by case): a ``CaseOpened`` that names a place
  in the regency becomes a sighting, re-keyed by area (kecamatan) to the detector's internal
  topic with its receipt as the message timestamp; an ``IncidentUnlinked`` goes to the area the
  case was seen in (remembered per case).
* ``incident-areas`` reads that topic: the sightings in a tumbling windowed table (48 h windows
  by event time, per area; the linker reads a message's window and the one before), the open
  incidents and refused links in a plain table per area (`consumers.incidents.detector.on_area`),
  and sends ``LinkToIncident`` commands to ``cases.commands``, where the case engine applies them
  through decide/evolve.
* ``incident-follow`` reads the detector's follow topic, keyed by incident: what
  ``incident-cases`` learns of each linked case (its state, its operator decisions,
  `workflow.incidents.following.track_event`) becomes one table value per incident, and the
  verification commands every member still needs go to ``cases.commands``
  (`workflow.incidents.following.follow`).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import faust
from prometheus_client import CollectorRegistry, start_http_server

from consumers.incidents.detector import (
    AreaValue,
    on_area,
    sighting_from_opened,
    sightings_of,
    window_value,
)
from consumers.incidents.detector_metrics import DetectorMetrics
from consumers.incidents.settings import IncidentSettings
from consumers.settings import EngineSettings
from workflow.codec import InvalidMessage, encode, parse_event
from workflow.incidents.following import (
    CaseTrack,
    IncidentFollow,
    MemberNews,
    follow,
    on_news,
    track_event,
)
from workflow.incidents.linker import LinkRules, Sighting

log = logging.getLogger(__name__)

__all__ = ["IncidentDetectorApp"]

WINDOW_SECONDS = LinkRules().window.total_seconds()
"""The linker's window (48 h), also the size of the sightings' tumbling windows."""
WINDOWS_KEPT = 4
"""Windows kept before faust expires them: faust measures expiry against the wall clock, so
this leaves room for a lagging or restarted detector; older sightings could never link anyway."""
_FOLLOW_KIND = {"CompleteFormalVerification": "formal", "CompleteMaterialVerification": "material"}


class IncidentDetectorApp:
    def __init__(
        self,
        settings: EngineSettings,
        own: IncidentSettings | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.own = own or IncidentSettings()
        self.metrics = DetectorMetrics(registry or CollectorRegistry())
        s = settings
        self.app_id = f"{s.full_app_id}-incidents"
        self.app = faust.App(
            self.app_id,
            **s.faust_app(),
            store="memory://",
            datadir=str(s.data_dir / self.app_id),
            topic_partitions=s.topic_partitions,
            topic_replication_factor=s.topic_replication,
            topic_allow_declare=True,
            producer_acks=-1,
            processing_guarantee="at_least_once",
            consumer_auto_offset_reset="earliest",
            web_enabled=False,
            autodiscover=False,
        )
        self.events = self._raw(s.topic("cases.events"))
        self.commands = self._raw(s.topic("cases.commands"))
        self.sightings = self._raw(f"{self.app_id}-sightings", internal=True)
        self.follow_news = self._raw(f"{self.app_id}-follow", internal=True)
        self.case_areas = self._table("case-areas")
        self.areas = self._table("areas")
        # Each sighting is kept in the tumbling window of its receipt (event time: the area
        # message carries ``received_at`` as its timestamp); the linker looks at this window and
        # the one before, which together hold every sighting of the last ``WINDOW``.
        self.recent = (
            self._table("recent-sightings", default=str)
            .tumbling(WINDOW_SECONDS, expires=WINDOW_SECONDS * WINDOWS_KEPT)
            .relative_to_stream()
        )
        self.case_tracks = self._table("case-tracks")
        self.incidents = self._table("incident-follow")
        self.app.agent(self.events, name="incident-cases", concurrency=1)(self._cases_agent)
        self.app.agent(self.sightings, name="incident-areas", concurrency=1)(self._areas_agent)
        self.app.agent(self.follow_news, name="incident-follow", concurrency=1)(self._follow_agent)

    def _raw(self, name: str, internal: bool = False) -> faust.TopicT:
        return self.app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            internal=internal,
            partitions=self.settings.topic_partitions if internal else None,
        )

    def _table(self, name: str, default: Any = None) -> Any:
        # str keys and values with faust's JSON codecs: the values are our own JSON text, so
        # the changelog stays readable.
        return self.app.Table(
            name,
            default=default,
            key_type=str,
            value_type=str,
            partitions=self.settings.topic_partitions,
        )

    async def _cases_agent(self, stream: Any) -> None:
        async for value in stream:
            await self.on_case_event(value)

    async def on_case_event(self, raw: bytes) -> None:
        try:
            event = parse_event(raw)
        except InvalidMessage:
            return  # the engine's own output: not ours to dead-letter
        await self._to_area(event)
        await self._track(event)

    async def _track(self, event: Any) -> None:
        """Follow the case's state and decisions once it is placed (only those are linked)."""
        stored = self.case_tracks.get(event.case_id)
        if stored is None and event.type != "CaseOpened":
            return
        if stored is None and self.case_areas.get(event.case_id) is None:
            return
        before = CaseTrack.model_validate_json(stored) if stored else None
        track, news = track_event(before or CaseTrack(), event)
        if track != before:
            self.case_tracks[event.case_id] = track.model_dump_json()
        for item in news:
            value = item.model_dump_json().encode()
            await self.follow_news.send(key=item.incident_id.encode(), value=value)

    async def _to_area(self, event: Any) -> None:
        body: dict[str, Any]
        if event.type == "CaseOpened":
            sighting = sighting_from_opened(event)
            if sighting is None:
                return
            area = sighting.kecamatan
            self.case_areas[event.case_id] = area
            body = {"sighting": sighting.model_dump(mode="json")}
            at = sighting.received_at
        elif event.type == "IncidentUnlinked":
            area = self.case_areas.get(event.case_id)
            if area is None:
                return
            body = {"unlinked": [event.case_id, event.payload.incident_id]}
            at = event.occurred_at
        else:
            return
        # Event time, for the windowed table: when it was received (or unlinked).
        value = json.dumps(body).encode()
        await self.sightings.send(key=area.encode(), value=value, timestamp=at.timestamp())

    async def _areas_agent(self, stream: Any) -> None:
        async for event in stream.events():
            await self.on_area_message(event.key, event.value)

    async def on_area_message(self, key: bytes, raw: bytes) -> None:
        body = json.loads(raw)
        area = key.decode()
        stored = self.areas.get(area)
        lasting = AreaValue.model_validate_json(stored) if stored else AreaValue()
        windows = self.recent[area]
        current = sightings_of(windows.current())
        previous = sightings_of(windows.delta(WINDOW_SECONDS))
        message: Sighting | tuple[str, str]
        if "unlinked" in body:
            case_id, incident_id = body["unlinked"]
            message = (case_id, incident_id)
        else:
            message = Sighting.model_validate(body["sighting"])
        step = on_area(lasting, previous, current, message, datetime.now(UTC))
        for command in step.commands:
            await self.commands.send(key=command.case_id.encode(), value=encode(command))
            self.metrics.commands.labels("link").inc()
        if step.commands:
            log.info("incident links in %s: %d commands", area, len(step.commands))
        if step.window is not None:
            self.recent[area] = window_value(step.window)
        self.areas[area] = step.lasting.model_dump_json()

    async def _follow_agent(self, stream: Any) -> None:
        async for event in stream.events():
            await self.on_follow_news(event.key, event.value)

    async def on_follow_news(self, key: bytes, raw: bytes) -> None:
        news = MemberNews.model_validate_json(raw)
        incident = key.decode()
        stored = self.incidents.get(incident)
        value = IncidentFollow.model_validate_json(stored) if stored else IncidentFollow()
        value, commands = follow(incident, on_news(value, news), datetime.now(UTC))
        for command in commands:
            await self.commands.send(key=command.case_id.encode(), value=encode(command))
            self.metrics.commands.labels(_FOLLOW_KIND[command.type]).inc()
        if commands:
            log.info("incident %s: %d cases follow its verification", incident, len(commands))
        self.incidents[incident] = value.model_dump_json()

    def run(self) -> None:
        (self.settings.data_dir / self.app_id).mkdir(parents=True, exist_ok=True)
        if self.own.metrics_port:
            host, port = self.own.metrics_host, self.own.metrics_port
            start_http_server(port, host, registry=self.metrics.registry)
            log.info("incident detector metrics on http://%s:%d/metrics", host, port)
        worker = faust.Worker(self.app, loglevel=self.settings.log_level)
        worker.execute_from_commandline()
