"""Remediation plans (是正計画) and their actions: the one place they are changed.

Pages, the API, the CLI, the demo and other apps (supplier selection, contract checks, audits:
`create_action`) call these. Each function validates before writing, locks the rows it changes,
and records the change in the audit trail in the same transaction; a change that can move the
supplier's likelihood (overdue or verified actions) marks the supplier for the risk recompute
on commit (renkei.risk.signals).

Who may do what (docs/remediation.md):
- staff (admin, analyst) create and agree plans, add, edit, cancel, verify and send back actions;
  auditors read;
- a supplier contact (portal access to the plan's supplier) reads its supplier's plans and
  reports progress on actions owned by the supplier side only: status (not started / in
  progress / done), completion note, evidence file. Never verification, never buyer-side actions.
A call with a user is checked here as well as in the view; a call without one is trusted.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from renkei.accounts.services import active_member
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor, PendingEntry, record_many, snapshot
from renkei.core.errors import NotAllowed as BaseNotAllowed
from renkei.core.errors import ServiceError
from renkei.core.models import contact_supplier_ids, member_organization_ids, staff_may
from renkei.core.permissions import ADD, CHANGE, VIEW
from renkei.remediation.models import (
    Action,
    ActionSource,
    ActionStatus,
    OwnerSide,
    PlanStatus,
    RemediationPlan,
)

TEXT_MAX = 4000
OPEN_PLAN_STATUSES = (PlanStatus.DRAFT, PlanStatus.AGREED)
OPEN_ACTION_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
# The models' labels share msgids with the questionnaires ("In progress" is 回答中 there), so
# pages show actions' statuses with these context-specific ones.
STATUS_LABELS = {
    ActionStatus.OPEN: pgettext_lazy("action status", "Not started"),
    ActionStatus.IN_PROGRESS: pgettext_lazy("action status", "In progress"),
    ActionStatus.DONE: pgettext_lazy("action status", "Done, awaiting verification"),
    ActionStatus.VERIFIED: pgettext_lazy("action status", "Verified"),
    ActionStatus.CANCELLED: pgettext_lazy("action status", "Cancelled"),
}
# What a supplier contact may set an action's status to.
SUPPLIER_STATUSES = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS, ActionStatus.DONE)


class RemediationError(ServiceError):
    """A refused change to a plan or an action."""


class NotAllowed(RemediationError, BaseNotAllowed):
    """The user may see the plan or action but not do this with it."""


# --- Access and validation ----------------------------------------------------------------------


def _staff(actor: Actor, organization_id: int, action: str = CHANGE) -> None:
    if actor.user is not None and not staff_may(actor.user, organization_id, action):
        raise NotAllowed(_("You may not change this remediation plan."))


def is_contact_of(user: Any, supplier_id: int) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return contact_supplier_ids(user).filter(supplier_id=supplier_id).exists()


def _field_error(name: str, message: str) -> RemediationError:
    return RemediationError(message, {name: message})


def _text(name: str, value: Any, *, required: bool = False, limit: int = TEXT_MAX) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise _field_error(name, _("This field is required."))
    if len(text) > limit:
        raise _field_error(name, _("Enter at most %(limit)d characters.") % {"limit": limit})
    return text


def _date(name: str, value: Any) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise _field_error(name, _("Enter a date (YYYY-MM-DD).")) from exc


def _owner(organization_id: int, value: Any) -> Any:
    try:
        return active_member(organization_id, value)
    except LookupError:
        raise _field_error("owner", _("Choose a member of the organization.")) from None


def _collect(checks: dict[str, Any]) -> dict[str, Any]:
    """Run each zero-argument check; raise one RemediationError naming every failing field."""
    values, errors = {}, {}
    for name, check in checks.items():
        try:
            values[name] = check()
        except RemediationError as exc:
            errors.update(exc.errors or {name: exc.message})
    if errors:
        raise RemediationError(_("Correct the errors below."), errors)
    return values


def _mark_for_recompute(supplier_id: int) -> None:
    from renkei.risk.signals import mark

    mark([supplier_id])


# --- Plans --------------------------------------------------------------------------------------


def default_title(supplier: Any) -> str:
    return _("Remediation plan: %(supplier)s") % {"supplier": supplier.name}


def create_plan(actor: Actor, supplier: Any, *, title: str = "", due_on: Any = None) -> RemediationPlan:
    _staff(actor, supplier.organization_id, ADD)
    values = _collect(
        {
            "title": lambda: _text("title", title, limit=200) or default_title(supplier)[:200],
            "due_on": lambda: _date("due_on", due_on),
        }
    )
    with transaction.atomic():
        plan = RemediationPlan(
            organization_id=supplier.organization_id, supplier=supplier, created_by=actor.user, **values
        )
        plan.full_clean(exclude=["organization", "supplier", "created_by"])
        plan.save()
        record_many(actor, [PendingEntry(AuditEntry.Action.CREATE, plan, None, snapshot(plan))])
    return plan


def open_plan(actor: Actor, supplier: Any) -> RemediationPlan:
    """The supplier's newest draft or agreed plan, or a new draft."""
    plan = (
        RemediationPlan.objects.filter(supplier=supplier, status__in=OPEN_PLAN_STATUSES)
        .order_by("-created_at", "-pk")
        .first()
    )
    return plan or create_plan(actor, supplier)


