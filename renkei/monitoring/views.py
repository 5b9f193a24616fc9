"""Monitoring pages: the attention list with filters and the portfolio trend, acknowledging an
alert, and the daily-digest switch. Staff only (alerts have no supplier path: a contact gets
403 on the page and 404 on an alert)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.access import get_for_user_or_404, require_staff
from renkei.core.permissions import CHANGE, VIEW
from renkei.monitoring import sources
from renkei.monitoring.digest import digest_enabled, set_digest
from renkei.monitoring.filtersets import AlertFilterSet, AlertState
from renkei.monitoring.models import Alert
from renkei.monitoring.services import acknowledge as acknowledge_alert
from renkei.monitoring.services import open_counts
from renkei.monitoring.trends import portfolio_trend
from renkei.risk.views import chosen_organization

PAGE_SIZE = 50


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    require_staff(request.user)
    organization, organizations = chosen_organization(request)
    data = request.GET.copy()
    data.setdefault("state", AlertState.OPEN)
    base = Alert.objects.for_user(request.user, VIEW).filter(organization=organization)
    filterset = AlertFilterSet(data, queryset=base)
    alerts = filterset.qs.select_related("supplier", "supplier__risk", "acknowledged_by").order_by(
        "priority", "raised_at", "pk")
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    query = QueryDict(mutable=True)
    for key, values in data.lists():
        if key != "page":
            query.setlist(key, values)
    counts = open_counts(base)
    context = {
        "organization": organization,
        "organizations": organizations,
        "filterset": filterset,
        "page": page,
        "query": query.urlencode(),
        "kind_counts": [{"kind": kind, "label": label, "count": counts.get(kind, 0)}
                        for kind, label in sources.kinds() if counts.get(kind)],
        "open_total": sum(counts.values()),
        "trend": portfolio_trend(organization.pk, timezone.localdate()),
        "can_acknowledge": Organization.for_user(request.user, CHANGE).filter(pk=organization.pk).exists(),
        "digest_enabled": digest_enabled(request.user),
        "states": AlertState.CHOICES,
        "state": data.get("state"),
        "next_url": request.get_full_path(),
    }
    return render(request, "monitoring/list.html", context)


def _back(request: HttpRequest, organization_id: int) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect(f"{reverse('monitoring:list')}?organization={organization_id}")


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_for_user_or_404(Alert, request.user, CHANGE, pk=pk)
    _alert, changed = acknowledge_alert(Actor.from_request(request), alert)
    if changed:
        messages.success(request, _("Alert acknowledged: it leaves the attention list and is resolved "
                                    "when its condition ends."))
    return _back(request, alert.organization_id)


@login_required
@require_POST
def digest_preference(request: HttpRequest) -> HttpResponse:
    require_staff(request.user)
    enabled = request.POST.get("enabled") == "1"
    set_digest(request.user, enabled)
    messages.success(request, _("You will receive the daily digest.") if enabled
                     else _("You will no longer receive the daily digest."))
    organization = Organization.for_user(request.user, VIEW).order_by("pk").first()
    return _back(request, organization.pk if organization else 0)
