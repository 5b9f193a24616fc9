"""The supplier portal's incident pages (docs/incidents.md, "Intake"): a contact with portal access
lists its supplier's incidents, reports a new one and follows it (status, the timeline events
marked for the supplier, messages and attachments).

Rows come from Incident.objects.for_user; a contact reaches only its own suppliers' incidents and
anything else is 404. The buyer's staff have their own pages: a staff member who may see the
supplier or the incident is redirected there, anyone else gets 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from renkei.audit.services import Actor
from renkei.core.models import staff_may
from renkei.core.permissions import VIEW
from renkei.incidents import services
from renkei.incidents.forms import IntakeForm, MessageForm
from renkei.incidents.models import EventKind, Incident
from renkei.suppliers.models import Supplier

PAGE_SIZE = 50


def _apply(form: Any, error: services.IncidentError) -> None:
    """The service's refusal on the form: per field where the form has it, else for the form."""
    if not error.errors:
        form.add_error(None, error.message)
    for name, message in error.errors.items():
        form.add_error(name if name in form.fields else None, message)


def _supplier_or_redirect(request: HttpRequest, pk: int, staff_url: str) -> Supplier | HttpResponse:
    supplier = (
        Supplier.objects.for_user(request.user, VIEW).select_related("organization").filter(pk=pk).first()
    )
    if supplier is None:
        raise Http404
    if services.is_contact_of(request.user, supplier.pk):
        return supplier
    if staff_may(request.user, supplier.organization_id, VIEW):
        return redirect(f"{reverse(staff_url)}?{urlencode({'supplier': supplier.pk})}")
    raise Http404


@login_required
@require_GET
def portal_list(request: HttpRequest, supplier: int) -> HttpResponse:
    found = _supplier_or_redirect(request, supplier, "incidents:list")
    if isinstance(found, HttpResponse):
        return found
    rows = Incident.objects.for_user(request.user, VIEW).filter(supplier=found).order_by("-created_at", "-pk")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "incidents/portal_list.html", {"supplier": found, "page": page})


@login_required
@require_http_methods(["GET", "POST"])
def portal_report(request: HttpRequest, supplier: int) -> HttpResponse:
    found = _supplier_or_redirect(request, supplier, "incidents:new")
    if isinstance(found, HttpResponse):
        return found
    form = IntakeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            incident = services.report(Actor.from_request(request), found, request.POST)
        except services.NotAllowed as exc:
            raise PermissionDenied from exc
        except services.IncidentError as exc:
            _apply(form, exc)
        else:
            messages.success(
                request,
                _(
                    "Thank you. Your report was received as %(number)s. An acknowledgement is on its way "
                    "to %(email)s."
                )
                % {"number": incident.number, "email": incident.reporter_email},
            )
            return redirect("incidents:portal_detail", pk=incident.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "incidents/portal_report.html", {"supplier": found, "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def portal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = (
        Incident.objects.for_user(request.user, VIEW)
        .select_related("supplier", "organization")
        .filter(pk=pk)
        .first()
    )
    if incident is None:
        raise Http404
    if not services.is_contact_of(request.user, incident.supplier_id):
        # for_user let the user see it as staff of the organization: the staff page is theirs.
        return redirect("incidents:detail", pk=incident.pk)
    form = MessageForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_event(
                Actor.from_request(request),
                incident,
                kind=EventKind.MESSAGE,
                text=form.cleaned_data["text"],
                attachment=form.cleaned_data.get("attachment"),
            )
        except services.NotAllowed as exc:
            raise PermissionDenied from exc
        except services.IncidentError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("Your message was sent to %(org)s.") % {"org": incident.organization})
            return redirect(reverse("incidents:portal_detail", args=[incident.pk]) + "#timeline")
    context = {
        "incident": incident,
        "supplier": incident.supplier,
        "events": list(services.events_for(request.user, incident)),
        "form": form,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "incidents/portal_detail.html", context, status=status)
