"""Sending an operator's command to a case: the one path the JSON API
(``POST /v1/cases/{id}/commands``) and the console's forms both take.

The checks here are the gateway's early answers (unknown type, role, agency); the engine decides
the rest (state, guards) and answers a refusal with ``CommandRejected`` on ``cases.events``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from consumers.gateway.context import Gateway
from consumers.gateway.errors import ApiError
from consumers.gateway.security import Operator
from consumers.gateway.views import may_see
from workflow.codec import InvalidMessage, encode, parse_command
from workflow.commands import COMMAND_TYPES


class CommandAccepted(BaseModel):
    case_id: str
    command_id: str
    type: str


def implicit_key(case_id: str, type_: str, payload: dict[str, Any], now: datetime) -> str:
    """A command id for a client that sent no Idempotency-Key: the same command on the same case
    within the same minute is the same command, so a retry after a timeout (503, the write may
    have landed) is not applied twice. Send an Idempotency-Key to choose the window yourself."""
    canonical = json.dumps([case_id, type_, payload], sort_keys=True, default=str)
    minute = now.astimezone(UTC).strftime("%Y%m%d%H%M")
    return hashlib.sha256(f"{canonical}|{minute}".encode()).hexdigest()[:32]


async def send_command(
    gw: Gateway,
    operator: Operator,
    case_id: str,
    type_: str,
    payload: dict[str, Any],
    idempotency_key: str | None = None,
) -> CommandAccepted:
    """Publish ``type_`` with ``payload`` on ``case_id`` as ``operator`` once Kafka acknowledged
    it; `ApiError` (422 unknown/invalid, 403 role or agency, 404 unknown case) otherwise."""
    model = COMMAND_TYPES.get(type_)
    if model is None or type_ == "TimerFired":
        raise ApiError(422, "unknown_command", f"type: {type_[:64]!r} is not a command")
    role = operator.role.actor_role
    if role not in model.roles:
        raise ApiError(403, "forbidden_command", f"{operator.role.value} may not send {type_}")
    case = gw.read_model.case(case_id)
    if case is None and gw.read_model.ready:
        # The engine would only dead-letter it; say so now. (Before the read model has caught
        # up we cannot tell, so the command goes through.)
        raise ApiError(404, "unknown_case", f"no case {case_id}")
    if case is not None and not may_see(operator, case):
        raise ApiError(403, "not_your_agency", "the case is not referred to your agency")
    key = idempotency_key or implicit_key(case_id, type_, payload, gw.now())
    command_id = f"cmd:{operator.id}:{key}"
    actor: dict[str, Any] = {"id": operator.id, "role": role.value}
    if operator.agency:
        actor["agency"] = operator.agency
    message = {
        "event_id": command_id,
        "type": type_,
        "schema_version": 1,
        "occurred_at": gw.now().isoformat(),
        "case_id": case_id,
        "payload": {**payload, "actor": actor},
    }
    try:
        command = parse_command(json.dumps(message).encode())
    except InvalidMessage as exc:
        raise ApiError(422, "invalid_command", exc.detail) from None
    await gw.publisher.publish("cases.commands", case_id.encode(), encode(command))
    return CommandAccepted(case_id=case_id, command_id=command_id, type=type_)