def update_plan(actor: Actor, plan: RemediationPlan, data: dict[str, Any]) -> RemediationPlan:
    _staff(actor, plan.organization_id)
    checks: dict[str, Any] = {}
    if "title" in data:
        checks["title"] = lambda: _text("title", data["title"], required=True, limit=200)
    if "due_on" in data:
        checks["due_on"] = lambda: _date("due_on", data["due_on"])
    values = _collect(checks)
    with transaction.atomic():
        locked = RemediationPlan.objects.select_for_update().get(pk=plan.pk)
        before = snapshot(locked)
        for name, value in values.items():
            setattr(locked, name, value)
        locked.save()
        record_many(actor, [PendingEntry(AuditEntry.Action.UPDATE, locked, before, snapshot(locked))])
    return locked


def _set_plan_status(
    actor: Actor, plan: RemediationPlan, status: str, allowed_from: tuple[str, ...], message: str
) -> RemediationPlan:
    _staff(actor, plan.organization_id)
    with transaction.atomic():
        locked = RemediationPlan.objects.select_for_update().get(pk=plan.pk)
        if locked.status not in allowed_from:
            raise RemediationError(message)
        before = snapshot(locked)
        locked.status = status
        entries = []
        if status == PlanStatus.AGREED:
            if not locked.actions.exclude(status=ActionStatus.CANCELLED).exists():
                raise RemediationError(_("Add at least one action before agreeing the plan."))
            locked.agreed_at = timezone.now()
        if status == PlanStatus.CANCELLED:
            for action in Action.objects.select_for_update().filter(
                plan=locked, status__in=(*OPEN_ACTION_STATUSES, ActionStatus.DONE)
            ):
                action_before = snapshot(action)
                action.status = ActionStatus.CANCELLED
                action.save(update_fields=["status", "updated_at"])
                entries.append(
                    PendingEntry(
                        AuditEntry.Action.UPDATE,
                        action,
                        action_before,
                        snapshot(action),
                        supplier_id=locked.supplier_id,
                    )
                )
        locked.save()
        record_many(
            actor, [PendingEntry(AuditEntry.Action.UPDATE, locked, before, snapshot(locked)), *entries]
        )
        _mark_for_recompute(locked.supplier_id)
    return locked


def agree_plan(actor: Actor, plan: RemediationPlan) -> RemediationPlan:
    """The plan was agreed with the supplier (合意済み)."""
    return _set_plan_status(
        actor, plan, PlanStatus.AGREED, (PlanStatus.DRAFT,), _("Only a draft plan can be agreed.")
    )


def cancel_plan(actor: Actor, plan: RemediationPlan) -> RemediationPlan:
    """Cancel the plan and its unfinished actions."""
    return _set_plan_status(
        actor,
        plan,
        PlanStatus.CANCELLED,
        OPEN_PLAN_STATUSES,
        _("Only a draft or agreed plan can be cancelled."),
    )


def _follow(plan: RemediationPlan) -> PendingEntry | None:
    """An agreed plan is completed once every action is verified or cancelled (and at least one
    verified); a completed plan that gets a new or reopened action is agreed again."""
    statuses = set(plan.actions.values_list("status", flat=True))
    before = snapshot(plan)
    if (
        plan.status == PlanStatus.AGREED
        and ActionStatus.VERIFIED in statuses
        and statuses <= {ActionStatus.VERIFIED, ActionStatus.CANCELLED}
    ):
        plan.status = PlanStatus.COMPLETED
    elif plan.status == PlanStatus.COMPLETED and statuses - {ActionStatus.VERIFIED, ActionStatus.CANCELLED}:
        plan.status = PlanStatus.AGREED
    else:
        return None
    plan.save(update_fields=["status", "updated_at"])
    return PendingEntry(AuditEntry.Action.UPDATE, plan, before, snapshot(plan))


