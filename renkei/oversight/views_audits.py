"""Pages of supplier audits (監査) and their findings.

Staff see their organization's audits (auditors read only); a supplier contact sees its own
supplier's audits and, once the report is released, the findings — never another supplier's
(404). Every change goes through renkei.oversight.audit_services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.access import get_for_user_or_404
from renkei.core.downloads import attachment_response
from renkei.core.permissions import ADD, CHANGE, VIEW
from renkei.oversight import audit_services
from renkei.oversight.choices import AuditStatus
from renkei.oversight.forms import AuditForm, FindingActionForm, FindingForm, StatusForm
from renkei.oversight.models import Audit, Finding
from renkei.oversight.services import NotAllowed, OversightError, may
from renkei.suppliers.models import Supplier

PAGE_SIZE = 50


def _audits(user: Any) -> Any:
    return Audit.objects.for_user(user, VIEW).select_related("supplier")


def visible_findings(user: Any) -> Any:
    return Finding.objects.for_user(user, VIEW).select_related("action")


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    rows = _audits(request.user).annotate(
        finding_count=Count("findings", filter=Q(findings__in=visible_findings(request.user).values("pk")))
    )
    status = request.GET.get("status", "")
    if status in AuditStatus.values:
        rows = rows.filter(status=status)
    supplier = request.GET.get("supplier", "").strip()
    if supplier:
        rows = rows.filter(supplier__code=supplier)
    page = Paginator(rows.order_by("-planned_on", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "status": status,
        "supplier_code": supplier,
        "statuses": AuditStatus.choices,
        "query": query.urlencode(),
        "can_add": Organization.for_user(request.user, ADD).exists(),
    }
    return render(request, "oversight/audit_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def audit_new(request: HttpRequest) -> HttpResponse:
    if not Organization.for_user(request.user, ADD).exists():
        raise PermissionDenied
    initial = {}
    if request.GET.get("supplier"):
        initial["supplier"] = request.GET["supplier"]
    form = AuditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        supplier = Supplier.objects.for_user(request.user, ADD).filter(code=data["supplier"]).first()
        if supplier is None:
            form.add_error("supplier", _("No supplier with this code."))
        else:
            try:
                audit = audit_services.plan_audit(
                    Actor.from_request(request),
                    supplier,
                    planned_on=data["planned_on"],
                    scope=data["scope"],
                    kind=data["kind"],
                    auditors=data["auditors"],
                )
            except OversightError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("The audit was planned."))
                return redirect("oversight:audit-detail", pk=audit.pk)
    return render(request, "oversight/audit_form.html", {"form": form, "audit": None})


@login_required
def audit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    audit = get_for_user_or_404(_audits(request.user), request.user, VIEW, pk=pk)
    findings = list(visible_findings(request.user).filter(audit=audit))
    is_staff = may(request.user, audit.organization_id, VIEW)
    can_change = may(request.user, audit.organization_id, CHANGE)
    context = {
        "audit": audit,
        "supplier": audit.supplier,
        "findings": findings,
        "is_staff": is_staff,
        "can_change": can_change and audit.status != AuditStatus.CANCELLED,
        "can_add_finding": may(request.user, audit.organization_id, ADD)
        and audit.status != AuditStatus.CANCELLED,
        "status_form": StatusForm(),
        "finding_form": FindingForm(),
        "action_form": FindingActionForm(),
        # A contact sees findings only once released: say so rather than show an empty list.
        "findings_withheld": not is_staff and audit.report_released_at is None,
    }
    return render(request, "oversight/audit_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def audit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    audit = get_for_user_or_404(_audits(request.user), request.user, CHANGE, pk=pk)
    initial = {name: getattr(audit, name) for name in ("kind", "planned_on", "scope", "auditors", "summary")}
    form = AuditForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            audit_services.update_audit(Actor.from_request(request), audit, form.cleaned_data)
        except NotAllowed as exc:
            raise PermissionDenied from exc
        except OversightError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("oversight:audit-detail", pk=audit.pk)
    return render(request, "oversight/audit_form.html", {"form": form, "audit": audit})


def _done(request: HttpRequest, audit: Audit, call: Any, message: str) -> HttpResponse:
    try:
        call()
    except NotAllowed as exc:
        raise PermissionDenied from exc
    except OversightError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, message)
    return redirect("oversight:audit-detail", pk=audit.pk)


@login_required
@require_POST
def audit_status(request: HttpRequest, pk: int) -> HttpResponse:
    audit = get_for_user_or_404(Audit, request.user, CHANGE, pk=pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose done or cancelled."))
        return redirect("oversight:audit-detail", pk=audit.pk)
    data = form.cleaned_data
    return _done(
        request,
        audit,
        lambda: audit_services.set_status(
            Actor.from_request(request),
            audit,
            data["status"],
            done_on=data["done_on"],
            summary=data["summary"],
        ),
        _("The audit status was changed."),
    )


@login_required
@require_POST
def audit_release(request: HttpRequest, pk: int) -> HttpResponse:
    audit = get_for_user_or_404(Audit, request.user, CHANGE, pk=pk)
    return _done(
        request,
        audit,
        lambda: audit_services.release_report(Actor.from_request(request), audit),
        _("The report was released to the supplier."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def finding_new(request: HttpRequest, pk: int) -> HttpResponse:
    audit = get_for_user_or_404(_audits(request.user), request.user, VIEW, pk=pk)
    if not may(request.user, audit.organization_id, ADD):
        raise PermissionDenied
    form = FindingForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            audit_services.add_finding(
                Actor.from_request(request),
                audit,
                title=data["title"],
                severity=data["severity"],
                description=data["description"],
                evidence=data["evidence"],
            )
        except OversightError as exc:
            for field, message in (exc.errors or {"": exc.message}).items():
                form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("The finding was recorded."))
            return redirect("oversight:audit-detail", pk=audit.pk)
    return render(request, "oversight/finding_form.html", {"form": form, "audit": audit})


def _finding(request: HttpRequest, pk: int, action: str) -> Finding:
    finding = get_for_user_or_404(
        Finding.objects.select_related("audit__supplier"), request.user, VIEW, pk=pk
    )
    if not may(request.user, finding.audit.organization_id, action):
        raise PermissionDenied
    return finding


@login_required
@require_POST
def finding_action(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _finding(request, pk, ADD)
    form = FindingActionForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {}
    return _done(
        request,
        finding.audit,
        lambda: audit_services.finding_to_action(
            Actor.from_request(request), finding, due_on=data.get("due_on"), owner_side=data.get("owner_side")
        ),
        _("The finding became a remediation action."),
    )


@login_required
@require_POST
def finding_risk(request: HttpRequest, pk: int) -> HttpResponse:
    finding = _finding(request, pk, ADD)
    return _done(
        request,
        finding.audit,
        lambda: audit_services.finding_to_risk(Actor.from_request(request), finding),
        _("The finding was raised as a risk."),
    )


@login_required
@require_GET
def finding_evidence(request: HttpRequest, pk: int) -> FileResponse:
    finding = get_for_user_or_404(Finding, request.user, VIEW, pk=pk)
    if not finding.evidence:
        raise Http404
    return attachment_response(finding.evidence)


def supplier_tab_context(user: Any, supplier: Supplier) -> dict[str, Any]:
    """The supplier page's audit tab (staff and the supplier's own contacts)."""
    rows = (
        _audits(user)
        .filter(supplier=supplier)
        .prefetch_related(Prefetch("findings", queryset=visible_findings(user), to_attr="visible_findings"))
    )
    return {"audits": list(rows), "can_plan_audit": may(user, supplier.organization_id, ADD)}
