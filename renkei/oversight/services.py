"""Supplier selection (信頼できる委託先の選定): a candidate's intake from profile to decision.

A candidate supplier (Supplier.status candidate) is registered with the registry's own fields,
its profile is confirmed (which fixes the expected 重要度 and so the questionnaire template, from
the risk settings' `cadence.templates`), the questionnaire is sent as an ordinary assessment, and
an administrator decides: approve (the supplier becomes active), approve with conditions (active,
each condition becomes a remediation action with source intake), or reject (status rejected:
kept on record, skipped by campaigns). Who may do what:

- start an intake, confirm the profile, send the questionnaire: staff who may add records
  (admin, analyst);
- decide: administrators only (MANAGE) — selecting a supplier commits the organization;
- auditors and supplier contacts: nothing (contacts never see intakes).

Every change is audited in the same transaction."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.core.errors import NotAllowed as BaseNotAllowed
from renkei.core.errors import ServiceError
from renkei.core.models import staff_may
from renkei.core.permissions import ADD, CHANGE, MANAGE
from renkei.oversight.choices import Decision, IntakeStep
from renkei.oversight.models import Intake, IntakeCondition
from renkei.suppliers.choices import SupplierStatus
from renkei.suppliers.models import Supplier
from renkei.suppliers.services import save_record

DEFAULT_TEMPLATE = "scrm-sheet"
READY_FOR_DECISION = ("submitted", "approved")


class OversightError(ServiceError):
    """A refused change to an intake, a contract check or an audit."""


class NotAllowed(OversightError, BaseNotAllowed):
    """The user may see the record but not do this with it (403)."""


def require(actor: Actor, organization_id: int, action: str) -> None:
    if actor.user is not None and not staff_may(actor.user, organization_id, action):
        raise NotAllowed(_("You may not do this."))


def may(user: Any, organization_id: int, action: str) -> bool:
    return staff_may(user, organization_id, action)


def template_key_for(config: Mapping[str, Any], criticality: int) -> str:
    """The questionnaire template the 重要度 requires (risk settings `cadence.templates`)."""
    templates = (config.get("cadence") or {}).get("templates") or {}
    return templates.get(str(criticality)) or DEFAULT_TEMPLATE


def _save(
    actor: Actor, intake: Intake, before: dict[str, Any] | None, extra: Iterable[PendingEntry] = ()
) -> Intake:
    intake.full_clean(exclude=["supplier", "organization", "assessment"])
    intake.save()
    action = AuditEntry.Action.CREATE if before is None else AuditEntry.Action.UPDATE
    record_many(
        actor,
        [PendingEntry(action, intake, before, snapshot(intake), supplier_id=intake.supplier_id), *extra],
    )
    return intake


def _locked(intake: Intake) -> Intake:
    locked = Intake.objects.select_for_update().get(pk=intake.pk)
    if not locked.is_open:
        raise OversightError(_("This intake has been decided."))
    return locked


# --- Starting ----------------------------------------------------------------------------------


def start_intake(actor: Actor, supplier: Supplier) -> Intake:
    """An intake for SUPPLIER, which becomes (again) a candidate. An active supplier is not
    selected again; a supplier has at most one open intake."""
    require(actor, supplier.organization_id, ADD)
    if supplier.status == SupplierStatus.ACTIVE and supplier.intakes.exists():
        raise OversightError(_("This supplier has already been approved."))
    if supplier.status == SupplierStatus.ACTIVE and supplier.contracts.exists():
        raise OversightError(_("This supplier is already under contract."))
    try:
        with transaction.atomic():
            if supplier.status != SupplierStatus.CANDIDATE:
                supplier.status = SupplierStatus.CANDIDATE
                save_record(actor, supplier)
            intake = Intake(
                organization_id=supplier.organization_id, supplier=supplier, created_by=actor.user
            )
            return _save(actor, intake, None)
    except IntegrityError:
        raise OversightError(_("This supplier already has an open intake.")) from None


def register_candidate(actor: Actor, supplier: Supplier, *, tags: Iterable[str] | None = None) -> Intake:
    """Register a new supplier as a candidate (the registry's fields) and start its intake."""
    require(actor, supplier.organization_id, ADD)
    supplier.status = SupplierStatus.CANDIDATE
    with transaction.atomic():
        save_record(actor, supplier, tags=tags)
        intake = Intake(organization_id=supplier.organization_id, supplier=supplier, created_by=actor.user)
        return _save(actor, intake, None)


# --- Steps -------------------------------------------------------------------------------------


def confirm_profile(actor: Actor, intake: Intake) -> Intake:
    """The registry profile is complete: fix the expected 重要度 and the template it requires.
    Can be repeated (after a profile change) until the questionnaire is sent."""
    from renkei.risk.models import SupplierRisk
    from renkei.risk.services import config_for, recompute_suppliers

    require(actor, intake.organization_id, CHANGE)
    with transaction.atomic():
        locked = _locked(intake)
        if locked.assessment_id is not None:
            raise OversightError(_("The questionnaire has been sent; the profile is fixed."))
        recompute_suppliers([locked.supplier_id])
        criticality = SupplierRisk.objects.get(supplier_id=locked.supplier_id).criticality
        before = snapshot(locked)
        locked.criticality = criticality
        locked.template_key = template_key_for(config_for(locked.organization_id), criticality)
        locked.profile_confirmed_at = timezone.now()
        locked.profile_confirmed_by = actor.user
        return _save(actor, locked, before)


def send_questionnaire(actor: Actor, intake: Intake, *, due_on: datetime.date | None = None) -> Intake:
    """Send the questionnaire the expected 重要度 requires (an assessment of the candidate)."""
    from renkei.questionnaires import assessments_services as assessments

    require(actor, intake.organization_id, ADD)
    with transaction.atomic():
        locked = _locked(intake)
        if locked.profile_confirmed_at is None:
            raise OversightError(_("Confirm the profile first."))
        if locked.assessment_id is not None:
            raise OversightError(_("The questionnaire has already been sent."))
        template = assessments.latest_template(locked.organization_id, locked.template_key)
        if template is None:
            raise OversightError(
                _("No questionnaire template with the key “%(key)s”.") % {"key": locked.template_key}
            )
        try:
            sent = assessments.create_assessment(actor, locked.supplier, template, due_on=due_on)
        except assessments.AssessmentError as exc:
            raise OversightError(exc.message if hasattr(exc, "message") else str(exc)) from exc
        before = snapshot(locked)
        locked.assessment = sent
        return _save(actor, locked, before)


def decide(
    actor: Actor, intake: Intake, *, decision: str, reasons: str, conditions: Iterable[Mapping[str, Any]] = ()
) -> Intake:
    """Record the decision with its reasons (administrators only). CONDITIONS ({"title",
    "due_on"}) are required for, and only allowed with, approval with conditions; each becomes a
    remediation action of the supplier (source intake, owned by the supplier)."""
    from renkei.remediation.models import ActionSource, OwnerSide
    from renkei.remediation.services import RemediationError, create_action

    require(actor, intake.organization_id, MANAGE)
    errors: dict[str, str] = {}
    if decision not in Decision.values:
        errors["decision"] = _("Choose approve, approve with conditions or reject.")
    reasons = (reasons or "").strip()
    if not reasons:
        errors["reasons"] = _("Give the reasons for the decision.")
    cleaned = [
        {"title": str(c.get("title") or "").strip()[:300], "due_on": c.get("due_on")}
        for c in conditions
        if str(c.get("title") or "").strip()
    ]
    if decision == Decision.CONDITIONAL and not cleaned:
        errors["conditions"] = _("Name at least one condition.")
    if decision in (Decision.APPROVED, Decision.REJECTED) and cleaned:
        errors["conditions"] = _("Conditions belong to an approval with conditions.")
    if errors:
        raise OversightError(next(iter(errors.values())), errors)
    with transaction.atomic():
        locked = _locked(intake)
        if decision != Decision.REJECTED:
            status = getattr(locked.assessment, "status", None)
            if status not in READY_FOR_DECISION:
                raise OversightError(
                    _(
                        "A supplier is approved on its submitted questionnaire; "
                        "wait for the answers or reject."
                    )
                )
        before = snapshot(locked)
        locked.decision = decision
        locked.reasons = reasons
        locked.decided_by = actor.user
        locked.decided_at = timezone.now()
        supplier = locked.supplier
        supplier.status = SupplierStatus.REJECTED if decision == Decision.REJECTED else SupplierStatus.ACTIVE
        save_record(actor, supplier)
        pending = []
        for condition in cleaned:
            try:
                action = create_action(
                    actor,
                    supplier,
                    title=condition["title"],
                    source=ActionSource.INTAKE,
                    due_on=condition["due_on"],
                    owner_side=OwnerSide.SUPPLIER,
                    description=_("Condition of approval (supplier selection #%(id)s)") % {"id": locked.pk},
                )
            except RemediationError as exc:
                raise OversightError(exc.message, {"conditions": exc.message}) from exc
            row = IntakeCondition.objects.create(
                intake=locked, title=condition["title"], due_on=action.due_on, action=action
            )
            pending.append(
                PendingEntry(
                    AuditEntry.Action.CREATE,
                    row,
                    None,
                    snapshot(row),
                    supplier_id=supplier.pk,
                    organization_id=locked.organization_id,
                )
            )
        return _save(actor, locked, before, pending)


# --- Reading -----------------------------------------------------------------------------------


def steps(intake: Intake) -> list[dict[str, Any]]:
    """The three steps with their state: done, current (the next thing to do) or waiting."""
    assessment = intake.assessment
    questionnaire_done = assessment is not None and assessment.status in READY_FOR_DECISION
    done = {
        IntakeStep.PROFILE: intake.profile_confirmed_at is not None,
        IntakeStep.QUESTIONNAIRE: questionnaire_done,
        IntakeStep.DECISION: bool(intake.decision),
    }
    result, current_seen = [], False
    for step in IntakeStep:
        if done[step]:
            state = "done"
        elif not current_seen:
            state, current_seen = "current", True
        else:
            state = "waiting"
        if intake.decision == Decision.REJECTED and not done[step]:
            state = "skipped"
        result.append({"key": step.value, "label": step.label, "state": state})
    return result


def intake_data(intake: Intake) -> dict[str, Any]:
    """The API document of an intake."""
    assessment = intake.assessment
    return {
        "id": intake.pk,
        "organization": intake.organization_id,
        "supplier": intake.supplier_id,
        "supplier_code": intake.supplier.code,
        "supplier_status": intake.supplier.status,
        "criticality": intake.criticality,
        "template_key": intake.template_key,
        "assessment": intake.assessment_id,
        "assessment_status": assessment.status if assessment else None,
        "profile_confirmed_at": intake.profile_confirmed_at,
        "decision": intake.decision,
        "reasons": intake.reasons,
        "decided_by": str(intake.decided_by) if intake.decided_by_id else None,
        "decided_at": intake.decided_at,
        "steps": [{"key": s["key"], "state": s["state"]} for s in steps(intake)],
        "conditions": [
            {"title": c.title, "due_on": c.due_on, "action": c.action_id} for c in intake.conditions.all()
        ],
        "created_at": intake.created_at,
    }
