"""Reporting links (docs/incidents.md, "Intake"): staff send and withdraw them at /incidents/links/;
whoever holds one reports one incident at /incidents/report/<token>/ without logging in.

The token pages answer `Cache-Control: no-store` and a same-origin Referrer-Policy (the token
never leaves in a Referer to another site; "no-referrer" would make browsers send "Origin: null"
with the form, which Django's CSRF check refuses). Their responses are marked as logged so
django.request does not write the path, which holds the token, into the log. A used, expired,
withdrawn or unknown token gets one and the same page (410) that does not say which.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from renkei.audit.services import Actor, client_address
from renkei.core.access import get_for_user_or_404, require_staff
from renkei.core.errors import NotAllowed
from renkei.core.models import member_organization_ids
from renkei.core.permissions import ADD, CHANGE, VIEW
from renkei.incidents import links
from renkei.incidents.forms import IntakeForm
from renkei.incidents.forms_link import LinkForm, ReporterForm
from renkei.incidents.services import IncidentError
from renkei.suppliers.models import Supplier

PAGE_SIZE = 50


def _token_page(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    # The path holds the token: keep it out of django.request's log lines.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


# --- Staff pages ------------------------------------------------------------------------------------


def _suppliers(user: Any) -> Any:
    """Suppliers of the organizations where USER may add links (admins, analysts)."""
    return (
        Supplier.objects.for_user(user, VIEW)
        .filter(organization__in=member_organization_ids(user, ADD))
        .select_related("organization")
        .order_by("organization__name", "code")
    )


@login_required
@require_http_methods(["GET", "POST"])
def link_list(request: HttpRequest) -> HttpResponse:
    require_staff(request.user, VIEW)
    suppliers = _suppliers(request.user)
    may_add = member_organization_ids(request.user, ADD).exists()
    if request.method == "POST" and not may_add:
        raise PermissionDenied
    initial = {}
    chosen = request.GET.get("supplier", "")
    if chosen.isdigit():
        supplier = suppliers.filter(pk=int(chosen)).first()
        if supplier is not None:
            primary = supplier.contacts.exclude(email="").order_by("-is_primary", "pk").first()
            initial = {"supplier": supplier, "email": primary.email if primary else ""}
    form = LinkForm(request.POST or None, suppliers=suppliers, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actor = Actor.from_request(request)
        try:
            link, token = links.create_link(actor, data["supplier"], data["email"], data["days"])
            links.deliver(actor, link, token)
        except NotAllowed as exc:
            raise PermissionDenied from exc
        except links.LinkError as exc:
            field = next(iter(exc.errors), None)
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("The reporting link for %(supplier)s was sent to %(email)s. It works once, until %(date)s.")
                % {
                    "supplier": link.supplier.name,
                    "email": link.email,
                    "date": timezone.localtime(link.expires_at).strftime("%Y-%m-%d %H:%M"),
                },
            )
            return redirect("incidents:links")
    rows = links.visible_links(request.user, VIEW).select_related("supplier", "incident", "created_by")
    page = Paginator(rows.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    changeable = set(member_organization_ids(request.user, CHANGE).values_list("organization_id", flat=True))
    now = timezone.now()
    for link in page.object_list:
        link.state = links.link_state(link, now)
        link.can_revoke = link.state == links.LinkState.ACTIVE and link.organization_id in changeable
    context = {"form": form if may_add else None, "page": page, "max_days": links.MAX_LINK_DAYS}
    status = 400 if request.method == "POST" else 200
    return render(request, "incidents/links.html", context, status=status)


@login_required
@require_POST
def link_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    link = get_for_user_or_404(links.visible_links(request.user, VIEW), request.user, CHANGE, pk=pk)
    try:
        links.revoke_link(Actor.from_request(request), link)
    except NotAllowed as exc:
        raise PermissionDenied from exc
    except links.LinkError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The reporting link was withdrawn; it no longer works."))
    return redirect("incidents:links")


# --- The public reporting page -------------------------------------------------------------------


def _invalid(request: HttpRequest) -> HttpResponse:
    # One page and one status for unknown, used, expired and withdrawn: 410 says "gone" to a
    # person and a crawler alike without telling whether the token ever existed.
    return _token_page(render(request, "incidents/report_link.html", {"invalid": True}, status=410))


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, token: str) -> HttpResponse:
    link = links.find_link(token)
    if link is None:
        return _invalid(request)
    data = request.POST if request.method == "POST" else None
    form = IntakeForm(data)
    reporter = ReporterForm(data, initial={"reporter_email": link.email})
    context = {
        "link": link,
        "form": form,
        "reporter": reporter,
        "organization": link.organization,
        "supplier": link.supplier,
    }
    if request.method == "POST" and form.is_valid() & reporter.is_valid():
        try:
            incident = links.redeem(
                token,
                request.POST,
                address=client_address(request),
                reporter_name=reporter.cleaned_data["reporter_name"],
                reporter_email=reporter.cleaned_data["reporter_email"],
            )
        except links.LinkInvalid:
            return _invalid(request)
        except IncidentError as exc:
            for name, message in exc.errors.items():
                form.add_error(name if name in form.fields else None, message)
            if not exc.errors:
                form.add_error(None, exc.message)
        else:
            done = {"incident": incident, "organization": link.organization, "supplier": link.supplier}
            return _token_page(render(request, "incidents/report_done.html", done))
    status = 400 if request.method == "POST" else 200
    return _token_page(render(request, "incidents/report_link.html", context, status=status))
