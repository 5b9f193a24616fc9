"""The licence policy (docs/deliveries.md, "Licences"): the SPDX licences the organization's
deliveries must not contain. Administrators and analysts change it, auditors read it; supplier
contacts have no access (the policy is the buyer's business)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.access import get_for_user_or_404
from renkei.core.permissions import CHANGE, VIEW
from renkei.deliveries import services
from renkei.deliveries.forms import ForbiddenLicenceForm
from renkei.deliveries.models import ForbiddenLicence
from renkei.risk.views import chosen_organization


def _page(organization: Organization) -> str:
    return f"{reverse('deliveries:licences')}?organization={organization.pk}"


@login_required
@require_http_methods(["GET", "POST"])
def licence_policy(request: HttpRequest) -> HttpResponse:
    organization, organizations = chosen_organization(request)
    can_change = Organization.for_user(request.user, CHANGE).filter(pk=organization.pk).exists()
    form = ForbiddenLicenceForm(request.POST or None)
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        if form.is_valid():
            try:
                row = services.add_forbidden_licence(
                    Actor.from_request(request),
                    organization,
                    form.cleaned_data["identifier"],
                    form.cleaned_data["note"],
                )
            except services.NotAllowed as exc:
                raise PermissionDenied(exc.message) from exc
            except services.DeliveryError as exc:
                form.apply(exc.errors, exc.message)
            else:
                messages.success(request, _("%(id)s is now forbidden.") % {"id": row.identifier})
                return redirect(_page(organization))
    rows = (
        ForbiddenLicence.objects.for_user(request.user, VIEW)
        .filter(organization=organization)
        .select_related("added_by")
    )
    context = {
        "organization": organization,
        "organizations": organizations,
        "rows": rows,
        "form": form,
        "can_change": can_change,
    }
    return render(request, "deliveries/licences.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def licence_remove(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_for_user_or_404(
        ForbiddenLicence.objects.select_related("organization"), request.user, CHANGE, pk=pk
    )
    try:
        services.remove_forbidden_licence(Actor.from_request(request), row)
    except services.NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(request, _("%(id)s is no longer forbidden.") % {"id": row.identifier})
    return redirect(_page(row.organization))
