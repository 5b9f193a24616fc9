"""The organization's client-certificate policy (mutual TLS), for its administrators, and clearing
a certificate's "used from two devices" flag.

Both need MANAGE in the organization: the policy page answers 403 to anyone who administers no
organization and 404 for an organization they do not administer; the flag's certificate comes
through `for_user` (404 when foreign, 403 for staff who may see but not manage)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.access import get_for_user_or_404
from renkei.core.errors import NotAllowed, ServiceError
from renkei.core.permissions import MANAGE, Role
from renkei.pki import mtls
from renkei.pki.models import Certificate


class PolicyForm(forms.Form):
    staff_roles = forms.MultipleChoiceField(
        label=gettext_lazy("Staff roles that need a certificate"),
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    suppliers = forms.BooleanField(label=gettext_lazy("Supplier contacts need a certificate"), required=False)
    api = forms.BooleanField(
        label=gettext_lazy("The API needs a certificate (every user of the organization, token or session)"),
        required=False,
    )


def _administered(request: HttpRequest) -> tuple[Organization, list[Organization]]:
    """The organization named by ?organization= among those the user administers (404 for any
    other), else the first; 403 when the user administers none."""
    organizations = list(Organization.for_user(request.user, MANAGE))
    if not organizations:
        raise PermissionDenied
    wanted = request.GET.get("organization") or request.POST.get("organization")
    for organization in organizations:
        if not wanted or str(organization.pk) == wanted:
            return organization, organizations
    raise Http404


def _policy_url(organization: Organization) -> str:
    return f"{reverse('pki:policy')}?organization={organization.pk}"


@login_required
@require_http_methods(["GET", "POST"])
def policy(request: HttpRequest) -> HttpResponse:
    organization, organizations = _administered(request)
    form = PolicyForm(request.POST or None, initial=mtls.policy_of(organization))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                mtls.set_policy(
                    Actor.from_request(request),
                    organization,
                    **form.cleaned_data,
                    check=mtls.request_check(request),
                )
            except ServiceError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, _("The certificate policy was saved. It applies from the next request.")
                )
                return redirect(_policy_url(organization))
        status = 400
    context: dict[str, Any] = {
        "organization": organization,
        "organizations": organizations,
        "form": form,
        "check": mtls.request_check(request),
        "section": "pki",
    }
    return render(request, "pki/policy.html", context, status=status)


@login_required
@require_POST
def clear_concurrent_use(request: HttpRequest, pk: int) -> HttpResponse:
    cert = get_for_user_or_404(Certificate, request.user, MANAGE, pk=pk)
    try:
        mtls.clear_concurrent_use(Actor.from_request(request), cert)
    except NotAllowed as exc:
        raise PermissionDenied from exc
    messages.success(request, _("The flag was cleared."))
    return redirect("pki:detail", pk=cert.pk)
