"""``/v1/cases/{tracking}``: case lookup (public view, or the role's view with a token) and
``/v1/cases/{tracking}/commands`` for operators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import Field

from consumers.gateway.auth import operator_optional, operator_required
from consumers.gateway.bodies import JsonOnly
from consumers.gateway.command_bodies import CommandRequest, payload_of
from consumers.gateway.commanding import CommandAccepted, send_command
from consumers.gateway.context import GatewayDep, throttle_anonymous
from consumers.gateway.errors import ApiError
from consumers.gateway.models import ERRORS
from consumers.gateway.security import Operator
from consumers.gateway.views import may_see, operator_view, public_view
from workflow.intake import TRACKING_NUMBER

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
    return await send_command(gw, operator, case_id, body.type, payload_of(body), idempotency_key)
