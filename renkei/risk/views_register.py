"""Risk register pages (リスク登録簿): the list with filters and counts, one risk with its history,
raising a risk by hand, and the forms that confirm, dismiss, treat, accept, close and reopen.

Staff only: Risk has no supplier path, so `for_user` gives supplier contacts nothing (404 for any
id) and the list answers 403 to anyone who is not staff. Changes go through renkei.risk.register.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.core.access import get_for_user_or_404, require_staff
from renkei.core.permissions import ADD, CHANGE, MANAGE, VIEW
from renkei.risk import register
from renkei.risk.choices import LEVEL_RANK, SCALE, Level, RiskSource, RiskStatus, Treatment
from renkei.risk.models import Risk
from renkei.risk.views import chosen_organization
from renkei.suppliers.models import Supplier
from renkei.suppliers.presenters import describe_changes, object_type_label

PAGE_SIZE = 50
SORT_LABELS = {
    "level": "Level (highest first)",
    "-level": "Level (lowest first)",
    "newest": "Newest first",
    "supplier": "Supplier code",
}


def _filters(request: HttpRequest) -> dict[str, str]:
    keys = ("status", "level", "supplier", "source", "owner", "sort")
    return {key: request.GET.get(key, "").strip() for key in keys}


def filtered(user: Any, organization: Organization, params: dict[str, str]) -> Any:
    """The register of ORGANIZATION as USER sees it, narrowed by PARAMS (status, level, supplier
    code or id, source, owner id / "none" / "me") and sorted (level first by default)."""
    rows = register.with_rank(Risk.objects.for_user(user, VIEW).filter(organization=organization))
    status = params.get("status")
    if status == "active":
        rows = rows.exclude(status=RiskStatus.CLOSED)
    elif status in RiskStatus.values:
        rows = rows.filter(status=status)
    if params.get("level") in Level.values:
        rows = rows.filter(level_rank=LEVEL_RANK[params["level"]])
    supplier = params.get("supplier")
    if supplier:
        rows = rows.filter(
            Q(supplier__code=supplier) | Q(supplier__pk=int(supplier) if supplier.isdigit() else 0)
        )
    if params.get("source") in RiskSource.values:
        rows = rows.filter(source=params["source"])
    owner = params.get("owner")
    if owner == "none":
        rows = rows.filter(owner__isnull=True)
    elif owner == "me":
        rows = rows.filter(owner=user)
    elif owner and owner.isdigit():
        rows = rows.filter(owner_id=int(owner))
    sort = params.get("sort") if params.get("sort") in register.SORTS else "level"
    return rows.select_related("supplier", "owner").order_by(*register.SORTS[sort])


def counts(user: Any, organization: Organization) -> dict[str, Any]:
    """Risks per status, and active risks per current level (two GROUP BYs)."""
    base = Risk.objects.for_user(user, VIEW).filter(organization=organization)
    by_status = dict(base.order_by().values_list("status").annotate(n=Count("pk")))
    by_rank = dict(
        register.with_rank(base.exclude(status=RiskStatus.CLOSED))
        .order_by()
        .values_list("level_rank")
        .annotate(n=Count("pk"))
    )
    return {
        "statuses": [
            {"value": value, "label": label, "count": by_status.get(value, 0)}
            for value, label in RiskStatus.choices
        ],
        "levels": [
            {"value": level.value, "label": level.label, "count": by_rank.get(LEVEL_RANK[level], 0)}
            for level in sorted(Level, key=lambda lv: -LEVEL_RANK[lv])
        ],
        "active": sum(n for status, n in by_status.items() if status != RiskStatus.CLOSED),
    }


@login_required
def register_list(request: HttpRequest) -> HttpResponse:
    require_staff(request.user)
    organization, organizations = chosen_organization(request)
    params = _filters(request)
    page = Paginator(filtered(request.user, organization, params), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for risk in page.object_list:
        risk.status_label = register.STATUS_LABELS[risk.status]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "organization": organization,
        "organizations": organizations,
        "page": page,
        "params": params,
        "query": query.urlencode(),
        "filters_active": any(v for k, v in params.items() if k != "sort"),
        "counts": counts(request.user, organization),
        "statuses": list(register.STATUS_LABELS.items()),
        "levels": Level.choices,
        "sources": RiskSource.choices,
        "sorts": [(key, _(label)) for key, label in SORT_LABELS.items()],
        "owners": register.owner_choices(organization.pk),
        "can_add": Organization.for_user(request.user, ADD).filter(pk=organization.pk).exists(),
    }
    return render(request, "risk/register_list.html", context)


def supplier_section_context(user: Any, supplier: Supplier) -> dict[str, Any]:
    """The register section of a supplier's リスク tab (staff only; the tab is hidden from others)."""
    rows = list(
        register.with_rank(Risk.objects.for_user(user, VIEW).filter(supplier=supplier))
        .select_related("owner")
        .order_by("-level_rank", "-pk")
    )
    rows.sort(key=lambda r: r.status == RiskStatus.CLOSED)
    for risk in rows:
        risk.status_label = register.STATUS_LABELS[risk.status]
    return {
        "register_rows": rows,
        "register_can_add": Supplier.objects.for_user(user, ADD).filter(pk=supplier.pk).exists()
        and Organization.for_user(user, ADD).filter(pk=supplier.organization_id).exists(),
    }


