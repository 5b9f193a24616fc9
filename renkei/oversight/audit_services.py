"""Audits of suppliers (監査): plan, carry out or cancel, record findings, release the report, and
turn findings into remediation actions (source audit) and register risks (source audit).

Staff who may add records (admin, analyst) plan audits and record findings; auditors read; a
supplier's contacts see their own supplier's audits and, once the report is released, its
findings (Finding.objects.for_user). Every change is audited in the same transaction."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.core.permissions import ADD, CHANGE
from renkei.oversight.choices import AuditKind, AuditStatus, Severity
from renkei.oversight.models import Audit, Finding
from renkei.oversight.services import OversightError, require
from renkei.suppliers.models import Supplier

AUDIT_FIELDS = ("kind", "planned_on", "scope", "auditors")
# A finding's severity as the likelihood of the risk it raises.
SEVERITY_LIKELIHOOD = {Severity.LOW: 2, Severity.MEDIUM: 3, Severity.HIGH: 4, Severity.CRITICAL: 5}


def _errors(exc: ValidationError) -> OversightError:
    errors = {k: " ".join(v) for k, v in exc.message_dict.items()} if hasattr(exc, "error_dict") else {}
    return OversightError(" ".join(exc.messages), errors)


def _write(
    actor: Actor,
    obj: Any,
    before: dict[str, Any] | None,
    *,
    supplier_id: int,
    organization_id: int,
    exclude: list[str] | None = None,
) -> Any:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise _errors(exc) from exc
    obj.save()
    action = AuditEntry.Action.CREATE if before is None else AuditEntry.Action.UPDATE
    record_many(
        actor,
        [
            PendingEntry(
                action, obj, before, snapshot(obj), supplier_id=supplier_id, organization_id=organization_id
            )
        ],
    )
    return obj


def plan_audit(
    actor: Actor,
    supplier: Supplier,
    *,
    planned_on: datetime.date | None,
    scope: str,
    kind: str = AuditKind.ONSITE,
    auditors: str = "",
) -> Audit:
    require(actor, supplier.organization_id, ADD)
    audit = Audit(
        organization_id=supplier.organization_id,
        supplier=supplier,
        kind=kind,
        planned_on=planned_on,
        scope=(scope or "").strip(),
        auditors=(auditors or "").strip(),
        created_by=actor.user,
    )
    with transaction.atomic():
        return _write(
            actor,
            audit,
            None,
            supplier_id=supplier.pk,
            organization_id=supplier.organization_id,
            exclude=["supplier", "organization"],
        )


def _locked(audit: Audit) -> Audit:
    return Audit.objects.select_for_update().get(pk=audit.pk)


def _write_audit(actor: Actor, locked: Audit, before: dict[str, Any]) -> Audit:
    """Save LOCKED (an audit) with its audit-trail entry, filed under its supplier."""
    return _write(actor, locked, before, supplier_id=locked.supplier_id,
                  organization_id=locked.organization_id, exclude=["supplier", "organization"])


def update_audit(actor: Actor, audit: Audit, data: dict[str, Any]) -> Audit:
    """Change the plan (kind, date, scope, auditors) and, once done, the summary."""
    require(actor, audit.organization_id, CHANGE)
    with transaction.atomic():
        locked = _locked(audit)
        if locked.status == AuditStatus.CANCELLED:
            raise OversightError(_("A cancelled audit cannot be changed."))
        before = snapshot(locked)
        for name in (*AUDIT_FIELDS, "summary"):
            if name in data:
                value = data[name]
                setattr(locked, name, value.strip() if isinstance(value, str) else value)
        return _write_audit(actor, locked, before)


def set_status(
    actor: Actor,
    audit: Audit,
    status: str,
    *,
    done_on: datetime.date | None = None,
    summary: str | None = None,
) -> Audit:
    """planned → done (on DONE_ON, default today) or cancelled; nothing else."""
    require(actor, audit.organization_id, CHANGE)
    if status not in (AuditStatus.DONE, AuditStatus.CANCELLED):
        raise OversightError(_("An audit is marked done or cancelled."))
    with transaction.atomic():
        locked = _locked(audit)
        if locked.status != AuditStatus.PLANNED:
            raise OversightError(_("Only a planned audit can be marked done or cancelled."))
        before = snapshot(locked)
        locked.status = status
        if status == AuditStatus.DONE:
            locked.done_on = done_on or timezone.localdate()
        if summary is not None:
            locked.summary = summary.strip()
        return _write_audit(actor, locked, before)


def release_report(actor: Actor, audit: Audit) -> Audit:
    """Let the supplier's contacts read the findings (once; a released report stays released)."""
    require(actor, audit.organization_id, CHANGE)
    with transaction.atomic():
        locked = _locked(audit)
        if locked.status != AuditStatus.DONE:
            raise OversightError(_("Release the report once the audit is done."))
        if locked.report_released_at is not None:
            return locked
        before = snapshot(locked)
        locked.report_released_at = timezone.now()
        return _write_audit(actor, locked, before)


