"""Staff pages of incidents: the register, recording one, and the incident's page with its forms
(triage, obligations, affected, timeline, report fields, lessons and actions).

Each POST calls one service and redirects back to the section it changed; a refused change
re-renders the page with the errors next to the form (status 400). Supplier contacts use the
portal pages (renkei.incidents.views_portal)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from renkei.accounts.models import Organization, User
from renkei.audit.services import Actor
from renkei.core.access import get_for_user_or_404
from renkei.core.downloads import attachment_response
from renkei.core.models import member_organization_ids, staff_may
from renkei.core.permissions import ADD, CHANGE, VIEW
from renkei.graph.choices import NodeKind
from renkei.incidents import affected, services
from renkei.incidents.forms import EventForm, ReportFieldsForm, StaffIntakeForm, TriageForm
from renkei.incidents.labels import AUTHORITIES, EFFECTS, KINDS, label
from renkei.incidents.models import (
    AffectedItem,
    Category,
    Event,
    Incident,
    Obligation,
    ObligationStatus,
    Severity,
    Status,
)
from renkei.suppliers.models import Supplier

LIST_LIMIT = 500
NODE_KINDS = dict(NodeKind.choices)


def _incident(request: HttpRequest, pk: int, action: str = VIEW) -> Incident:
    """The incident for staff of its organization; 404 for everyone else (contacts use the portal)."""
    incident = get_for_user_or_404(
        Incident.objects.select_related("supplier", "organization"), request.user, VIEW, pk=pk
    )
    if not staff_may(request.user, incident.organization_id, VIEW):
        raise Http404
    if action != VIEW and not staff_may(request.user, incident.organization_id, action):
        raise PermissionDenied
    return incident


def _back(incident: Incident, anchor: str = "") -> HttpResponse:
    return redirect(reverse("incidents:detail", args=[incident.pk]) + (f"#{anchor}" if anchor else ""))


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not member_organization_ids(user, VIEW).exists():
        contact_suppliers = list(Supplier.objects.for_user(user, VIEW).order_by("name")[:2])
        if len(contact_suppliers) == 1:
            return redirect("incidents:portal_list", supplier=contact_suppliers[0].pk)
        if contact_suppliers:
            return render(
                request,
                "incidents/choose_supplier.html",
                {"suppliers": Supplier.objects.for_user(user, VIEW).order_by("name")},
            )
        raise PermissionDenied
    now = timezone.now()
    incidents = Incident.objects.for_user(user, VIEW).select_related("supplier")
    status = request.GET.get("status", "open")
    if status == "open":
        incidents = incidents.exclude(status=Status.CLOSED)
    elif status in Status.values:
        incidents = incidents.filter(status=status)
    supplier_id = request.GET.get("supplier", "")
    if supplier_id.isdigit():
        incidents = incidents.filter(supplier_id=int(supplier_id))
    query = request.GET.get("q", "").strip()[:100]
    if query:
        incidents = incidents.filter(
            Q(number__icontains=query)
            | Q(title__icontains=query)
            | Q(supplier__name__icontains=query)
            | Q(supplier__code__iexact=query)
        )
    live = Q(obligations__status=ObligationStatus.OPEN, obligations__withdrawn=False)
    incidents = incidents.annotate(
        open_obligations=Count("obligations", filter=live),
        overdue=Count("obligations", filter=live & Q(obligations__due_at__lt=now)),
        next_due=Min("obligations__due_at", filter=live & Q(obligations__due_at__gte=now)),
    ).order_by("-aware_at", "-pk")[:LIST_LIMIT]
    return render(
        request,
        "incidents/list.html",
        {
            "incidents": incidents,
            "status": status,
            "q": query,
            "statuses": Status.choices,
            "can_add": member_organization_ids(user, ADD).exists(),
            "now": now,
        },
    )


def _staff_organization(request: HttpRequest, action: str = ADD) -> Organization:
    """The organization a new incident belongs to: the only one, or the one chosen."""
    organizations = Organization.objects.filter(pk__in=member_organization_ids(request.user, action))
    wanted = request.POST.get("organization") or request.GET.get("organization")
    if wanted:
        organization = organizations.filter(slug=wanted).first()
        if organization is None:
            raise Http404
        return organization
    organization = organizations.order_by("pk").first()
    if organization is None:
        raise PermissionDenied
    return organization


@login_required
def incident_new(request: HttpRequest) -> HttpResponse:
    organization = _staff_organization(request)
    suppliers = (
        Supplier.objects.for_user(request.user, VIEW).filter(organization=organization).order_by("code")
    )
    wanted = request.GET.get("supplier", "")
    initial = {"detected_at": timezone.localtime().replace(second=0, microsecond=0)}
    if wanted.isdigit() and suppliers.filter(pk=int(wanted)).exists():
        initial["supplier"] = int(wanted)
    form = StaffIntakeForm(suppliers=suppliers, initial=initial)
    status = 200
    if request.method == "POST":
        try:
            incident = services.record_incident(
                Actor.from_request(request), organization, request.POST, suppliers=suppliers
            )
        except services.IncidentError as exc:
            form = StaffIntakeForm(request.POST, suppliers=suppliers)
            form.is_valid()
            if not form.errors:
                form.add_error(None, exc.message)
            status = 400
        else:
            messages.success(
                request,
                _("Incident %(number)s was recorded. Triage it and check its obligations.")
                % {"number": incident.number},
            )
            return _back(incident, "triage")
    return render(request, "incidents/new.html", {"form": form, "organization": organization}, status=status)


def _detail_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    from renkei.incidents.sharing import shares_context

    user = request.user
    can_change = staff_may(user, incident.organization_id, CHANGE)
    obligations = list(incident.obligations.select_related("owner"))
    now = timezone.now()
    for row in obligations:
        row.overdue = (
            row.status == ObligationStatus.OPEN and not row.withdrawn and row.due_at and row.due_at < now
        )
        row.soon = (
            row.status == ObligationStatus.OPEN
            and not row.withdrawn
            and row.due_at
            and not row.overdue
            and (row.due_at - now).total_seconds() < 3 * 86400
        )
        row.title = row.title_en if request.LANGUAGE_CODE == "en" else row.title_ja
        row.authority_label, row.kind_label = label(AUTHORITIES, row.authority), label(KINDS, row.kind)
    items = list(incident.affected.select_related("supplier", "node"))
    for item in items:
        item.kind_label = label(NODE_KINDS, item.kind)
        item.effect_label = label(EFFECTS, item.effect) if item.effect else ""
    members = User.objects.filter(memberships__organization_id=incident.organization_id).order_by("username")
    return {
        "incident": incident,
        "can_change": can_change,
        "obligations": obligations,
        "obligation_statuses": ObligationStatus.choices,
        "members": members if can_change else [],
        "affected": items,
        "events": list(services.events_for(user, incident)),
        "actions": list(incident.actions.select_related("plan").order_by("pk")),
        "suppliers": (
            Supplier.objects.filter(organization_id=incident.organization_id)
            .order_by("code")
            .only("pk", "code", "name")
            if can_change
            else []
        ),
        "triage_form": TriageForm(instance=incident),
        "fields_form": ReportFieldsForm(instance=incident),
        "event_form": EventForm(),
        "severities": Severity.choices,
        "categories": Category.choices,
        "now": now,
        **shares_context(incident),
    }


def _render(request: HttpRequest, incident: Incident, status: int = 200, **overrides: Any) -> HttpResponse:
    context = _detail_context(request, incident)
    context.update(overrides)
    return render(request, "incidents/detail.html", context, status=status)


@login_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render(request, _incident(request, pk))


def _refused(
    request: HttpRequest, incident: Incident, exc: services.IncidentError, **forms: Any
) -> HttpResponse:
    if isinstance(exc, services.NotAllowed):
        raise PermissionDenied(exc.message)
    for form in forms.values():
        form.is_valid()
        for name, message in (exc.errors or {}).items():
            if name not in form.errors and (name in form.fields or name == "__all__"):
                form.add_error(None if name == "__all__" else name, message)
    return _render(request, incident, status=400, general_error=exc.message, **forms)


@login_required
@require_POST
def triage(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident(request, pk, CHANGE)
    try:
        services.triage(Actor.from_request(request), incident, request.POST)
    except services.IncidentError as exc:
        return _refused(request, incident, exc, triage_form=TriageForm(request.POST, instance=incident))
    messages.success(request, _("Saved. The obligations follow the facts."))
    return _back(incident, "obligations")


@login_required
@require_POST
def fields(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident(request, pk, CHANGE)
    try:
        services.update_fields(Actor.from_request(request), incident, request.POST)
    except services.IncidentError as exc:
        return _refused(request, incident, exc, fields_form=ReportFieldsForm(request.POST, instance=incident))
    messages.success(request, _("Saved."))
    return _back(incident, "report")


@login_required
@require_POST
def event_add(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident(request, pk, CHANGE)
    form = EventForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, incident, status=400, event_form=form)
    data = form.cleaned_data
    try:
        services.add_event(
            Actor.from_request(request),
            incident,
            kind=data["kind"],
            text=data["text"],
            attachment=data.get("attachment"),
            supplier_visible=data["supplier_visible"],
        )
    except services.IncidentError as exc:
        return _refused(request, incident, exc, event_form=EventForm(request.POST, request.FILES))
    return _back(incident, "timeline")


@login_required
def event_file(request: HttpRequest, pk: int, event: int) -> HttpResponse:
    """An attachment of the timeline: staff of the incident's organization, or a contact of its
    supplier for the events shown to the supplier (the portal links here)."""
    incident = get_for_user_or_404(Incident, request.user, VIEW, pk=pk)
    events = Event.objects.filter(incident=incident, pk=event).exclude(attachment="")
    if not staff_may(request.user, incident.organization_id, VIEW):
        events = events.filter(supplier_visible=True)
    row = events.first()
    if row is None:
        raise Http404
    return attachment_response(row.attachment)


@login_required
@require_POST
def obligation_update(request: HttpRequest, pk: int, obligation: int) -> HttpResponse:
    incident = _incident(request, pk, CHANGE)
    row = Obligation.objects.filter(incident=incident, pk=obligation).first()
    if row is None:
        raise Http404
    owner_id = request.POST.get("owner", "")
    owner = None
    if owner_id:
        owner = User.objects.filter(
            pk=int(owner_id) if owner_id.isdigit() else 0,
            memberships__organization_id=incident.organization_id,
        ).first()
        if owner is None:
            return _render(
                request, incident, status=400, general_error=_("Choose a member of this organization.")
            )
    try:
        services.update_obligation(
            Actor.from_request(request),
            row,
            status=request.POST.get("status", ""),
            owner=owner,
            note=request.POST.get("note", ""),
        )
    except services.IncidentError as exc:
        return _refused(request, incident, exc)
    return _back(incident, f"obligation-{row.pk}")


@login_required
@require_POST
def affected_recompute(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident(request, pk, CHANGE)
    count = affected.recompute(Actor.from_request(request), incident)
    if count is None:
        messages.warning(request, _("The supplier is not on the supply-chain map."))
    return _back(incident, "affected")


@login_required
@require_POST
def affected_toggle(request: HttpRequest, pk: int, item: int) -> HttpResponse:
    incident = _incident(request, pk, CHANGE)
    row = AffectedItem.objects.filter(incident=incident, pk=item).first()
    if row is None:
        raise Http404
    affected.set_excluded(Actor.from_request(request), row, request.POST.get("excluded") == "1")
    return _back(incident, "affected")


@login_required
@require_POST
def affected_add(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident(request, pk, CHANGE)
    wanted = request.POST.get("supplier", "")
    supplier = Supplier.objects.filter(
        organization_id=incident.organization_id, pk=int(wanted) if wanted.isdigit() else 0
    ).first()
    if supplier is None:
        return _render(request, incident, status=400, general_error=_("Choose a supplier."))
    affected.add_supplier(Actor.from_request(request), incident, supplier)
    return _back(incident, "affected")


@login_required
@require_POST
def action_add(request: HttpRequest, pk: int) -> HttpResponse:
    from renkei.remediation.services import RemediationError

    incident = _incident(request, pk, CHANGE)
    try:
        services.add_action(
            Actor.from_request(request),
            incident,
            title=request.POST.get("title", ""),
            due_on=request.POST.get("due_on", ""),
            owner_side=request.POST.get("owner_side", "supplier"),
            description=request.POST.get("description", ""),
        )
    except (services.IncidentError, RemediationError) as exc:
        if isinstance(exc, services.NotAllowed):
            raise PermissionDenied(exc.message) from exc
        text = "; ".join(str(m) for m in (exc.errors or {}).values()) or exc.message
        return _render(request, incident, status=400, general_error=text, failed_form="action")
    messages.success(request, _("The action was added to the supplier's remediation plan."))
    return _back(incident, "afterwards")
