"""The JSON Schema export of every wire message."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from workflow.commands import COMMAND_TYPES
from workflow.events import EVENT_TYPES
from workflow.intake import INTAKE_TYPES
from workflow.values import SCHEMA_VERSION

__all__ = [
    "export_json_schemas",
]


def export_json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12) of every wire message, keyed by message type."""
    models: dict[str, type[BaseModel]] = {**INTAKE_TYPES, **COMMAND_TYPES, **EVENT_TYPES}
    schemas = {}
    for name, model in models.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"urn:aduan:message:{name}:v{SCHEMA_VERSION}"
        schemas[name] = schema
    return schemas
