"""Remediation plan pages, for buyer staff and for supplier contacts (the portal of a logged-in
contact is the same page, showing only what the contact may do).

Plans and actions come from `visible_plans` / `visible_actions` (for_user, drafts hidden from
contacts): anything else is 404. A visible action the user may not change is 403. Every change
goes through renkei.remediation.services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.core.downloads import attachment_response
from renkei.core.models import member_organization_ids
from renkei.core.permissions import ADD, CHANGE, VIEW
from renkei.questionnaires.evidence_page import ACCEPT
from renkei.remediation import services
from renkei.remediation.models import (
    Action,
    ActionSource,
    ActionStatus,
    OwnerSide,
    PlanStatus,
    RemediationPlan,
)
from renkei.suppliers.models import Supplier
from renkei.suppliers.presenters import describe_changes, object_type_label


def _is_staff_of(user: Any, organization_id: int, action: str = VIEW) -> bool:
    return member_organization_ids(user, action).filter(organization_id=organization_id).exists()


def _plan(request: HttpRequest, pk: int) -> RemediationPlan:
    plan = (
        services.visible_plans(request.user).select_related("supplier", "organization").filter(pk=pk).first()
    )
    if plan is None:
        raise Http404
    return plan


def _action(request: HttpRequest, pk: int) -> Action:
    action = (
        services.visible_actions(request.user)
        .select_related("plan", "plan__supplier", "risk")
        .filter(pk=pk)
        .first()
    )
    if action is None:
        raise Http404
    return action


def _with_actions(queryset: Any) -> Any:
    return queryset.prefetch_related(
        Prefetch(
            "actions", queryset=Action.objects.select_related("owner", "verified_by").order_by("due_on", "pk")
        )
    )


def _roles(user: Any, supplier: Supplier) -> tuple[bool, bool]:
    """(staff who may change, contact of the supplier who is not staff) — two small queries."""
    staff_change = _is_staff_of(user, supplier.organization_id, CHANGE)
    contact = not _is_staff_of(user, supplier.organization_id) and services.is_contact_of(user, supplier.pk)
    return staff_change, contact


def _decorate(plan: RemediationPlan, roles: tuple[bool, bool], today: Any) -> None:
    staff_change, contact = roles
    for action in plan.actions.all():
        action.status_label = services.STATUS_LABELS[action.status]
        action.overdue = services.is_overdue(action, today)
        action.evidence_name = action.evidence.name.rsplit("/", 1)[-1] if action.evidence else ""
        action.can_report = (
            plan.status in services.OPEN_PLAN_STATUSES
            and action.status in (*services.OPEN_ACTION_STATUSES, ActionStatus.DONE)
            and (
                staff_change
                or (contact and plan.status == PlanStatus.AGREED and action.owner_side == OwnerSide.SUPPLIER)
            )
        )
        action.can_review = staff_change and action.status == ActionStatus.DONE
        action.can_edit = staff_change and action.status not in (
            ActionStatus.VERIFIED,
            ActionStatus.CANCELLED,
        )
    counts = {status: 0 for status in ActionStatus.values}
    for action in plan.actions.all():
        counts[action.status] += 1
    plan.counts = counts
    plan.done_count = counts[ActionStatus.VERIFIED]
    plan.total_count = sum(n for s, n in counts.items() if s != ActionStatus.CANCELLED)


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    """Staff: the plans of their organizations (filter by status, supplier code); a supplier
    contact: its own supplier's plans."""
    user = request.user
    plans = services.visible_plans(user).select_related("supplier", "organization")
    status = request.GET.get("status", "")
    if status in PlanStatus.values:
        plans = plans.filter(status=status)
    code = request.GET.get("supplier", "").strip()
    if code:
        plans = plans.filter(supplier__code=code)
    plans = plans.annotate(
        action_total=Count("actions", filter=~Q(actions__status=ActionStatus.CANCELLED)),
        action_verified=Count("actions", filter=Q(actions__status=ActionStatus.VERIFIED)),
        action_overdue=Count(
            "actions",
            filter=Q(
                actions__status__in=services.OPEN_ACTION_STATUSES, actions__due_on__lt=timezone.localdate()
            ),
        ),
    ).order_by("-created_at", "-pk")[:500]
    is_staff = Organization.for_user(user, VIEW).exists()
    if not is_staff and not Supplier.objects.for_user(user, VIEW).exists():
        raise PermissionDenied
    return render(
        request,
        "remediation/list.html",
        {
            "plans": plans,
            "is_staff": is_staff,
            "status": status,
            "supplier_code": code,
            "statuses": PlanStatus.choices,
        },
    )


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_plan(request, _plan(request, pk))


