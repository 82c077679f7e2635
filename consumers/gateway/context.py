"""What the routes share: the `Gateway` context (settings, credentials, publisher, read model,
attachment store, rate limiter, clock), built by `consumers.gateway.app.create_app` and reached
from a request as ``app.state.gateway``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from consumers.connectivity import BrokerLink
from consumers.gateway.errors import ApiError
from consumers.gateway.publisher import Publisher
from consumers.gateway.ratelimit import RateLimiter
from consumers.gateway.readmodel import KafkaReadModelFeeder
from consumers.gateway.security import SecurityConfig
from consumers.gateway.settings import GatewaySettings
from consumers.gateway.store import AttachmentStore
from consumers.readmodel.projection import Projection
from consumers.readmodel.queries import CaseQueries
from consumers.reporter.replies import looks_like_reply
from consumers.topics import REPORTER_INBOUND
from workflow.codec import encode
from workflow.intake import ComplaintSubmitted, with_tracking_number
from workflow.policy import Policy

log = logging.getLogger(__name__)


@dataclass
class Gateway:
    """Everything the routes use; built by `create_app`, reachable as ``app.state.gateway``."""

    settings: GatewaySettings
    security: SecurityConfig
    policy: Policy
    publisher: Publisher
    read_model: CaseQueries
    store: AttachmentStore
    limiter: RateLimiter
    clock: Callable[[], datetime]
    tracking_secret: bytes
    """The deployment's key for tracking numbers (`workflow.intake.case_id_for`)."""
    feeder: KafkaReadModelFeeder | Projection | None = None
    smtp_server: asyncio.Server | None = None
    agency_codes: frozenset[str] = field(default_factory=frozenset)
    broker: BrokerLink | None = None  # None: not tracked (an injected publisher, in tests)

    def now(self) -> datetime:
        return self.clock()

    async def submit(self, complaint: ComplaintSubmitted) -> str:
        """Publish an intake message under its keyed tracking number; returns the number once
        Kafka acknowledged."""
        complaint = with_tracking_number(complaint, self.tracking_secret)
        tracking = complaint.derived_case_id
        if looks_like_reply(complaint):
            # A reporter answering us (YA / TIDAK / INFO / a tracking number) must never open
            # a second case: the reporter service matches it through the contact store.
            await self.publisher.publish(REPORTER_INBOUND, tracking.encode(), encode(complaint))
            log.info("reply via %s to the reporter service", complaint.payload.channel.value)
            return tracking
        await self.publisher.publish("complaints.intake", tracking.encode(), encode(complaint))
        log.info("intake %s via %s", tracking, complaint.payload.channel.value)
        return tracking

    def throttle(self, caller: str) -> None:
        wait = self.limiter.take(caller)
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests for {caller}; retry in {wait:.1f} s",
                {"Retry-After": str(max(1, round(wait)))},
            )


def gateway_of(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


GatewayDep = Annotated[Gateway, Depends(gateway_of)]


def throttle_anonymous(request: Request, gw: Gateway) -> None:
    """Tracking numbers are the reporter's only credential for the public views: limit how fast
    one address can try them (and how often it can ask for the Open311 lists)."""
    gw.throttle(f"ip:{request.client.host if request.client else 'unknown'}")
