"""The supplier portal's delivery pages: a contact lists its supplier's deliveries, registers a new
one and opens its page — signatures, SBOM quality, components and findings, which the contact may
triage (the supplier knows its product). The buyer's licence policy stays hidden.

Rows come from Delivery.objects.for_user: a contact reaches only its own suppliers' deliveries and
anything else is 404. Staff are sent to their own pages.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from renkei.core.models import contact_supplier_ids, member_organization_ids
from renkei.core.permissions import VIEW
from renkei.deliveries.forms import DeliveryForm
from renkei.deliveries.models import Delivery, Source
from renkei.deliveries.views import (
    is_staff_of,
    query_without,
    register,
    registered_message,
    render_detail,
    visible_delivery,
)
from renkei.suppliers.models import Supplier

PAGE_SIZE = 50


def _own_suppliers(request: HttpRequest) -> list[Supplier]:
    return list(
        Supplier.objects.for_user(request.user, VIEW)
        .filter(pk__in=contact_supplier_ids(request.user))
        .select_related("organization")
        .order_by("name")
    )


@login_required
@require_GET
def portal_list(request: HttpRequest) -> HttpResponse:
    suppliers = _own_suppliers(request)
    if not suppliers:
        if member_organization_ids(request.user, VIEW).exists():
            return redirect("deliveries:list")
        raise PermissionDenied
    rows = Delivery.objects.for_user(request.user, VIEW).filter(supplier__in=[s.pk for s in suppliers])
    wanted = request.GET.get("supplier", "")
    chosen = next((s for s in suppliers if str(s.pk) == wanted), None)
    if chosen is not None:
        rows = rows.filter(supplier=chosen)
    page = Paginator(rows.select_related("supplier").order_by("-received_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "suppliers": suppliers,
        "chosen": chosen,
        "page": page,
        "query": query_without(request, "page"),
    }
    return render(request, "deliveries/portal_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def portal_new(request: HttpRequest) -> HttpResponse:
    suppliers = _own_suppliers(request)
    if not suppliers:
        if member_organization_ids(request.user, VIEW).exists():
            return redirect("deliveries:new")
        raise PermissionDenied
    queryset = Supplier.objects.filter(pk__in=[s.pk for s in suppliers]).select_related("organization")
    initial = {"supplier": suppliers[0].pk}
    wanted = request.GET.get("supplier", "")
    if any(str(s.pk) == wanted for s in suppliers):
        initial["supplier"] = int(wanted)
    form = DeliveryForm(request.POST or None, request.FILES or None, suppliers=queryset, initial=initial)
    if len(suppliers) == 1:
        form.drop_supplier()
    if request.method == "POST":
        fixed = suppliers[0] if len(suppliers) == 1 else None
        delivery = register(request, form, Source.PORTAL, fixed_supplier=fixed)
        if delivery is not None:
            registered_message(request, delivery)
            return redirect("deliveries:portal_detail", pk=delivery.pk)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "portal": True, "suppliers": suppliers}
    return render(request, "deliveries/new.html", context, status=status)


@login_required
@require_GET
def portal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = visible_delivery(request, pk)
    if is_staff_of(request.user, delivery):
        return redirect("deliveries:detail", pk=delivery.pk)
    return render_detail(request, delivery, portal=True)
