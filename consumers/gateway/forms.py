"""Form bodies (``application/x-www-form-urlencoded``, ``multipart/form-data``) described by a
pydantic model, so that the OpenAPI document and the parser agree field by field.

FastAPI's own ``Form()`` parameters document optional fields as "string or null" (a form cannot
send null) and treat an empty value as a missing one; here a form is read as the strings it
carries and validated by the same model whose schema the document shows.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel
from starlette.datastructures import FormData, UploadFile

from consumers.gateway.bodies import media_type
from consumers.gateway.errors import ApiError

FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

_M = TypeVar("_M", bound=BaseModel)


def form_schema(model: type[BaseModel], files: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON Schema of ``model``'s fields as form fields (no nulls, no references)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    resolved: dict[str, Any] = _without_null(_inline(schema, definitions))
    resolved.pop("title", None)
    if files:
        resolved.setdefault("properties", {}).update(files)
    return resolved


def form_request_body(
    model: type[BaseModel],
    media_types: tuple[str, ...] = FORM_MEDIA_TYPES,
    files: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``openapi_extra`` of a route whose body is ``model`` sent as a form."""
    schema = form_schema(model, files)
    content = {media: {"schema": schema} for media in media_types}
    return {"requestBody": {"required": True, "content": content}}


async def read_form(
    request: Request, model: type[_M], media_types: tuple[str, ...] = FORM_MEDIA_TYPES
) -> tuple[_M, FormData]:
    """The form validated by ``model`` (pydantic's ValidationError answers 422), and the raw
    form for its files. A field of the model sent twice is refused (422): its schema is one
    string, and picking one of the values would accept a body the document says is invalid."""
    media = media_type(request)
    if media not in media_types:
        raise ApiError(415, "unsupported_media_type", f"expected {' or '.join(media_types)}")
    form = await request.form()
    known = {field.alias or name for name, field in model.model_fields.items()}
    values: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if key in values and key in known:
            raise ApiError(422, "invalid_payload", f"{key[:64]}: give this field once")
        values[key] = value
    return model.model_validate(values), form


def uploads(form: FormData, field: str) -> list[UploadFile]:
    """The files sent under ``field`` (422 for a value there that is not a file)."""
    values = form.getlist(field)
    files = [v for v in values if isinstance(v, UploadFile)]
    if len(files) != len(values):
        raise ApiError(422, "invalid_payload", f"{field}: send files (parts with a file name)")
    return files


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = dict(definitions[ref.removeprefix("#/$defs/")])
            target.pop("title", None)
            return _inline(target, definitions)
        return {k: _inline(v, definitions) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, definitions) for v in node]
    return node


def _without_null(node: Any) -> Any:
    """Drop the ``null`` alternative of optional fields: an absent field is how a form says it."""
    if isinstance(node, dict):
        node = {k: _without_null(v) for k, v in node.items()}
        options = node.get("anyOf")
        if isinstance(options, list):
            kept = [o for o in options if o != {"type": "null"}]
            if len(kept) == 1:
                node.pop("anyOf")
                node = {**kept[0], **node}
            else:
                node["anyOf"] = kept
        if node.get("default", 0) is None:
            node.pop("default")
        return node
    if isinstance(node, list):
        return [_without_null(v) for v in node]
    return node
