"""The incident as Excel or PDF for the 個人情報保護委員会 report (renkei.incidents.exports).

Staff with view rights (admin, analyst, auditor) of the incident's organization only: the file
carries the obligations, the affected partners and the whole timeline, which a supplier contact
does not see in the portal, so a contact gets 404 as for any incident it may not open.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from renkei.core.models import member_organization_ids
from renkei.core.permissions import VIEW
from renkei.incidents.exports import (
    PDF_CONTENT_TYPE,
    XLSX_CONTENT_TYPE,
    incident_pdf,
    incident_workbook,
)
from renkei.incidents.models import Incident


def _incident(request: HttpRequest, pk: int) -> Incident:
    incidents = (
        Incident.objects.for_user(request.user, VIEW)
        .filter(organization_id__in=member_organization_ids(request.user, VIEW))
        .select_related("organization", "supplier")
    )
    return get_object_or_404(incidents, pk=pk)


def _language(request: HttpRequest) -> str:
    """?lang=en|ja picks the file's language (an English copy for a parent company abroad);
    otherwise the page's."""
    wanted = request.GET.get("lang", "")
    if wanted in dict(settings.LANGUAGES):
        return wanted
    return get_language() or settings.LANGUAGE_CODE


def _file(data: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    # RFC 6266 / 5987: filename* as well when the number is not plain ASCII.
    response["Content-Disposition"] = content_disposition_header(True, filename)
    # Personal data: no copy in a browser or proxy cache.
    response["Cache-Control"] = "no-store, private"
    return response


@login_required
@require_GET
def export_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident(request, pk)
    data = incident_workbook(incident, language=_language(request))
    return _file(data, XLSX_CONTENT_TYPE, f"{incident.number}.xlsx")


@login_required
@require_GET
def export_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident(request, pk)
    data = incident_pdf(incident, language=_language(request))
    return _file(data, PDF_CONTENT_TYPE, f"{incident.number}.pdf")
