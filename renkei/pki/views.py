"""Certificate pages: the list with search, one certificate, and revocation.

Rows come from Certificate.objects.for_user: staff see their organizations' certificates, any
other user only the certificates bound to them (a supplier contact its own, not its colleagues').
A foreign certificate is a 404. Revoking needs a staff role that may change records (403)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from renkei.audit.services import Actor
from renkei.core.access import get_for_user_or_404
from renkei.core.errors import NotAllowed
from renkei.core.models import staff_may
from renkei.core.permissions import CHANGE, MANAGE, VIEW
from renkei.pki import services
from renkei.pki.filtersets import CertificateFilterSet
from renkei.pki.forms import RevokeForm
from renkei.pki.keystore import PkiError
from renkei.pki.models import Certificate
from renkei.pki.profiles import get_profile

PAGE_SIZE = 50


def _visible(user: Any) -> Any:
    return Certificate.objects.for_user(user, VIEW).select_related("user", "organization")


@login_required
def certificate_list(request: HttpRequest) -> HttpResponse:
    filters = CertificateFilterSet(
        request.GET, queryset=_visible(request.user).order_by("-created_at", "-pk")
    )
    if filters.is_valid():
        rows = filters.qs
        query = urlencode({k: v for k, v in filters.form.cleaned_data.items() if v not in (None, "")})
    else:  # the form shows what is wrong
        rows, query = filters.queryset.none(), ""
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "pki/certificate_list.html", {"form": filters.form, "page": page, "query": query})


@login_required
def certificate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    cert = get_for_user_or_404(
        _visible(request.user).select_related("ca", "renewed_from", "revoked_by", "issued_by"),
        request.user,
        VIEW,
        pk=pk,
    )
    profile = get_profile(cert.profile)
    context = {
        "cert": cert,
        "profile": profile,
        "renewals": list(cert.renewals.for_user(request.user, VIEW).order_by("created_at")),
        "can_revoke": cert.revoked_at is None and staff_may(request.user, cert.organization_id, CHANGE),
        "is_staff": staff_may(request.user, cert.organization_id, VIEW),
        # Mutual TLS: the "used from two devices" flag may be cleared by an administrator.
        "can_clear_flag": cert.concurrent_use_at is not None
        and staff_may(request.user, cert.organization_id, MANAGE),
        "revoke_form": RevokeForm(),
    }
    return render(request, "pki/certificate_detail.html", context)


@login_required
def certificate_download(request: HttpRequest, pk: int) -> HttpResponse:
    cert = get_for_user_or_404(Certificate, request.user, VIEW, pk=pk)
    response = HttpResponse(cert.certificate_pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = f'attachment; filename="{cert.serial}.pem"'
    return response


@login_required
@require_POST
def certificate_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    cert = get_for_user_or_404(Certificate, request.user, CHANGE, pk=pk)
    form = RevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason for the revocation."))
        return redirect("pki:detail", pk=cert.pk)
    try:
        services.revoke(Actor.from_request(request), cert, form.cleaned_data["reason"])
    except NotAllowed as exc:
        raise PermissionDenied from exc
    except PkiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The certificate was revoked. The CRL and OCSP say so from now on."))
    return redirect("pki:detail", pk=cert.pk)
