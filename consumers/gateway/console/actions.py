"""Which commands a role may send on a case now, as forms, and a posted form back to a payload.

Nothing here decides what is allowed: the state's triggers come from the lifecycle table
(`states.lifecycle.lifecycle().allowed`) and the roles from each command's ``roles``
(`workflow.commands`); the form fields are read from the command's payload model. Guards are
left to the engine, whose refusal (``CommandRejected``) the case page shows.
"""

from __future__ import annotations

import enum
import types
import typing
from dataclasses import dataclass, replace
from typing import Any

from pydantic.fields import FieldInfo

from consumers.gateway.console.labels import CHOICES, COMMANDS, FIELDS, word
from consumers.gateway.security import Operator
from states.lifecycle import lifecycle
from workflow.case import Case
from workflow.commands import COMMAND_TYPES, CommandBase, UnlinkFromIncident
from workflow.policy import Policy

_SYSTEM_ONLY = frozenset({"TimerFired"})
_SKIPPED_FIELDS = frozenset({"actor", "attachments"})
"""The actor is the session's operator; attachments cannot be typed into a form."""


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    required: bool
    choices: tuple[tuple[str, str], ...] = ()
    """(value, label) for a select; empty: free text."""


@dataclass(frozen=True)
class ActionForm:
    type: str
    label: str
    fields: tuple[FormField, ...]
    fixed: tuple[tuple[str, str], ...] = ()
    """Payload values the page decides, not the operator (the incident a case is unlinked from)."""


def _enum_in(annotation: Any) -> type[enum.Enum] | None:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation
    for arg in typing.get_args(annotation):
        found = _enum_in(arg)
        if found is not None:
            return found
    return None


def _is_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        return any(_is_text(a) for a in typing.get_args(annotation))
    return False


def _form_field(name: str, info: FieldInfo, policy: Policy) -> FormField | None:
    label = word(FIELDS, name)
    required = info.is_required()
    if name == "agency":
        agencies = tuple((a.code, f"{a.code}: {a.name}") for a in policy.agencies)
        return FormField(name, label, required, agencies)
    choices = _enum_in(info.annotation)
    if choices is not None:
        options = tuple((str(m.value), word(CHOICES, m.value)) for m in choices)
        return FormField(name, label, required, options)
    if _is_text(info.annotation):
        return FormField(name, label, required)
    return None


def form_for(model: type[CommandBase], policy: Policy) -> ActionForm:
    payload_model = model.model_fields["payload"].annotation
    assert isinstance(payload_model, type)
    fields = []
    for name, info in payload_model.model_fields.items():
        if name in _SKIPPED_FIELDS:
            continue
        field = _form_field(name, info, policy)
        if field is not None:
            fields.append(field)
    type_ = str(model.model_fields["type"].default)
    return ActionForm(type_, word(COMMANDS, type_), tuple(fields))


def _unlink_form(operator: Operator, case: Case, policy: Policy) -> ActionForm | None:
    """Undo a wrong incident link: offered on a linked open case to whoever may unlink (the
    incident commands bypass the lifecycle table, so the table cannot say)."""
    if case.incident_id is None or case.is_final:
        return None
    if operator.role.actor_role not in UnlinkFromIncident.roles:
        return None
    form = form_for(UnlinkFromIncident, policy)
    fields = tuple(f for f in form.fields if f.name != "incident_id")
    return replace(form, fields=fields, fixed=(("incident_id", case.incident_id),))


def available_actions(operator: Operator, case: Case, policy: Policy) -> list[ActionForm]:
    """The forms ``operator`` gets on ``case`` (the table's triggers in its state x the role,
    and the unlink of its incident)."""
    triggers = set(lifecycle().allowed(case.state))
    role = operator.role.actor_role
    forms = [
        form_for(model, policy)
        for type_, model in COMMAND_TYPES.items()
        if type_ not in _SYSTEM_ONLY and model.trigger in triggers and role in model.roles
    ]
    unlink = _unlink_form(operator, case, policy)
    return forms if unlink is None else [*forms, unlink]


def payload_from_form(form: ActionForm, posted: dict[str, str]) -> dict[str, Any]:
    """The command payload of a posted form: its own fields only, blanks left out, and the
    values the page fixed (never taken from the post)."""
    payload: dict[str, Any] = dict(form.fixed)
    for field in form.fields:
        value = posted.get(field.name, "").strip()
        if value:
            payload[field.name] = value
    return payload
