"""Trusted external certificates (for signature verification, renkei.pki.signatures): the list for
the organization's staff, adding and removing for its administrators.

Rows come from TrustedCertificate.objects.for_user (staff only: a supplier contact gets 403, like
anyone who is nobody's staff). Adding needs MANAGE in the chosen organization (the form offers
only those); removing fetches the row through for_user (404 when foreign) and the service refuses
staff who may not manage (403)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.access import get_for_user_or_404, require_staff
from renkei.core.errors import NotAllowed
from renkei.core.permissions import MANAGE, VIEW
from renkei.pki import trust
from renkei.pki.keystore import PkiError
from renkei.pki.models import TrustedCertificate


class TrustedCertificateForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), label=gettext_lazy("Organization"), empty_label=None
    )
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=trust.MAX_NAME,
        help_text=gettext_lazy("For example: the supplier and what it signs."),
    )
    pem = forms.CharField(
        label=gettext_lazy("Certificate (PEM)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
    )
    file = forms.FileField(label=gettext_lazy("…or the certificate file (PEM or DER)"), required=False)

    def __init__(self, *args: Any, organizations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("file")
        if upload is not None:
            if upload.size > trust.MAX_PEM_BYTES:
                raise forms.ValidationError(
                    _("The file is %(size)d bytes long; at most %(max)d bytes are accepted.")
                    % {"size": upload.size, "max": trust.MAX_PEM_BYTES}
                )
            data["certificate"] = upload.read()
        elif (data.get("pem") or "").strip():
            data["certificate"] = data["pem"].strip().encode("utf-8", "replace")
        else:
            raise forms.ValidationError(_("Paste the certificate or choose its file."))
        return data


@login_required
@require_http_methods(["GET", "POST"])
def trusted_list(request: HttpRequest) -> HttpResponse:
    require_staff(request.user, VIEW)
    administered = Organization.for_user(request.user, MANAGE).order_by("name")
    form = None
    status = 200
    if request.method == "POST":
        form = TrustedCertificateForm(request.POST, request.FILES, organizations=administered)
        if not administered.exists():
            raise PermissionDenied
        if form.is_valid():
            try:
                row = trust.add_trusted(
                    Actor.from_request(request),
                    form.cleaned_data["organization"],
                    form.cleaned_data["certificate"],
                    form.cleaned_data["name"],
                )
            except NotAllowed as exc:
                raise PermissionDenied from exc
            except PkiError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, _("%(name)s is now trusted for signature verification.") % {"name": row.name}
                )
                return redirect("pki:trusted")
        status = 400
    rows = (
        TrustedCertificate.objects.for_user(request.user, VIEW)
        .select_related("organization", "supplier", "added_by")
        .order_by("organization__name", "name", "pk")
    )
    administered_ids = set(administered.values_list("pk", flat=True))
    if form is None and administered_ids:
        form = TrustedCertificateForm(organizations=administered)
    context = {"rows": list(rows), "form": form, "administered": administered_ids}
    return render(request, "pki/trusted_list.html", context, status=status)


@login_required
@require_POST
def trusted_delete(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_for_user_or_404(TrustedCertificate, request.user, VIEW, pk=pk)
    try:
        trust.remove_trusted(Actor.from_request(request), row)
    except NotAllowed as exc:
        raise PermissionDenied from exc
    messages.success(request, _("%(name)s is no longer trusted.") % {"name": row.name})
    return redirect("pki:trusted")