# --- Actions ------------------------------------------------------------------------------------


def _action_values(organization_id: int, data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    if creating or "title" in data:
        checks["title"] = lambda: _text("title", data.get("title"), required=True, limit=300)
    if "description" in data:
        checks["description"] = lambda: _text("description", data["description"])
    if "due_on" in data:
        checks["due_on"] = lambda: _date("due_on", data["due_on"])
    if creating or "owner_side" in data:

        def side() -> str:
            value = data.get("owner_side") or OwnerSide.SUPPLIER
            if value not in OwnerSide.values:
                raise _field_error("owner_side", _("Choose our side or the supplier."))
            return value

        checks["owner_side"] = side
    if "owner" in data:
        checks["owner"] = lambda: _owner(organization_id, data["owner"])
    if "owner_name" in data:
        checks["owner_name"] = lambda: _text("owner_name", data["owner_name"], limit=100)
    if creating:

        def source() -> str:
            value = data.get("source") or ActionSource.MANUAL
            if value not in ActionSource.values:
                raise _field_error("source", _("Unknown source."))
            return value

        checks["source"] = source
    values = _collect(checks)
    if values.get("owner_side") == OwnerSide.SUPPLIER:
        values["owner"] = None  # the supplier's person is named in owner_name
    return values


def add_action(actor: Actor, plan: RemediationPlan, data: dict[str, Any], *, risk: Any = None) -> Action:
    """Add an action to PLAN (title, description, source, due_on, owner_side, owner, owner_name)."""
    _staff(actor, plan.organization_id, ADD)
    values = _action_values(plan.organization_id, data, creating=True)
    if risk is not None and (
        risk.organization_id != plan.organization_id or risk.supplier_id != plan.supplier_id
    ):
        raise _field_error("risk", _("The risk belongs to another supplier."))
    with transaction.atomic():
        locked = RemediationPlan.objects.select_for_update().get(pk=plan.pk)
        if locked.status not in (*OPEN_PLAN_STATUSES, PlanStatus.COMPLETED):
            raise RemediationError(_("A cancelled plan takes no new actions."))
        action = Action(plan=locked, risk=risk, **values)
        action.full_clean(exclude=["plan", "risk", "owner", "verified_by", "evidence"])
        action.save()
        entries = [
            PendingEntry(
                AuditEntry.Action.CREATE, action, None, snapshot(action), supplier_id=locked.supplier_id
            )
        ]
        followed = _follow(locked)
        if followed:
            entries.append(followed)
        record_many(actor, entries)
        _mark_for_recompute(locked.supplier_id)
    return action


def create_action(
    actor: Actor,
    supplier: Any,
    *,
    title: str,
    source: str,
    due_on: Any = None,
    owner_side: str = OwnerSide.SUPPLIER,
    risk: Any = None,
    description: str = "",
) -> Action:
    """An action for SUPPLIER in its open plan (the newest draft or agreed one; a new draft when
    there is none). For supplier selection, contract checks, audits and risk treatment."""
    _staff(actor, supplier.organization_id, ADD)
    data = {
        "title": title,
        "source": source,
        "due_on": due_on,
        "owner_side": owner_side,
        "description": description,
    }
    _action_values(supplier.organization_id, data, creating=True)  # refuse before creating a plan
    with transaction.atomic():
        return add_action(actor, open_plan(actor, supplier), data, risk=risk)


def action_from_risk(
    actor: Actor, risk: Any, *, title: str = "", due_on: Any = None, owner_side: str = OwnerSide.SUPPLIER
) -> Action:
    """Treatment "mitigate" → an action in the supplier's open plan, linked to the risk."""
    from renkei.risk.register import update as update_risk

    with transaction.atomic():
        action = create_action(
            actor,
            risk.supplier,
            title=title or risk.title,
            source=ActionSource.RISK,
            due_on=due_on,
            owner_side=owner_side,
            risk=risk,
            description=risk.description,
        )
        if risk.treatment != "mitigate" and risk.status in ("open", "treated"):
            update_risk(actor, risk, {"treatment": "mitigate"})
    return action


def update_action(actor: Actor, action: Action, data: dict[str, Any]) -> Action:
    """Staff change what the action is: title, description, due date, owner."""
    plan = action.plan
    _staff(actor, plan.organization_id)
    values = _action_values(plan.organization_id, data, creating=False)
    with transaction.atomic():
        locked = Action.objects.select_for_update().get(pk=action.pk)
        if locked.status in (ActionStatus.VERIFIED, ActionStatus.CANCELLED):
            raise RemediationError(_("A verified or cancelled action cannot be changed."))
        before = snapshot(locked)
        for name, value in values.items():
            setattr(locked, name, value)
        locked.full_clean(exclude=["plan", "risk", "owner", "verified_by", "evidence"])
        locked.save()
        record_many(
            actor,
            [
                PendingEntry(
                    AuditEntry.Action.UPDATE, locked, before, snapshot(locked), supplier_id=plan.supplier_id
                )
            ],
        )
        _mark_for_recompute(plan.supplier_id)
    return locked


def _storage() -> Any:
    return Action._meta.get_field("evidence").storage


def visible_plans(user: Any) -> Any:
    """Plans USER may see: staff all of their organizations'; a supplier contact its supplier's
    agreed, completed and cancelled plans (a draft is the buyer's working copy until agreed)."""
    return RemediationPlan.objects.for_user(user, VIEW).filter(
        Q(organization_id__in=member_organization_ids(user, VIEW)) | ~Q(status=PlanStatus.DRAFT)
    )


def visible_actions(user: Any) -> Any:
    return Action.objects.for_user(user, VIEW).filter(
        Q(plan__organization_id__in=member_organization_ids(user, VIEW)) | ~Q(plan__status=PlanStatus.DRAFT)
    )


def may_report(user: Any, action: Action) -> bool:
    """Whether USER may report progress on ACTION: staff who may change it, or a contact of the
    supplier when the action is owned by the supplier side of an agreed plan."""
    plan = action.plan
    if user is None:
        return True
    if staff_may(user, plan.organization_id, CHANGE):
        return True
    return (
        action.owner_side == OwnerSide.SUPPLIER
        and plan.status == PlanStatus.AGREED
        and is_contact_of(user, plan.supplier_id)
    )


def report_progress(
    actor: Actor, action: Action, *, status: Any = None, completion_note: Any = None, upload: Any = None
) -> Action:
    """Progress on an action by its owner: status (not started, in progress, done), the completion
    note and an evidence file (checked like questionnaire evidence before anything is written;
    it replaces an earlier file). A supplier contact reaches only supplier-side actions."""
    from renkei.questionnaires.evidence import EvidenceRefused, check_upload

    plan = action.plan
    if not may_report(actor.user, action):
        raise NotAllowed(_("This action is your customer's to carry out."))
    checks: dict[str, Any] = {}
    if status not in (None, ""):

        def status_check() -> str:
            if status not in SUPPLIER_STATUSES:
                raise _field_error("status", _("Choose not started, in progress or done."))
            return status

        checks["status"] = status_check
    if completion_note is not None:
        checks["completion_note"] = lambda: _text("completion_note", completion_note)
    values = _collect(checks)
    checked = None
    if upload is not None:
        try:
            checked = check_upload(upload)
        except EvidenceRefused as exc:
            raise _field_error("evidence", exc.message) from exc
    stored = ""
    try:
        with transaction.atomic():
            locked = Action.objects.select_for_update().select_related("plan").get(pk=action.pk)
            if locked.plan.status not in OPEN_PLAN_STATUSES:
                raise RemediationError(_("This plan is closed."))
            if locked.status not in (*OPEN_ACTION_STATUSES, ActionStatus.DONE):
                raise RemediationError(
                    _("This action is %(status)s; it cannot be changed.")
                    % {"status": locked.get_status_display()}
                )
            before = snapshot(locked)
            old_name = locked.evidence.name or ""
            extra: dict[str, Any] = {}
            if checked is not None:
                upload.seek(0)
                digest = hashlib.sha256(upload.read()).hexdigest()
                upload.seek(0)
                path = (
                    f"evidence/{locked.plan.organization_id}/{locked.plan.supplier_id}/"
                    f"actions/{locked.pk}/{checked.name}"
                )
                stored = _storage().save(path, upload, max_length=300)
                locked.evidence.name = stored
                extra = {"evidence_size": checked.size, "evidence_sha256": digest}
            for name, value in values.items():
                setattr(locked, name, value)
            if locked.status == ActionStatus.DONE and before["status"] != ActionStatus.DONE:
                locked.completed_at = timezone.now()
            elif locked.status != ActionStatus.DONE:
                locked.completed_at = None
            locked.save()
            record_many(
                actor,
                [
                    PendingEntry(
                        AuditEntry.Action.UPDATE,
                        locked,
                        before,
                        {**snapshot(locked), **extra},
                        supplier_id=plan.supplier_id,
                    )
                ],
            )
            if old_name and old_name != locked.evidence.name:
                transaction.on_commit(lambda: _storage().delete(old_name), robust=True)
            _mark_for_recompute(plan.supplier_id)
    except BaseException:
        if stored:
            _storage().delete(stored)
        raise
    return locked


def verify(actor: Actor, action: Action, note: str = "") -> Action:
    """The buyer checked a done action and its evidence: verified (検証済み). Verified actions on
    × answers lower the supplier's likelihood (renkei.risk.factors)."""
    return _review(actor, action, ActionStatus.VERIFIED, note)


def send_back(actor: Actor, action: Action, note: str) -> Action:
    """The buyer does not accept a done action: back to in progress, with the reason."""
    return _review(actor, action, ActionStatus.IN_PROGRESS, note)


def cancel_action(actor: Actor, action: Action, note: str = "") -> Action:
    return _review(actor, action, ActionStatus.CANCELLED, note)


def _review(actor: Actor, action: Action, status: str, note: str) -> Action:
    plan = action.plan
    _staff(actor, plan.organization_id)
    note = _text("verification_note", note, required=status == ActionStatus.IN_PROGRESS)
    with transaction.atomic():
        locked = Action.objects.select_for_update().get(pk=action.pk)
        locked_plan = RemediationPlan.objects.select_for_update().get(pk=plan.pk)
        if status == ActionStatus.CANCELLED:
            if locked.status in (ActionStatus.VERIFIED, ActionStatus.CANCELLED):
                raise RemediationError(_("A verified or cancelled action cannot be cancelled."))
        elif locked.status != ActionStatus.DONE:
            raise RemediationError(_("Only a done action can be verified or sent back."))
        before = snapshot(locked)
        locked.status = status
        locked.verification_note = note
        if status == ActionStatus.VERIFIED:
            locked.verified_by, locked.verified_at = actor.user, timezone.now()
        elif status == ActionStatus.IN_PROGRESS:
            locked.completed_at = None
        locked.save()
        entries = [
            PendingEntry(
                AuditEntry.Action.UPDATE,
                locked,
                before,
                snapshot(locked),
                supplier_id=locked_plan.supplier_id,
            )
        ]
        followed = _follow(locked_plan)
        if followed:
            entries.append(followed)
        record_many(actor, entries)
        _mark_for_recompute(locked_plan.supplier_id)
    return locked


# --- Reading ------------------------------------------------------------------------------------


def is_overdue(action: Action, today: datetime.date | None = None) -> bool:
    today = today or timezone.localdate()
    return action.status in OPEN_ACTION_STATUSES and action.due_on is not None and action.due_on < today


def action_data(action: Action, today: datetime.date | None = None) -> dict[str, Any]:
    """One action as the CLI and the API print it (keys are only added, never renamed)."""
    return {
        "id": action.pk,
        "title": action.title,
        "source": action.source,
        "risk": action.risk_id,
        "owner_side": action.owner_side,
        "owner": action.owner.username if action.owner_id else None,
        "owner_name": action.owner_name,
        "due_on": action.due_on.isoformat() if action.due_on else None,
        "status": action.status,
        "overdue": is_overdue(action, today),
        "evidence": bool(action.evidence),
        "completed_at": action.completed_at.isoformat() if action.completed_at else None,
        "verified_at": action.verified_at.isoformat() if action.verified_at else None,
    }


def plan_data(plan: RemediationPlan, today: datetime.date | None = None) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "organization": plan.organization.slug,
        "supplier": plan.supplier.code,
        "title": plan.title,
        "status": plan.status,
        "due_on": plan.due_on.isoformat() if plan.due_on else None,
        "agreed_at": plan.agreed_at.isoformat() if plan.agreed_at else None,
        "actions": [action_data(a, today) for a in plan.actions.all()],
    }
