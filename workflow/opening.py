"""Intake: a complaint opens a case (``CaseOpened``) with routing's suggestion, its ranked
alternatives for re-routing, and the verification clock started in the triage desk's calendar.

The clock starts at the intake's ``received_at`` only when that is plausible against the
engine's own clock: our gateway stamps it at receipt, but a channel written elsewhere may publish
to ``complaints.intake`` directly with a time of its choosing. A ``received_at`` more than
``intake_future_skew_seconds`` ahead or ``intake_max_age_hours`` behind (policy ``sla``) is replaced
by ``now`` and kept as ``received_at_claimed`` on the event.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import cast

from workflow.deployment import Deployment
from workflow.enums import Confidentiality, ReportType
from workflow.events import CaseOpened, CaseOpenedPayload
from workflow.fastpaths import case_id_fast, new_event, new_model, reporter_view_fast
from workflow.incident_age import older_than_two_years
from workflow.intake import ComplaintSubmitted
from workflow.redaction import redact_identity
from workflow.reporter import Reporter
from workflow.sla import Stage

__all__ = ["open_case", "trusted_receipt"]

_MAX_CANDIDATES = 4
"""Ranked alternatives kept for re-routing a returned referral."""


def open_case(dep: Deployment, message: ComplaintSubmitted, now: datetime) -> CaseOpened:
    """The ``CaseOpened`` event of an intake message."""
    p = message.payload
    reporter = _with_forced_confidentiality(p.reporter, p.report_type)
    subject, text = redact_identity(p.subject, reporter), redact_identity(p.text, reporter)
    received_at, claimed = trusted_receipt(dep, p.received_at, now)
    region = p.location.region_code if p.location is not None else None
    category = p.category.value if p.category is not None else None
    ranked = dep.router.rank(
        agency_hint=p.agency_hint,
        service=p.service,
        category=category,
        region_code=region,
        text=f"{subject}\n{text}",
        limit=1 + _MAX_CANDIDATES,
    )
    decision = ranked[0]
    candidates = [d.agency for d in ranked[1:] if not d.fallback]
    triage = dep.policy.triage_agency
    payload = new_model(
        CaseOpenedPayload,
        channel=p.channel,
        channel_message_id=p.channel_message_id,
        received_at=received_at,
        reporter=reporter_view_fast(reporter, dep.reporter_key),
        subject=subject,
        text=text,
        report_type=p.report_type,
        category=p.category,
        service=p.service,
        agency_hint=p.agency_hint,
        priority=p.priority,
        incident_date=p.incident_date,
        incident_older_than_two_years=_incident_too_old(dep, p.incident_date, received_at),
        location=p.location,
        attachments=p.attachments,
        language=p.language,
        external_reference=p.external_reference,
        channel_sent_at=p.channel_sent_at,
        received_at_claimed=claimed,
        triage_agency=triage,
        suggested_agency=decision.agency,
        routing_rule=decision.rule,
        routing_fallback=decision.fallback,
        candidates=tuple(candidates),
        timers=dep.start(Stage.VERIFICATION, triage, received_at),
    )
    case_id = message.case_id or case_id_fast(p.channel, p.channel_message_id)
    return cast(
        CaseOpened, new_event(CaseOpened, case_id, message, 0, now, message.event_id, payload)
    )


def _incident_too_old(dep: Deployment, incident: date | None, received_at: datetime) -> bool | None:
    """The two-year rule against the receipt's local date at the triage desk."""
    if incident is None:
        return None
    received = dep.calendar(dep.policy.triage_agency).local_date(received_at)
    return older_than_two_years(incident, received)


def _with_forced_confidentiality(reporter: Reporter, report_type: ReportType) -> Reporter:
    """A whistle-blower is always confidential, whatever the channel said (UU 37/2008 Pasal
    24(2)): the case's nature must not be public, and neither may their identity."""
    if report_type is not ReportType.WHISTLE_BLOWING:
        return reporter
    if reporter.confidentiality is Confidentiality.CONFIDENTIAL:
        return reporter
    return reporter.model_copy(update={"confidentiality": Confidentiality.CONFIDENTIAL})


def trusted_receipt(
    dep: Deployment, received_at: datetime, now: datetime
) -> tuple[datetime, datetime | None]:
    """The instant the case's clock starts at, and the distrusted claim (None when trusted)."""
    sla = dep.policy.sla
    too_late = now + timedelta(seconds=sla.intake_future_skew_seconds)
    too_early = now - timedelta(hours=sla.intake_max_age_hours)
    if too_early <= received_at <= too_late:
        return received_at, None
    return now, received_at
