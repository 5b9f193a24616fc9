"""The registry import page and the export download (docs/import-format.md).

Both go through the same services as the CLI (renkei.suppliers.io). Importing needs the "add"
permission in an organization; exporting gives exactly what `for_user(user, "view")` shows,
narrowed by the supplier list's filters.
"""

from __future__ import annotations

import io

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.models import member_organization_ids
from renkei.core.permissions import ADD, VIEW
from renkei.suppliers.filtersets import SupplierFilterSet
from renkei.suppliers.io.columns import describe_columns
from renkei.suppliers.io.exporter import CONTENT_TYPES, export_suppliers
from renkei.suppliers.io.importer import ImportResult, RowError, import_suppliers
from renkei.suppliers.io.readers import max_upload_bytes, size_refusal
from renkei.suppliers.models import Supplier

# Multipart framing around the file; a body larger than the limit plus this cannot hold an
# acceptable file, so it is refused before Django parses (and spools) the upload.
MULTIPART_SLACK = 64 * 1024


class ImportForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), label=gettext_lazy("Organization"),
        empty_label=None,
    )
    file = forms.FileField(
        label=gettext_lazy("File (.csv or .xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )

    def __init__(self, *args: object, organizations: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    organizations = Organization.for_user(request.user, ADD).order_by("name")
    if not organizations.exists():
        raise PermissionDenied
    result: ImportResult | None = None
    form = ImportForm(organizations=organizations, initial={"organization": organizations.first()})
    if request.method == "POST":
        result = _too_large(request)
        if result is None:
            data = request.POST.copy()
            if "organization" not in data and organizations.count() == 1:
                # One organization: the choice is implied, scripts need not send it.
                data["organization"] = str(organizations.first().pk)
            form = ImportForm(data, request.FILES, organizations=organizations)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                result = import_suppliers(
                    form.cleaned_data["organization"], upload, upload.name,
                    Actor.from_request(request), dry_run="dry_run" in request.POST,
                    lang=get_language(),
                )
    status = 400 if result is not None and result.errors else 200
    return render(request, "suppliers/import.html", {
        "form": form,
        "result": result,
        "single_organization": organizations.first() if organizations.count() == 1 else None,
        "columns_help": list(describe_columns(get_language() or "ja")),
        "max_upload_mb": max_upload_bytes() // 1024 // 1024,
    }, status=status)


def _too_large(request: HttpRequest) -> ImportResult | None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    refusal = size_refusal(max(length - MULTIPART_SLACK, 0))
    if refusal is None:
        return None
    return ImportResult(dry_run=False, errors=[RowError(None, "", refusal.reason)])


@login_required
@require_GET
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in CONTENT_TYPES:
        raise Http404
    # The registry file is the buyer's working copy, internal notes included: staff only, and
    # only the organizations where the user is staff (not suppliers it is a contact of).
    staff_orgs = member_organization_ids(request.user, VIEW)
    if not staff_orgs.exists():
        raise PermissionDenied
    suppliers = Supplier.objects.for_user(request.user, VIEW).filter(organization_id__in=staff_orgs)
    suppliers = SupplierFilterSet(request.GET, queryset=suppliers).qs
    buffer = io.BytesIO()
    export_suppliers(suppliers, buffer, fmt, get_language() or "ja")
    filename = _("suppliers") + timezone.localdate().strftime("-%Y%m%d") + f".{fmt}"
    response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES[fmt])
    # RFC 6266 filename* so a Japanese file name survives every browser.
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