def add_finding(
    actor: Actor,
    audit: Audit,
    *,
    title: str,
    severity: str = Severity.MEDIUM,
    description: str = "",
    evidence: Any = None,
) -> Finding:
    """A finding of AUDIT; EVIDENCE (optional) goes through the questionnaires' upload checks
    (size, allow-listed type, content matching the extension, cleaned name)."""
    from renkei.questionnaires.evidence import EvidenceRefused, check_upload

    require(actor, audit.organization_id, ADD)
    if audit.status == AuditStatus.CANCELLED:
        raise OversightError(_("A cancelled audit has no findings."))
    checked = None
    if evidence is not None:
        try:
            checked = check_upload(evidence)
        except EvidenceRefused as exc:
            raise OversightError(str(exc), {"evidence": str(exc)}) from exc
    finding = Finding(
        audit=audit,
        title=(title or "").strip(),
        severity=severity,
        description=(description or "").strip(),
        created_by=actor.user,
    )
    with transaction.atomic():
        if checked is not None:
            finding.evidence.save(checked.name, checked.upload, save=False)
        try:
            return _write(
                actor,
                finding,
                None,
                supplier_id=audit.supplier_id,
                organization_id=audit.organization_id,
                exclude=["audit", "action", "risk"],
            )
        except OversightError:
            if finding.evidence:
                finding.evidence.storage.delete(finding.evidence.name)
            raise


def finding_to_action(
    actor: Actor, finding: Finding, *, due_on: Any = None, owner_side: str | None = None
) -> Finding:
    """A remediation action (source audit) for FINDING, in the supplier's open plan."""
    from renkei.remediation.models import ActionSource, OwnerSide
    from renkei.remediation.services import RemediationError, create_action

    audit = finding.audit
    require(actor, audit.organization_id, ADD)
    with transaction.atomic():
        locked = Finding.objects.select_for_update().get(pk=finding.pk)
        if locked.action_id is not None:
            raise OversightError(_("This finding already has an action."))
        try:
            action = create_action(
                actor,
                audit.supplier,
                title=locked.title,
                source=ActionSource.AUDIT,
                due_on=due_on,
                owner_side=owner_side or OwnerSide.SUPPLIER,
                risk=locked.risk,
                description=locked.description or _("Audit finding (%(audit)s)") % {"audit": audit},
            )
        except RemediationError as exc:
            raise OversightError(exc.message, exc.errors) from exc
        before = snapshot(locked)
        locked.action = action
        return _write(
            actor,
            locked,
            before,
            supplier_id=audit.supplier_id,
            organization_id=audit.organization_id,
            exclude=["audit", "action", "risk"],
        )


def finding_to_risk(actor: Actor, finding: Finding) -> Finding:
    """A register risk (source audit; likelihood from the severity) for FINDING; idempotent."""
    from renkei.risk.choices import RiskSource
    from renkei.risk.register import RegisterError, raise_risk

    audit = finding.audit
    require(actor, audit.organization_id, ADD)
    with transaction.atomic():
        locked = Finding.objects.select_for_update().get(pk=finding.pk)
        if locked.risk_id is not None:
            return locked
        try:
            risk = raise_risk(
                actor,
                audit.supplier,
                title=locked.title,
                source=RiskSource.AUDIT,
                source_key=f"audit:{audit.pk}:finding:{locked.pk}",
                description=locked.description,
                inherent_likelihood=SEVERITY_LIKELIHOOD.get(locked.severity, 3),
            )
        except RegisterError as exc:
            raise OversightError(exc.message, exc.errors) from exc
        before = snapshot(locked)
        locked.risk = risk
        return _write(
            actor,
            locked,
            before,
            supplier_id=audit.supplier_id,
            organization_id=audit.organization_id,
            exclude=["audit", "action", "risk"],
        )


def audit_data(audit: Audit, findings: list[Finding] | None = None) -> dict[str, Any]:
    """The document of `renkei oversight audits --json` (FINDINGS: those the reader may see)."""
    return {
        "id": audit.pk,
        "supplier": audit.supplier.code,
        "kind": audit.kind,
        "planned_on": audit.planned_on.isoformat(),
        "status": audit.status,
        "done_on": audit.done_on.isoformat() if audit.done_on else None,
        "scope": audit.scope,
        "auditors": audit.auditors,
        "report_released": audit.report_released_at is not None,
        "findings": [
            {"id": f.pk, "severity": f.severity, "title": f.title, "action": f.action_id, "risk": f.risk_id}
            for f in (findings or [])
        ],
    }
