"""Pages of supplier selection (intake) and the contract checklist. Staff only: a supplier
contact never sees how the buyer selects or judges it (403 for the lists, 404 for a record).
Every row comes from for_user; every change goes through renkei.oversight.services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.access import get_for_user_or_404, require_staff
from renkei.core.permissions import ADD, CHANGE, MANAGE, VIEW
from renkei.oversight import services
from renkei.oversight.checklist import CLAUSE_LABELS, annotate_rows, checklist_queryset, missing_q
from renkei.oversight.forms import ChecklistFilterForm, ConditionFormSet, DecisionForm, SendForm
from renkei.oversight.models import Intake
from renkei.suppliers.choices import SupplierStatus
from renkei.suppliers.forms import SupplierForm, apply_validation_error
from renkei.suppliers.models import Contract

PAGE_SIZE = 50


def _intakes(user: Any) -> Any:
    return Intake.objects.for_user(user, VIEW).select_related("supplier", "assessment", "decided_by")


@login_required
def intake_list(request: HttpRequest) -> HttpResponse:
    require_staff(request.user)
    state = request.GET.get("state", "open")
    rows = _intakes(request.user)
    if state == "open":
        rows = rows.filter(decision="")
    elif state == "decided":
        rows = rows.exclude(decision="")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for intake in page.object_list:
        intake.step_list = services.steps(intake)
    context = {
        "page": page,
        "state": state,
        "query": f"state={state}",
        "can_add": Organization.for_user(request.user, ADD).exists(),
    }
    return render(request, "oversight/intake_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def intake_new(request: HttpRequest) -> HttpResponse:
    if not Organization.for_user(request.user, ADD).exists():
        raise PermissionDenied
    form = SupplierForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        supplier = form.save(commit=False)
        try:
            intake = services.register_candidate(
                Actor.from_request(request), supplier, tags=form.cleaned_data["tags"]
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("%(name)s was registered as a candidate.") % {"name": supplier})
            return redirect("oversight:intake-detail", pk=intake.pk)
    return render(request, "oversight/intake_new.html", {"form": form})


@login_required
def intake_detail(request: HttpRequest, pk: int) -> HttpResponse:
    intake = get_for_user_or_404(_intakes(request.user), request.user, VIEW, pk=pk)
    org = intake.organization_id
    context = {
        "intake": intake,
        "supplier": intake.supplier,
        "steps": services.steps(intake),
        "conditions": list(intake.conditions.select_related("action")),
        "can_change": services.may(request.user, org, CHANGE) and intake.is_open,
        "can_decide": services.may(request.user, org, MANAGE) and intake.is_open,
        "send_form": SendForm(initial={"due_on": timezone.localdate() + timezone.timedelta(days=30)}),
    }
    return render(request, "oversight/intake_detail.html", context)


def _back(intake: Intake) -> HttpResponse:
    return redirect("oversight:intake-detail", pk=intake.pk)


def _run(request: HttpRequest, intake: Intake, call: Any, done: str) -> HttpResponse:
    try:
        call()
    except services.NotAllowed as exc:
        raise PermissionDenied from exc
    except services.OversightError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return _back(intake)


@login_required
@require_POST
def intake_profile(request: HttpRequest, pk: int) -> HttpResponse:
    intake = get_for_user_or_404(Intake, request.user, CHANGE, pk=pk)
    return _run(
        request,
        intake,
        lambda: services.confirm_profile(Actor.from_request(request), intake),
        _("Profile confirmed."),
    )


@login_required
@require_POST
def intake_send(request: HttpRequest, pk: int) -> HttpResponse:
    intake = get_for_user_or_404(Intake, request.user, ADD, pk=pk)
    form = SendForm(request.POST)
    due_on = form.cleaned_data["due_on"] if form.is_valid() else None
    return _run(
        request,
        intake,
        lambda: services.send_questionnaire(Actor.from_request(request), intake, due_on=due_on),
        _("The questionnaire was sent."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def intake_decide(request: HttpRequest, pk: int) -> HttpResponse:
    intake = get_for_user_or_404(_intakes(request.user), request.user, VIEW, pk=pk)
    if not services.may(request.user, intake.organization_id, MANAGE):
        raise PermissionDenied
    form = DecisionForm(request.POST or None)
    conditions = ConditionFormSet(request.POST or None, prefix="conditions")
    status = 200
    if request.method == "POST":
        if form.is_valid() and conditions.is_valid():
            try:
                services.decide(
                    Actor.from_request(request),
                    intake,
                    decision=form.cleaned_data["decision"],
                    reasons=form.cleaned_data["reasons"],
                    conditions=[c for c in conditions.cleaned_data if c],
                )
            except services.OversightError as exc:
                for field, message in (exc.errors or {"": exc.message}).items():
                    form.add_error(field if field in form.fields else None, message)
            else:
                messages.success(request, _("The decision was recorded."))
                return _back(intake)
        status = 400
    context = {
        "intake": intake,
        "supplier": intake.supplier,
        "form": form,
        "conditions": conditions,
        "steps": services.steps(intake),
    }
    return render(request, "oversight/intake_decide.html", context, status=status)


# --- The contract checklist --------------------------------------------------------------------


@login_required
def contract_checklist(request: HttpRequest) -> HttpResponse:
    from renkei.risk.services import config_for
    from renkei.risk.views import chosen_organization

    require_staff(request.user)
    organization, organizations = chosen_organization(request)
    contracts_config = config_for(organization.pk)["contracts"]
    form = ChecklistFilterForm(request.GET or None)
    rows = checklist_queryset(
        Contract.objects.for_user(request.user, VIEW)
        .filter(supplier__organization=organization)
        .exclude(supplier__status=SupplierStatus.REJECTED),
        timezone.localdate(),
    )
    if form.is_valid():
        missing, criticality, q = (form.cleaned_data[k] for k in ("missing", "criticality", "q"))
        if missing:
            rows = rows.filter(missing_q(contracts_config, None if missing == "any" else missing))
        if criticality:
            rows = rows.filter(criticality=int(criticality))
        if q:
            rows = rows.filter(
                Q(title__icontains=q) | Q(supplier__name__icontains=q) | Q(supplier__code__icontains=q)
            )
    page = Paginator(rows.order_by("supplier__code", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    annotate_rows(page.object_list, contracts_config)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "organization": organization,
        "organizations": organizations,
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "clauses": list(CLAUSE_LABELS.items()),
        "required": contracts_config["required"],
        "hours": contracts_config["incident_notification_hours"],
        "filters_active": any(request.GET.get(k) for k in ("missing", "criticality", "q")),
    }
    return render(request, "oversight/contracts.html", context)


def contracts_tab_context(user: Any, supplier: Any, rows: Any) -> dict[str, Any]:
    """For the supplier page's contract tab: each contract's clause states (staff only; the
    required clauses would tell a contact its 重要度)."""
    from renkei.risk.models import SupplierRisk
    from renkei.risk.services import config_for

    contracts = list(rows)
    risk = SupplierRisk.objects.filter(supplier=supplier).values_list("criticality", flat=True).first()
    contracts_config = config_for(supplier.organization_id)["contracts"]
    today = timezone.localdate()
    for contract in contracts:
        contract.criticality = risk
        contract.is_current = contract.ends_on is None or contract.ends_on >= today
    annotate_rows(contracts, contracts_config)
    return {
        "rows": contracts,
        "checklist_criticality": risk,
        "show_checklist": True,
        "checklist_url": reverse("oversight:contracts"),
    }
