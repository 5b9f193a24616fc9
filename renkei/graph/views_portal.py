"""Pages of declared subcontractors (再委託先): the supplier contact's list and forms, and the
buyer's corrections. Rows come from for_user (renkei.graph.portal); writes go through the
map's services, so they are validated, audited and recompute the inherited risk."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from renkei.audit.services import Actor
from renkei.core.access import SupplierAccess, get_for_user_or_404
from renkei.core.permissions import CHANGE, VIEW
from renkei.graph import portal
from renkei.graph.forms_portal import DeclarationForm, LinkForm, apply_errors
from renkei.graph.services import GraphError
from renkei.suppliers.models import Supplier


def _back(request: HttpRequest, supplier: Supplier) -> str:
    """Where a change returns: the contact's list, or the registry page for the buyer's staff."""
    if portal.may_declare(request.user, supplier):
        return reverse("graph:portal-subcontractors", args=[supplier.pk])
    return reverse("suppliers:detail", args=[supplier.pk]) + "?tab=chain"


@login_required
def subcontractors(request: HttpRequest, pk: int) -> HttpResponse:
    supplier = get_for_user_or_404(Supplier.objects.select_related("organization"), request.user, VIEW, pk=pk)
    rows = portal.declarations(request.user, supplier)
    access = SupplierAccess.of(request.user, supplier)
    context = {
        "supplier": supplier,
        "rows": rows,
        "can_declare": access.is_contact,
        "can_correct": access.is_contact or CHANGE in access.staff_actions,
        "is_staff": access.is_staff,
    }
    return render(request, "graph/portal_subcontractors.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def add(request: HttpRequest, pk: int) -> HttpResponse:
    supplier = get_for_user_or_404(Supplier.objects.select_related("organization"), request.user, VIEW, pk=pk)
    if not portal.may_declare(request.user, supplier):
        raise PermissionDenied
    form = DeclarationForm(request.POST or None, via_nodes=portal.via_choices(supplier), code=supplier.code)
    if request.method == "POST" and form.is_valid():
        try:
            node = portal.declare(Actor.from_request(request), supplier, **form.values())
        except GraphError as exc:
            apply_errors(form, exc.errors, exc.message)
        else:
            messages.success(request, _("%(name)s was added to your subcontractors.") % {"name": node.name})
            return redirect("graph:portal-subcontractors", pk=supplier.pk)
    return render(request, "graph/portal_form.html", {"form": form, "supplier": supplier, "declared": None})


def _correctable(request: HttpRequest, pk: int) -> portal.Declaration:
    declared = portal.declaration(request.user, pk)
    if not portal.may_correct(request.user, declared):
        raise PermissionDenied
    return declared


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    declared = _correctable(request, pk)
    supplier = declared.supplier
    if not declared.own and not SupplierAccess.of(request.user, supplier).is_staff:
        # Linked by the buyer to a company of its own map: the contact may remove its
        # declaration, the buyer changes the rest.
        raise PermissionDenied
    form = DeclarationForm(
        request.POST or None,
        via_nodes=portal.via_choices(supplier, exclude=declared.node.pk),
        code=supplier.code,
        declared=declared,
    )
    if request.method == "POST" and form.is_valid():
        values = form.values()
        if not declared.own:
            values["name"] = declared.node.name
        try:
            portal.update(Actor.from_request(request), declared, **values)
        except GraphError as exc:
            apply_errors(form, exc.errors, exc.message)
        else:
            messages.success(
                request, _("The subcontractor %(name)s was saved.") % {"name": declared.node.name}
            )
            return redirect(_back(request, supplier))
    context = {
        "form": form,
        "supplier": supplier,
        "declared": declared,
        "cancel_url": _back(request, supplier),
    }
    return render(request, "graph/portal_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    declared = _correctable(request, pk)
    supplier = declared.supplier
    back = _back(request, supplier)
    error = ""
    if request.method == "POST":
        try:
            portal.withdraw(Actor.from_request(request), declared)
        except GraphError as exc:
            error = exc.message
        else:
            messages.success(
                request, _("%(name)s was removed from the subcontractors.") % {"name": declared.node.name}
            )
            return redirect(back)
    context = {"declared": declared, "supplier": supplier, "cancel_url": back, "error": error}
    return render(request, "graph/portal_confirm_delete.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def link(request: HttpRequest, pk: int) -> HttpResponse:
    declared = _correctable(request, pk)
    supplier = declared.supplier
    if not SupplierAccess.of(request.user, supplier).is_staff:
        raise PermissionDenied
    form = LinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["supplier"].strip()
        registry = (
            Supplier.objects.for_user(request.user, VIEW)
            .filter(organization_id=supplier.organization_id, code=code)
            .first()
        )
        if registry is None:
            form.add_error(
                "supplier", _("No supplier has the code “%(code)s” in the registry.") % {"code": code}
            )
        else:
            try:
                portal.link(Actor.from_request(request), declared, registry)
            except GraphError as exc:
                apply_errors(form, exc.errors, exc.message)
            else:
                messages.success(
                    request,
                    _("%(name)s is now linked to %(supplier)s in the registry.")
                    % {"name": declared.node.name, "supplier": registry},
                )
                return redirect(_back(request, supplier))
    context: dict[str, Any] = {
        "form": form,
        "declared": declared,
        "supplier": supplier,
        "cancel_url": _back(request, supplier),
    }
    return render(request, "graph/portal_link.html", context)