def _render_plan(
    request: HttpRequest,
    plan: RemediationPlan,
    errors: dict[str, str] | None = None,
    form: str = "",
    status: int = 200,
) -> HttpResponse:
    user = request.user
    plan = _with_actions(RemediationPlan.objects.filter(pk=plan.pk)).select_related("supplier").get()
    today = timezone.localdate()
    _decorate(plan, _roles(user, plan.supplier), today)
    is_staff = _is_staff_of(user, plan.organization_id)
    can_change = _is_staff_of(user, plan.organization_id, CHANGE)
    history = []
    if is_staff:
        ids = [str(a.pk) for a in plan.actions.all()]
        history = list(
            AuditEntry.objects.for_user(user, VIEW)
            .filter(organization_id=plan.organization_id)
            .filter(
                Q(object_type="remediation.remediationplan", object_id=str(plan.pk))
                | Q(object_type="remediation.action", object_id__in=ids)
            )
            .order_by("-created_at", "-sequence")[:200]
        )
        for entry in history:
            entry.type_label = object_type_label(entry.object_type)
            entry.change_rows = describe_changes(entry.object_type, entry.changes)
    from renkei.risk.register import owner_choices

    context = {
        "plan": plan,
        "actions": list(plan.actions.all()),
        "is_staff": is_staff,
        "can_change": can_change,
        "open": plan.status in services.OPEN_PLAN_STATUSES,
        "history": history,
        "owners": owner_choices(plan.organization_id) if can_change else [],
        "sources": ActionSource.choices,
        "progress_statuses": [(v, services.STATUS_LABELS[v]) for v in services.SUPPLIER_STATUSES],
        "errors": errors or {},
        "general_error": " ".join(str(m) for m in (errors or {}).values()),
        "failed_form": form,
        "post": request.POST if errors else {},
        "evidence_accept": ACCEPT,
        "today": today,
    }
    return render(request, "remediation/detail.html", context, status=status)


def _refused(
    request: HttpRequest, plan: RemediationPlan, exc: services.RemediationError, form: str
) -> HttpResponse:
    if isinstance(exc, services.NotAllowed):
        raise PermissionDenied(exc.message)
    return _render_plan(request, plan, exc.errors or {"": exc.message}, form, status=400)


def _back(plan_id: int, anchor: str = "") -> HttpResponse:
    return redirect(reverse("remediation:detail", args=[plan_id]) + (f"#{anchor}" if anchor else ""))