def _history(user: Any, risk: Risk) -> list[AuditEntry]:
    acceptance_ids = [str(pk) for pk in risk.acceptances.values_list("pk", flat=True)]
    entries = list(
        AuditEntry.objects.for_user(user, VIEW)
        .filter(organization_id=risk.organization_id)
        .filter(
            Q(object_type="risk.risk", object_id=str(risk.pk))
            | Q(object_type="risk.riskacceptance", object_id__in=acceptance_ids)
        )
        .order_by("-created_at", "-sequence")[:200]
    )
    for entry in entries:
        entry.type_label = object_type_label(entry.object_type)
        entry.change_rows = describe_changes(entry.object_type, entry.changes)
        for row in entry.change_rows:
            if row.label == "reason":  # kept in the entry only (the risk has no reason field)
                row.label = _("Reason")
    return entries


def _detail_context(
    request: HttpRequest, risk: Risk, errors: dict[str, str] | None = None, form: str = ""
) -> dict[str, Any]:
    user = request.user
    org_id = risk.organization_id
    can_change = Organization.for_user(user, CHANGE).filter(pk=org_id).exists()
    is_admin = Organization.for_user(user, MANAGE).filter(pk=org_id).exists()
    from renkei.remediation.models import Action
    from renkei.remediation.services import STATUS_LABELS

    actions = list(Action.objects.for_user(user, VIEW).filter(risk=risk).select_related("plan"))
    for action in actions:
        action.status_label = STATUS_LABELS[action.status]
    today = timezone.localdate()
    risk.status_label = register.STATUS_LABELS[risk.status]
    return {
        "risk": risk,
        "level": register.current_level(risk),
        "acceptances": list(risk.acceptances.select_related("approver")),
        "current_acceptance": risk.acceptances.filter(revoked_at__isnull=True).first(),
        "acceptance_expired": register.expired_acceptances(org_id, today).filter(risk=risk).exists(),
        "actions": actions,
        "history": _history(user, risk),
        "can_change": can_change,
        "can_accept": is_admin
        and risk.created_by_id != user.pk
        and risk.status in (RiskStatus.OPEN, RiskStatus.TREATED, RiskStatus.ACCEPTED),
        "raised_by_me": risk.created_by_id == user.pk,
        "owners": register.owner_choices(org_id),
        "scale": SCALE,
        "treatments": [(v, lbl) for v, lbl in Treatment.choices if v != Treatment.ACCEPT],
        "errors": errors or {},
        "general_error": " ".join(str(m) for m in (errors or {}).values()),
        "failed_form": form,
        "post": request.POST if errors else {},
        "max_acceptance_days": register.MAX_ACCEPTANCE_DAYS,
        "default_expiry": (today + timezone.timedelta(days=365)).isoformat(),
        "today": today,
    }


def _risk(request: HttpRequest, pk: int, action: str = VIEW) -> Risk:
    risk = get_for_user_or_404(
        Risk.objects.select_related("supplier", "owner", "created_by", "item", "assessment", "organization"),
        request.user,
        action,
        pk=pk,
    )
    return risk


@login_required
def register_detail(request: HttpRequest, pk: int) -> HttpResponse:
    risk = _risk(request, pk)
    return render(request, "risk/register_detail.html", _detail_context(request, risk))


def _back(risk: Risk) -> HttpResponse:
    return redirect(reverse("register:detail", args=[risk.pk]))


def _run(
    request: HttpRequest, pk: int, form: str, change: Any, done: str, *, action: str = CHANGE
) -> HttpResponse:
    """Call CHANGE(actor, risk); on a refusal show the page again with the errors (400)."""
    risk = _risk(request, pk, action)
    try:
        change(Actor.from_request(request), risk)
    except register.NotAllowed as exc:
        messages.error(request, exc.message)
        return render(request, "risk/register_detail.html", _detail_context(request, risk), status=403)
    except register.RegisterError as exc:
        return render(
            request,
            "risk/register_detail.html",
            _detail_context(request, _risk(request, pk), exc.errors or {"": exc.message}, form),
            status=400,
        )
    messages.success(request, done)
    return _back(risk)


