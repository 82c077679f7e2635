"""The one place the chaos run imports the project: the pure core and a few public shell pieces.

Only public interfaces: message models and parsers, the ``Workflow`` (decide/evolve), the policy
loader, the ``Case`` snapshot, topic naming and provisioning, and the clock control message.
"""

from __future__ import annotations

from consumers.engine.clock import ClockControl
from consumers.topics import TopicSpec, partition_for, provision, topic_name, topic_specs
from workflow.case import Case
from workflow.codec import InvalidMessage, encode, parse_command, parse_event, parse_intake
from workflow.commands import (
    AcceptReferral,
    CompleteFormalVerification,
    CompleteMaterialVerification,
    ConfirmResolution,
    DisputePayload,
    DisputeResolution,
    EscalateManually,
    EscalatePayload,
    FollowUpPlanPayload,
    MaterialVerificationPayload,
    NotePayload,
    PostFollowUpPlan,
    ProvideInformation,
    ProvideInformationPayload,
    RequestInformation,
    RequestInformationPayload,
    ResolveComplaint,
    ResolvePayload,
    WithdrawComplaint,
)
from workflow.core import Workflow
from workflow.enums import ActorRole, Channel
from workflow.fastpaths import event_id_for
from workflow.intake import ComplaintPayload, ComplaintSubmitted
from workflow.policy import load_policy
from workflow.reporter import Reporter
from workflow.values import Actor

__all__ = [
    "AcceptReferral",
    "Actor",
    "ActorRole",
    "Case",
    "Channel",
    "ClockControl",
    "ComplaintPayload",
    "ComplaintSubmitted",
    "CompleteFormalVerification",
    "CompleteMaterialVerification",
    "ConfirmResolution",
    "DisputePayload",
    "DisputeResolution",
    "EscalateManually",
    "EscalatePayload",
    "FollowUpPlanPayload",
    "InvalidMessage",
    "MaterialVerificationPayload",
    "NotePayload",
    "PostFollowUpPlan",
    "ProvideInformation",
    "ProvideInformationPayload",
    "Reporter",
    "RequestInformation",
    "RequestInformationPayload",
    "ResolveComplaint",
    "ResolvePayload",
    "TopicSpec",
    "WithdrawComplaint",
    "Workflow",
    "encode",
    "event_id_for",
    "load_policy",
    "parse_command",
    "parse_event",
    "parse_intake",
    "partition_for",
    "provision",
    "topic_name",
    "topic_specs",
]