@login_required
@require_POST
def plan_create(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("supplier", "")
    supplier = (
        Supplier.objects.for_user(request.user, VIEW)
        .filter(pk=int(wanted) if wanted.isdigit() else 0)
        .first()
    )
    if supplier is None:
        raise Http404
    if not _is_staff_of(request.user, supplier.organization_id, ADD):
        raise PermissionDenied
    try:
        plan = services.create_plan(
            Actor.from_request(request),
            supplier,
            title=request.POST.get("title", ""),
            due_on=request.POST.get("due_on", ""),
        )
    except services.RemediationError as exc:
        messages.error(request, "; ".join(exc.errors.values()) or exc.message)
        return redirect(reverse("suppliers:detail", args=[supplier.pk]) + "?tab=remediation")
    messages.success(request, _("The remediation plan was created. Add its actions."))
    return _back(plan.pk)


def _plan_change(request: HttpRequest, pk: int, run: Any, done: str, form: str) -> HttpResponse:
    plan = _plan(request, pk)
    if not _is_staff_of(request.user, plan.organization_id, CHANGE):
        raise PermissionDenied
    try:
        result = run(Actor.from_request(request), plan)
    except services.RemediationError as exc:
        return _refused(request, plan, exc, form)
    messages.success(request, done)
    return _back(plan.pk, f"action-{result.pk}" if isinstance(result, Action) else "")


@login_required
@require_POST
def plan_update(request: HttpRequest, pk: int) -> HttpResponse:
    data = {k: request.POST.get(k, "") for k in ("title", "due_on") if k in request.POST}
    return _plan_change(
        request,
        pk,
        lambda actor, plan: services.update_plan(actor, plan, data),
        _("The plan was saved."),
        "plan",
    )


@login_required
@require_POST
def plan_agree(request: HttpRequest, pk: int) -> HttpResponse:
    return _plan_change(
        request,
        pk,
        services.agree_plan,
        _("The plan is agreed with the supplier; its contacts now see it."),
        "agree",
    )


@login_required
@require_POST
def plan_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _plan_change(request, pk, services.cancel_plan, _("The plan was cancelled."), "cancel")


ACTION_FIELDS = ("title", "description", "due_on", "owner_side", "owner", "owner_name", "source")


@login_required
@require_POST
def action_create(request: HttpRequest, pk: int) -> HttpResponse:
    data = {k: request.POST.get(k, "") for k in ACTION_FIELDS if k in request.POST}
    return _plan_change(
        request,
        pk,
        lambda actor, plan: services.add_action(actor, plan, data),
        _("The action was added."),
        "add",
    )


def _action_change(
    request: HttpRequest, pk: int, run: Any, done: str, form: str, *, staff_only: bool = True
) -> HttpResponse:
    action = _action(request, pk)
    plan = action.plan
    if staff_only and not _is_staff_of(request.user, plan.organization_id, CHANGE):
        raise PermissionDenied
    try:
        run(Actor.from_request(request), action)
    except services.RemediationError as exc:
        return _refused(request, plan, exc, f"{form}-{action.pk}")
    messages.success(request, done)
    return _back(plan.pk, f"action-{action.pk}")


@login_required
@require_POST
def action_update(request: HttpRequest, pk: int) -> HttpResponse:
    data = {k: request.POST.get(k, "") for k in ACTION_FIELDS if k in request.POST and k != "source"}
    return _action_change(
        request,
        pk,
        lambda actor, action: services.update_action(actor, action, data),
        _("The action was saved."),
        "edit",
    )


@login_required
@require_POST
def action_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """Progress by the action's owner: a supplier contact on supplier-side actions, or staff."""
    post = request.POST
    return _action_change(
        request,
        pk,
        lambda actor, action: services.report_progress(
            actor,
            action,
            status=post.get("status") or None,
            completion_note=post.get("completion_note") if "completion_note" in post else None,
            upload=request.FILES.get("evidence"),
        ),
        _("Your progress was saved."),
        "progress",
        staff_only=False,
    )


@login_required
@require_POST
def action_verify(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_change(
        request,
        pk,
        lambda actor, action: services.verify(actor, action, request.POST.get("note", "")),
        _("The action was verified."),
        "review",
    )


@login_required
@require_POST
def action_send_back(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_change(
        request,
        pk,
        lambda actor, action: services.send_back(actor, action, request.POST.get("note", "")),
        _("The action was sent back."),
        "review",
    )


@login_required
@require_POST
def action_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _action_change(
        request,
        pk,
        lambda actor, action: services.cancel_action(actor, action, request.POST.get("note", "")),
        _("The action was cancelled."),
        "edit",
    )


@login_required
@require_GET
def action_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    return attachment_response(_action(request, pk).evidence)


def supplier_tab_context(user: Any, supplier: Supplier) -> dict[str, Any]:
    """The 是正計画 tab of a supplier page, for staff and for the supplier's contacts."""
    plans = list(
        _with_actions(services.visible_plans(user).filter(supplier=supplier)).order_by("-created_at", "-pk")
    )
    today = timezone.localdate()
    roles = _roles(user, supplier)
    for plan in plans:
        _decorate(plan, roles, today)
    return {"plans": plans, "can_add_plan": _is_staff_of(user, supplier.organization_id, ADD)}