@login_required
@require_POST
def register_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    post = request.POST
    return _run(
        request,
        pk,
        "confirm",
        lambda actor, risk: register.confirm(
            actor, risk, inherent_likelihood=post.get("inherent_likelihood"), owner=post.get("owner")
        ),
        _("The risk was confirmed and added to the register."),
    )


@login_required
@require_POST
def register_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    return _run(
        request,
        pk,
        "dismiss",
        lambda actor, risk: register.dismiss(actor, risk, request.POST.get("reason", "")),
        _("The candidate was dismissed."),
    )


@login_required
@require_POST
def register_update(request: HttpRequest, pk: int) -> HttpResponse:
    data = {name: request.POST.get(name, "") for name in register.EDITABLE if name in request.POST}
    return _run(
        request,
        pk,
        "update",
        lambda actor, risk: register.update(actor, risk, data),
        _("The risk was saved."),
    )


@login_required
@require_POST
def register_accept(request: HttpRequest, pk: int) -> HttpResponse:
    post = request.POST
    return _run(
        request,
        pk,
        "accept",
        lambda actor, risk: register.accept(
            actor, risk, justification=post.get("justification", ""), expires_on=post.get("expires_on", "")
        ),
        _("The acceptance was recorded."),
    )


@login_required
@require_POST
def register_close(request: HttpRequest, pk: int) -> HttpResponse:
    return _run(
        request,
        pk,
        "close",
        lambda actor, risk: register.close(actor, risk, request.POST.get("reason", "")),
        _("The risk was closed."),
    )


@login_required
@require_POST
def register_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _run(
        request,
        pk,
        "reopen",
        lambda actor, risk: register.reopen(actor, risk, request.POST.get("reason", "")),
        _("The risk was reopened."),
    )


@login_required
@require_POST
def register_create_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Treatment "mitigate": an action in the supplier's open remediation plan."""
    from renkei.remediation import services as remediation

    post = request.POST
    risk = _risk(request, pk, CHANGE)
    try:
        action = remediation.action_from_risk(
            Actor.from_request(request),
            risk,
            title=post.get("title", ""),
            due_on=post.get("due_on", ""),
            owner_side=post.get("owner_side") or "supplier",
        )
    except (remediation.RemediationError, register.RegisterError) as exc:
        return render(
            request,
            "risk/register_detail.html",
            _detail_context(request, risk, exc.errors or {"": exc.message}, "action"),
            status=400,
        )
    messages.success(request, _("The action was added to the remediation plan."))
    return redirect(reverse("remediation:detail", args=[action.plan_id]))


@login_required
def register_new(request: HttpRequest) -> HttpResponse:
    """Raise a risk by hand (GET ?supplier=ID preselects the supplier)."""
    require_staff(request.user, ADD)
    suppliers = (
        Supplier.objects.for_user(request.user, ADD)
        .filter(organization__in=Organization.for_user(request.user, ADD))
        .order_by("code")
    )
    wanted = request.POST.get("supplier") or request.GET.get("supplier") or ""
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        supplier = suppliers.filter(pk=int(wanted)).first() if wanted.isdigit() else None
        if supplier is None:
            errors["supplier"] = _("Choose a supplier.")
            status = 400
        else:
            try:
                risk = register.raise_risk(
                    Actor.from_request(request),
                    supplier,
                    title=request.POST.get("title", ""),
                    description=request.POST.get("description", ""),
                    inherent_likelihood=request.POST.get("inherent_likelihood") or None,
                    owner=request.POST.get("owner") or None,
                )
            except register.RegisterError as exc:
                errors = exc.errors or {"": exc.message}
                status = 400
            else:
                messages.success(request, _("The risk was added to the register."))
                return _back(risk)
    elif request.method != "GET":
        raise Http404
    chosen = suppliers.filter(pk=int(wanted)).first() if wanted.isdigit() else None
    organization = chosen.organization if chosen else Organization.for_user(request.user, ADD).first()
    owners = register.owner_choices(organization.pk) if organization else []
    context = {
        "suppliers": suppliers[:2000],
        "chosen": chosen,
        "errors": errors,
        "post": request.POST,
        "scale": SCALE,
        "owners": owners,
    }
    return render(request, "risk/register_new.html", context, status=status)
