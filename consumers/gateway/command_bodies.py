"""The body of ``POST /v1/cases/{id}/commands``: one schema per command an operator may send.

Built from `workflow.commands` (each command's payload without ``actor``: the token is the
actor), so the OpenAPI document states exactly what the route accepts, per command type, and
integrators' generated clients get one typed body per command instead of a free-form dict.
System commands (the SLA timer, the incident detector) have no role that may send them and are
left out. The route still publishes through `commanding.send_command`, which validates the
command itself again with the engine's own model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from workflow.commands import COMMAND_TYPES, CommandBase

_FORBID_EXTRA = ConfigDict(extra="forbid")


class CommandBody(Protocol):
    """What the route reads from any of the generated bodies."""

    type: str
    payload: BaseModel


def _payload_body(name: str, command: type[CommandBase]) -> type[BaseModel]:
    payload_model = command.model_fields["payload"].annotation
    if not (isinstance(payload_model, type) and issubclass(payload_model, BaseModel)):
        raise TypeError(f"{name}: its payload is not a model")
    fields: dict[str, Any] = {
        field_name: (field.annotation, field)
        for field_name, field in payload_model.model_fields.items()
        if field_name != "actor"
    }
    model: type[BaseModel] = create_model(
        f"{name}Payload",
        __config__=_FORBID_EXTRA,
        __doc__=f"The payload of {name}.",
        **fields,
    )
    return model


def _command_body(name: str, command: type[CommandBase]) -> type[BaseModel]:
    payload = _payload_body(name, command)
    required = any(f.is_required() for f in payload.model_fields.values())
    payload_field: Any = (payload, ...) if required else (payload, Field(default_factory=payload))
    model: type[BaseModel] = create_model(
        f"{name}Command",
        __config__=_FORBID_EXTRA,
        __doc__=(command.__doc__ or name).strip().splitlines()[0],
        type=(Literal[name], ...),  # type: ignore[arg-type]
        payload=payload_field,
    )
    return model


OPERATOR_COMMANDS: dict[str, type[BaseModel]] = {
    name: _command_body(name, command) for name, command in COMMAND_TYPES.items() if command.roles
}

if TYPE_CHECKING:
    CommandRequest = CommandBody
else:
    CommandRequest = Annotated[
        Union[tuple(OPERATOR_COMMANDS.values())],  # noqa: UP007 (a union built at import)
        Field(discriminator="type"),
    ]


def payload_of(body: CommandBody) -> dict[str, Any]:
    """The payload as the client gave it (defaults not filled in), JSON-ready."""
    return body.payload.model_dump(mode="json", exclude_unset=True)
