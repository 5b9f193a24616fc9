"""Campaign pages: the list, creating one (filters → count preview → confirm), its status table
and closing it (a confirmation page, then POST).

Staff only: supplier contacts get 403 on the list and the form and 404 on a campaign.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from renkei.audit.services import Actor
from renkei.campaigns.models import Campaign, CampaignStatus, CampaignTarget, MessageKind
from renkei.campaigns.services import (
    REACH_NONE,
    CampaignError,
    close_campaign,
    completion_rate,
    create_campaign,
    may_change,
    preview,
    reach,
    sendable_organizations,
    status_counts,
    with_counts,
    with_last_message,
    with_reach,
)
from renkei.core.access import get_for_user_or_404, require_staff
from renkei.core.permissions import CHANGE, VIEW
from renkei.questionnaires.assessments_services import templates_for
from renkei.questionnaires.choices import ANSWERABLE_STATUSES, AssessmentStatus
from renkei.questionnaires.views_assessments import STATUS_BADGES, sendable_templates
from renkei.suppliers.filtersets import SupplierFilterSet
from renkei.suppliers.views import _shape_filter_form

# The filters offered on the form (the supplier list's, minus search-only and link-only ones).
FORM_FILTERS = ("relationship", "chain_type", "business_function", "tier", "tag", "country",
                "data_class", "access", "certification", "certification_status",
                "export_controlled", "personal_info_min", "q")


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    require_staff(request.user)
    campaigns = list(with_counts(Campaign.objects.for_user(request.user, VIEW))
                     .select_related("template"))
    for campaign in campaigns:
        campaign.rate = completion_rate(campaign.done_count, campaign.target_count)
    return render(request, "campaigns/list.html", {
        "campaigns": campaigns,
        "can_create": sendable_organizations(request.user).exists(),
    })


def _date(value: Any) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
@require_http_methods(["GET", "POST"])
def campaign_create(request: HttpRequest) -> HttpResponse:
    require_staff(request.user)
    organization = sendable_organizations(request.user).order_by("pk").first()
    if organization is None:
        raise PermissionDenied
    data = request.POST if request.method == "POST" else request.GET
    filterset = SupplierFilterSet(data or None)
    _shape_filter_form(filterset.form)
    templates = sendable_templates(organization.pk)
    template = None
    if data.get("template"):
        try:
            template = templates_for(organization.pk).filter(pk=int(data["template"])).first()
        except ValueError:
            template = None
    context: dict[str, Any] = {
        "filter_form": filterset.form,
        "filter_fields": [filterset.form[name] for name in FORM_FILTERS],
        "templates": templates, "template": template,
        "name": data.get("name", ""), "due_on": data.get("due_on", ""),
        "organization": organization,
    }
    if request.method == "POST":
        due_on = _date(request.POST.get("due_on"))
        errors = []
        if not request.POST.get("name", "").strip():
            errors.append(_("Give the campaign a name."))
        if template is None:
            errors.append(_("Choose a questionnaire template."))
        if due_on is None:
            errors.append(_("Give a due date."))
        elif due_on < datetime.date.today():
            errors.append(_("The due date is in the past."))
        try:
            counts = preview(request.user, organization, template, request.POST)
        except CampaignError as exc:
            errors.append(exc.message)
            counts = None
        context.update(errors=errors, counts=counts)
        if not errors and counts and "confirm" in request.POST:
            try:
                result = create_campaign(
                    Actor.from_request(request), organization, name=request.POST["name"],
                    template=template, due_on=due_on, selection=request.POST,
                )
            except CampaignError as exc:
                context["errors"] = [exc.message]
            else:
                messages.success(request, _(
                    "The campaign was created: %(n)d questionnaires sent, %(skipped)d suppliers "
                    "skipped (an open assessment of this questionnaire already exists).")
                    % {"n": result.created, "skipped": len(result.skipped)})
                return redirect("campaigns:detail", pk=result.campaign.pk)
    return render(request, "campaigns/form.html", context)


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_for_user_or_404(Campaign.objects.select_related("template", "closed_by"),
                                   request.user, VIEW, pk=pk)
    counts = status_counts(campaign)
    total = sum(counts.values())
    done = counts[AssessmentStatus.SUBMITTED] + counts[AssessmentStatus.APPROVED]
    targets = list(
        with_last_message(with_reach(CampaignTarget.objects.filter(campaign=campaign)))
        .select_related("supplier", "assessment").order_by("supplier__code", "pk")
    )
    today = datetime.date.today()
    kinds = dict(MessageKind.choices)
    for target in targets:
        status = target.assessment.status
        target.badge = STATUS_BADGES[status]
        target.overdue = status in ANSWERABLE_STATUSES and campaign.due_on < today
        target.reach = reach(target)
        target.last_label = kinds.get(target.last_kind, "")
    labels = dict(AssessmentStatus.choices)
    is_open = campaign.status == CampaignStatus.OPEN
    return render(request, "campaigns/detail.html", {
        "campaign": campaign, "targets": targets, "total": total, "done": done,
        "rate": completion_rate(done, total),
        "overdue": sum(1 for t in targets if t.overdue),
        "no_contact": sum(1 for t in targets if t.reach == REACH_NONE),
        "status_rows": [(labels[s], n, STATUS_BADGES[s]) for s, n in counts.items()],
        "is_open": is_open,
        "can_close": is_open and may_change(request.user, campaign),
    })


@login_required
@require_http_methods(["GET", "POST"])
def campaign_close(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation page; POST: close (closing a closed campaign changes nothing)."""
    campaign = get_for_user_or_404(Campaign.objects.select_related("template"), request.user,
                                   CHANGE, pk=pk)
    if request.method == "POST":
        try:
            _closed, changed = close_campaign(Actor.from_request(request), campaign)
        except CampaignError as exc:
            raise PermissionDenied(exc.message) from exc
        if changed:
            messages.success(request, _("The campaign was closed: no more invitations or reminders "
                                        "are sent."))
        return redirect("campaigns:detail", pk=campaign.pk)
    if campaign.status != CampaignStatus.OPEN:
        return redirect("campaigns:detail", pk=campaign.pk)
    return render(request, "campaigns/confirm_close.html", {"campaign": campaign})
