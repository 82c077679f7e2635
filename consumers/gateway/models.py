"""Response models shared by the route groups (they name the schemas of the OpenAPI document)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Accepted(BaseModel):
    tracking_number: str = Field(description="The case id, e.g. ADU-7K3F-6QX2-M4TA.")
    status_url: str


class AcceptedMany(BaseModel):
    tracking_numbers: list[str]


class ErrorBody(BaseModel):
    error: str
    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 413, 415, 422, 429, 503)
}
"""The rejections every ``/v1`` route may answer, for the OpenAPI document."""


def accepted(tracking: str) -> Accepted:
    return Accepted(tracking_number=tracking, status_url=f"/v1/cases/{tracking}")
