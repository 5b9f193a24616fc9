"""Pages of the supplier registry (取引先台帳). Every query starts from `for_user`; every change
goes through renkei.suppliers.services so it is validated and audited the same way as the API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.deletion import ProtectedError
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from renkei.accounts.models import Organization
from renkei.audit.models import AuditEntry
from renkei.audit.services import Actor
from renkei.core.access import SupplierAccess, get_for_user_or_404
from renkei.core.permissions import ADD, CHANGE, DELETE, VIEW
from renkei.suppliers.choices import AccessMethod, DataClass
from renkei.suppliers.filtersets import SupplierFilterSet
from renkei.suppliers.forms import SupplierContactEditForm, SupplierForm, apply_validation_error
from renkei.suppliers.models import Certification, Contact, Contract, Supplier
from renkei.suppliers.presenters import (
    ancestors,
    descendants,
    describe_changes,
    object_type_label,
    supplier_labels,
)
from renkei.suppliers.services import delete_record, save_record

# child_* views live in their own module; urls.py names them through this one.
from renkei.suppliers.views_children import (  # noqa: F401
    child_create,
    child_delete,
    child_edit,
    evidence_download,
)

PAGE_SIZE = 50
HISTORY_PAGE_SIZE = 50

SORT_CHOICES = [
    ("", gettext_lazy("Code (default)")),
    ("code", gettext_lazy("Code")),
    ("-code", gettext_lazy("Code (descending)")),
    ("name", gettext_lazy("Name (kana)")),
    ("-name", gettext_lazy("Name (kana, descending)")),
    ("tier", gettext_lazy("Tier")),
    ("-tier", gettext_lazy("Tier (descending)")),
    ("-personal_info_records", gettext_lazy("Personal information records (most first)")),
    ("-updated_at", gettext_lazy("Recently updated")),
    ("updated_at", gettext_lazy("Least recently updated")),
]
CHECKBOX_FILTERS = ("relationship", "chain_type", "business_function")

TABS = [
    ("overview", gettext_lazy("Overview")),
    ("contacts", gettext_lazy("Contacts")),
    ("contracts", gettext_lazy("Contracts")),
    ("certifications", gettext_lazy("Certifications")),
    ("chain", gettext_lazy("Subcontractors")),
    ("assessments", gettext_lazy("Questionnaires")),
    ("risk", gettext_lazy("Risk")),
    ("audits", gettext_lazy("Audits")),
    ("remediation", gettext_lazy("Remediation")),
    ("history", gettext_lazy("History")),
]


# The buyer's own records about a supplier: the audit trail and its risk rating (docs/risk.md).
STAFF_TABS = {"history", "risk"}


def _count_of(queryset: QuerySet, group: str = "supplier") -> Coalesce:
    """A correlated COUNT per supplier row: constant queries however many rows are shown."""
    counted = queryset.order_by().values(group).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_certification_counts(queryset: QuerySet) -> QuerySet:
    today = timezone.localdate()
    soon = today + timezone.timedelta(days=Certification.EXPIRING_DAYS)
    certs = Certification.objects.filter(supplier=OuterRef("pk"))
    return queryset.annotate(
        cert_total=_count_of(certs),
        cert_expired=_count_of(certs.filter(expires_on__lt=today)),
        cert_expiring=_count_of(certs.filter(expires_on__gte=today, expires_on__lte=soon)),
    )


def _shape_filter_form(form: forms.Form) -> None:
    for name in CHECKBOX_FILTERS:
        form.fields[name].widget = forms.CheckboxSelectMultiple(choices=form.fields[name].choices)
    # Same field and values as the API's OrderingFilter, with labels our users can read.
    ordering = form.fields["ordering"]
    ordering.empty_label = SORT_CHOICES[0][1]
    ordering.choices = SORT_CHOICES[1:]
    # Filters that only links set (from a supplier page or the dashboard) stay as hidden inputs.
    for name in ("organization", "subcontracted_by", "risk_impact", "risk_likelihood"):
        form.fields[name].widget = forms.HiddenInput()
    # "Unknown" reads as a value of its own; an empty choice says "any", like the other selects.
    form.fields["export_controlled"].widget.choices = [
        ("", "---------"), ("true", gettext_lazy("Yes")), ("false", gettext_lazy("No")),
    ]
    form.fields["personal_info_min"].widget.attrs.update({"min": 0, "inputmode": "numeric"})
    form.fields["tier"].widget.attrs.update({"min": 1, "max": 9})


def _query_without(params: QueryDict, *names: str) -> str:
    copy = params.copy()
    for name in names:
        copy.pop(name, None)
    return copy.urlencode()


@login_required
def supplier_list(request: HttpRequest) -> HttpResponse:
    visible = Supplier.objects.for_user(request.user, VIEW)
    filterset = SupplierFilterSet(request.GET or None, queryset=visible, request=request)
    _shape_filter_form(filterset.form)
    queryset = with_certification_counts(filterset.qs).prefetch_related("tags")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    access_labels = dict(AccessMethod.choices)
    for supplier in page.object_list:
        supplier.access_labels = [access_labels.get(m, m) for m in supplier.access_methods]
    active = [
        name for name in filterset.form.fields if name != "ordering" and request.GET.get(name)
    ]
    context = {
        "filterset": filterset,
        "filter_form": filterset.form,
        "page": page,
        "filters_active": bool(active),
        "query": _query_without(request.GET, "page"),
        "can_add": Organization.for_user(request.user, ADD).exists(),
    }
    return render(request, "suppliers/list.html", context)


def _organizations_for_form(user: Any) -> list[Organization]:
    return list(Organization.for_user(user, ADD)[:2])


@login_required
@require_http_methods(["GET", "POST"])
def supplier_create(request: HttpRequest) -> HttpResponse:
    if not _organizations_for_form(request.user):
        raise PermissionDenied
    initial = {
        name: request.GET[name]
        for name in ("subcontracted_by", "tier", "relationship")
        if name in request.GET
    }
    form = SupplierForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        supplier = form.save(commit=False)
        try:
            save_record(Actor.from_request(request), supplier, tags=form.cleaned_data["tags"])
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("Supplier %(name)s was registered.") % {"name": supplier})
            return redirect("suppliers:detail", pk=supplier.pk)
    return render(request, "suppliers/form.html", {"form": form, "supplier": None})


@login_required
@require_http_methods(["GET", "POST"])
def supplier_edit(request: HttpRequest, pk: int) -> HttpResponse:
    supplier = get_for_user_or_404(Supplier, request.user, CHANGE, pk=pk)
    access = SupplierAccess.of(request.user, supplier)
    staff_form = CHANGE in access.staff_actions
    data = request.POST or None
    if staff_form:
        form: forms.ModelForm = SupplierForm(data, instance=supplier, user=request.user)
    else:
        form = SupplierContactEditForm(data, instance=supplier)
    if request.method == "POST" and form.is_valid():
        changed = form.save(commit=False)
        tags = form.cleaned_data["tags"] if staff_form else None
        try:
            save_record(Actor.from_request(request), changed, tags=tags)
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("suppliers:detail", pk=supplier.pk)
    return render(request, "suppliers/form.html", {"form": form, "supplier": supplier})


@login_required
@require_http_methods(["GET", "POST"])
def supplier_delete(request: HttpRequest, pk: int) -> HttpResponse:
    supplier = get_for_user_or_404(Supplier, request.user, DELETE, pk=pk)
    subcontractors = supplier.subcontractors.count()
    if request.method == "POST" and not subcontractors:
        try:
            delete_record(Actor.from_request(request), supplier)
        except ProtectedError:
            subcontractors = supplier.subcontractors.count() or 1
        else:
            messages.success(request, _("Supplier %(name)s was deleted.") % {"name": supplier})
            return redirect("suppliers:list")
    context = {"supplier": supplier, "subcontractors": subcontractors}
    status = 409 if request.method == "POST" else 200
    return render(request, "suppliers/confirm_delete.html", context, status=status)


def _detail_queryset(user: Any) -> QuerySet:
    return Supplier.objects.select_related("organization").annotate(
        contact_count=_count_of(Contact.objects.filter(supplier=OuterRef("pk"))),
        contract_count=_count_of(Contract.objects.filter(supplier=OuterRef("pk"))),
        certification_count=_count_of(Certification.objects.filter(supplier=OuterRef("pk"))),
        # Only subcontractors USER may see: a supplier's contact must not learn how many
        # other suppliers the buyer registered under it.
        subcontractor_count=_count_of(
            Supplier.objects.for_user(user, VIEW).filter(subcontracted_by=OuterRef("pk")),
            group="subcontracted_by",
        ),
    )


def _tab_context(request: HttpRequest, tab: str, supplier: Supplier) -> dict[str, Any]:
    user = request.user
    if tab == "overview":
        data_labels, access_labels = dict(DataClass.choices), dict(AccessMethod.choices)
        # The parent only if USER may see it (a subcontractor's contact may not see its client).
        parent = None
        if supplier.subcontracted_by_id is not None:
            parent = (
                Supplier.objects.for_user(user, VIEW).filter(pk=supplier.subcontracted_by_id).first()
            )
        return {
            "parent": parent,
            "tags": list(supplier.tags.values_list("name", flat=True)),
            "data_class_labels": [data_labels.get(v, v) for v in supplier.data_classes],
            "access_labels": [access_labels.get(v, v) for v in supplier.access_methods],
        }
    if tab == "contacts":
        contacts = Contact.objects.for_user(user, VIEW).filter(supplier=supplier)
        return {"rows": contacts.select_related("user")}
    if tab == "contracts":
        rows = Contract.objects.for_user(user, VIEW).filter(supplier=supplier)
        if SupplierAccess.of(user, supplier).is_staff:  # the checklist would tell a contact its 重要度
            from renkei.oversight.views import contracts_tab_context

            return contracts_tab_context(user, supplier, rows)
        return {"rows": rows}
    if tab == "audits":
        from renkei.oversight.views_audits import supplier_tab_context as audits_tab_context

        return audits_tab_context(user, supplier)
    if tab == "certifications":
        today = timezone.localdate()
        rows = list(Certification.objects.for_user(user, VIEW).filter(supplier=supplier))
        for cert in rows:
            cert.current_status = cert.status(today)
        return {"rows": rows}
    if tab == "assessments":
        from renkei.questionnaires.views_assessments import supplier_tab_context

        can_send = SupplierAccess.of(user, supplier).may(ADD, Supplier)
        return supplier_tab_context(user, supplier, can_send)
    if tab == "risk":
        from renkei.risk.views import supplier_tab_context as risk_tab_context
        from renkei.risk.views_register import supplier_section_context

        return {**risk_tab_context(user, supplier), **supplier_section_context(user, supplier)}
    if tab == "remediation":
        from renkei.remediation.views import supplier_tab_context as remediation_tab_context

        return remediation_tab_context(user, supplier)
    if tab == "chain":
        rows, truncated = descendants(user, supplier)
        return {"ancestors": ancestors(user, supplier), "chain_rows": rows, "truncated": truncated}
    entries = (
        AuditEntry.objects.for_user(user, VIEW)
        .filter(supplier_id_ref=supplier.pk)
        .order_by("-created_at", "-sequence")
    )
    page = Paginator(entries, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    labels = supplier_labels(user, list(page.object_list))
    for entry in page.object_list:
        entry.type_label = object_type_label(entry.object_type)
        entry.change_rows = describe_changes(entry.object_type, entry.changes, labels)
    return {"history_page": page}


@login_required
def supplier_detail(request: HttpRequest, pk: int) -> HttpResponse:
    supplier = get_for_user_or_404(_detail_queryset(request.user), request.user, VIEW, pk=pk)
    access = SupplierAccess.of(request.user, supplier)
    tabs = [(key, label) for key, label in TABS if key not in STAFF_TABS or access.is_staff]
    tab = request.GET.get("tab", "overview")
    if tab not in {key for key, _label in tabs}:
        tab = "overview"
    models_by_kind = {"contacts": Contact, "contracts": Contract, "certifications": Certification}
    child_model = models_by_kind.get(tab)
    context = {
        "supplier": supplier,
        "tab": tab,
        "tabs": tabs,
        "access": access,
        "can_edit": access.may(CHANGE, Supplier),
        "can_delete": access.may(DELETE, Supplier),
        "can_add_supplier": access.may(ADD, Supplier),
        "can_add_child": child_model is not None and access.may(ADD, child_model),
        "can_change_child": child_model is not None and access.may(CHANGE, child_model),
        "can_delete_child": child_model is not None and access.may(DELETE, child_model),
        "subcontractor_list_url": reverse("suppliers:list") + f"?subcontracted_by={supplier.pk}",
        **_tab_context(request, tab, supplier),
    }
    return render(request, "suppliers/detail.html", context)


def supplier_filter_url(**params: Any) -> str:
    """A list URL with filters set, for links from the dashboard."""
    query = QueryDict(mutable=True)
    for key, value in params.items():
        query[key] = value
    return f"{reverse('suppliers:list')}?{query.urlencode()}"

