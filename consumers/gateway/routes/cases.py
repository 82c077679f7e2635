"""``/v1/cases/{tracking}``: case lookup (public view, or the role's view with a token) and
``/v1/cases/{tracking}/commands`` for operators."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from consumers.gateway.auth import operator_optional, operator_required
from consumers.gateway.bodies import JsonOnly
from consumers.gateway.context import GatewayDep, throttle_anonymous
from consumers.gateway.errors import ApiError
from consumers.gateway.models import ERRORS
from consumers.gateway.security import Operator
from consumers.gateway.views import may_see, operator_view, public_view
from workflow.codec import InvalidMessage, encode, parse_command
from workflow.commands import COMMAND_TYPES
from workflow.intake import TRACKING_NUMBER


class CommandAccepted(BaseModel):
    case_id: str
    command_id: str
    type: str


class CommandRequest(BaseModel):
    """A command of `workflow.commands` without envelope and actor (the token is the actor)."""

    type: str = Field(min_length=1, max_length=64, description="e.g. AcceptReferral")
    payload: dict[str, Any] = Field(default_factory=dict)


cases = APIRouter(prefix="/v1/cases", tags=["cases"], responses=ERRORS)


def _tracking(case_id: str) -> str:
    case_id = case_id.strip().upper()
    if not TRACKING_NUMBER.fullmatch(case_id):
        raise ApiError(404, "unknown_case", "not a tracking number (expected ADU-XXXX-XXXX-XXXX)")
    return case_id


@cases.get("/{case_id}", summary="Case lookup: public view, or the role's view with a token")
async def get_case(
    request: Request,
    case_id: Annotated[str, Field(max_length=64)],
    gw: GatewayDep,
    operator: Annotated[Operator | None, Depends(operator_optional)],
) -> dict[str, Any]:
    if operator is None:
        throttle_anonymous(request, gw)
    case_id = _tracking(case_id)
    case = gw.read_model.case(case_id)
    if case is None:
        if not gw.read_model.ready:
            raise ApiError(
                503, "not_ready", "the case index is still loading", {"Retry-After": "2"}
            )
        raise ApiError(404, "unknown_case", f"no case {case_id} (yet)")
    history = gw.read_model.history(case_id)
    if operator is None:
        return public_view(case, history, gw.policy)
    if not may_see(operator, case):
        raise ApiError(403, "not_your_agency", "the case is not referred to your agency")
    return operator_view(operator, case, history, gw.policy)


def _implicit_key(case_id: str, body: CommandRequest, now: datetime) -> str:
    """A command id for a client that sent no Idempotency-Key: the same command on the same case
    within the same minute is the same command, so a retry after a timeout (503, the write may
    have landed) is not applied twice. Send an Idempotency-Key to choose the window yourself."""
    canonical = json.dumps([case_id, body.type, body.payload], sort_keys=True, default=str)
    minute = now.astimezone(UTC).strftime("%Y%m%d%H%M")
    return hashlib.sha256(f"{canonical}|{minute}".encode()).hexdigest()[:32]


@cases.post(
    "/{case_id}/commands",
    status_code=202,
    summary="Send a command to a case as the token's operator",
    dependencies=[JsonOnly],
)
async def post_command(
    case_id: Annotated[str, Field(max_length=64)],
    body: CommandRequest,
    gw: GatewayDep,
    operator: Annotated[Operator, Depends(operator_required)],
    idempotency_key: Annotated[str | None, Header(max_length=64, pattern=r"^[\w.:\-]+$")] = None,
) -> CommandAccepted:
    case_id = _tracking(case_id)
    model = COMMAND_TYPES.get(body.type)
    if model is None or body.type == "TimerFired":
        raise ApiError(422, "unknown_command", f"type: {body.type[:64]!r} is not a command")
    role = operator.role.actor_role
    if role not in model.roles:
        raise ApiError(403, "forbidden_command", f"{operator.role.value} may not send {body.type}")
    case = gw.read_model.case(case_id)
    if case is None and gw.read_model.ready:
        # The engine would only dead-letter it; say so now. (Before the read model has caught
        # up we cannot tell, so the command goes through.)
        raise ApiError(404, "unknown_case", f"no case {case_id}")
    if case is not None and not may_see(operator, case):
        raise ApiError(403, "not_your_agency", "the case is not referred to your agency")
    command_id = f"cmd:{operator.id}:{idempotency_key or _implicit_key(case_id, body, gw.now())}"
    actor: dict[str, Any] = {"id": operator.id, "role": role.value}
    if operator.agency:
        actor["agency"] = operator.agency
    message = {
        "event_id": command_id,
        "type": body.type,
        "schema_version": 1,
        "occurred_at": gw.now().isoformat(),
        "case_id": case_id,
        "payload": {**body.payload, "actor": actor},
    }
    try:
        command = parse_command(json.dumps(message).encode())
    except InvalidMessage as exc:
        raise ApiError(422, "invalid_command", exc.detail) from None
    await gw.publisher.publish("cases.commands", case_id.encode(), encode(command))
    return CommandAccepted(case_id=case_id, command_id=command_id, type=body.type)
