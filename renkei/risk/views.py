"""Risk pages: the overview with the heatmap, the settings of an organization, the supplier tab.

Staff only. A supplier contact never sees the buyer's rating of its company (docs/risk.md):
SupplierRisk has no supplier path, so `for_user` gives contacts nothing, and the pages answer
403 to users who are not staff anywhere.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.access import require_staff
from renkei.core.permissions import CHANGE, MANAGE, VIEW
from renkei.risk.choices import LEVEL_RANK, SCALE, Level
from renkei.risk.config import default_config
from renkei.risk.models import SupplierRisk
from renkei.risk.services import (
    SettingsInvalid,
    config_for,
    config_json,
    recompute_organization,
    save_settings,
)

TOP_SUPPLIERS = 20


def chosen_organization(request: HttpRequest, action: str = VIEW) -> tuple[Organization, list[Organization]]:
    """The organization named by ?organization= among those USER's role allows ACTION in (404 for
    any other), else the first; 403 when there is none."""
    organizations = list(Organization.for_user(request.user, action))
    if not organizations:
        raise PermissionDenied
    wanted = request.GET.get("organization") or request.POST.get("organization")
    if not wanted:
        return organizations[0], organizations
    for organization in organizations:
        if str(organization.pk) == wanted:
            return organization, organizations
    raise Http404


def filter_url(organization_id: int, **params: Any) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"{reverse('suppliers:list')}?organization={organization_id}&{query}"


def heatmap(user: Any, organization: Organization, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Counts per cell (one GROUP BY), rows from likelihood 5 down to 1, columns impact 1 to 5."""
    config = config or config_for(organization.pk)
    counts = {
        (row["likelihood"], row["impact"]): row["n"]
        for row in SupplierRisk.objects.for_user(user, VIEW).filter(organization=organization)
        .order_by().values("likelihood", "impact").annotate(n=Count("*"))
    }
    labels = dict(Level.choices)
    rows = []
    for likelihood in reversed(SCALE):
        cells = []
        for impact in SCALE:
            level = config["matrix"][likelihood - 1][impact - 1]
            cells.append({
                "impact": impact, "likelihood": likelihood, "level": level,
                "level_label": labels[level], "count": counts.get((likelihood, impact), 0),
                "url": filter_url(organization.pk, risk_impact=impact, risk_likelihood=likelihood),
            })
        rows.append({"likelihood": likelihood, "cells": cells})
    by_level = {level.value: 0 for level in Level}
    for cells in rows:
        for cell in cells["cells"]:
            by_level[cell["level"]] += cell["count"]
    levels = [
        {"level": level.value, "label": level.label, "count": by_level[level.value],
         "url": filter_url(organization.pk, risk_level=level.value)}
        for level in sorted(Level, key=lambda lv: -LEVEL_RANK[lv])
    ]
    return {"rows": rows, "scale": SCALE, "levels": levels, "total": sum(counts.values()),
            "organization": organization}


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    require_staff(request.user)
    organization, organizations = chosen_organization(request)
    config = config_for(organization.pk)
    top = list(
        SupplierRisk.objects.for_user(request.user, VIEW).filter(organization=organization)
        .select_related("supplier").order_by("-level_rank", "-impact", "-likelihood", "supplier__code")
        [:TOP_SUPPLIERS]
    )
    context = {
        "organization": organization,
        "organizations": organizations,
        "map": heatmap(request.user, organization, config),
        "top": top,
        "can_recompute": Organization.for_user(request.user, CHANGE).filter(pk=organization.pk).exists(),
        "can_configure": Organization.for_user(request.user, MANAGE).filter(pk=organization.pk).exists(),
    }
    return render(request, "risk/overview.html", context)


@login_required
@require_POST
def recompute(request: HttpRequest) -> HttpResponse:
    require_staff(request.user, CHANGE)
    organization, _organizations = chosen_organization(request, CHANGE)
    count = recompute_organization(organization)
    messages.success(request, _("Recomputed the risk of %(n)d suppliers.") % {"n": count})
    return redirect(f"{reverse('risk:overview')}?organization={organization.pk}")


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    require_staff(request.user, MANAGE)
    organization, organizations = chosen_organization(request, MANAGE)
    errors: dict[str, str] = {}
    text = config_json(config_for(organization.pk))
    status = 200
    if request.method == "POST":
        if "reset" in request.POST:
            text = config_json(default_config())
        else:
            text = request.POST.get("config", "")
        try:
            data = json.loads(text)
        except ValueError as exc:
            errors = {"": _("This is not valid JSON: %(error)s") % {"error": exc}}
        else:
            try:
                save_settings(Actor.from_request(request), organization, data)
            except SettingsInvalid as exc:
                errors = exc.errors
            else:
                messages.success(request, _("Risk settings saved; every supplier was recomputed."))
                return redirect(f"{reverse('risk:settings')}?organization={organization.pk}")
        status = 400
    config = config_for(organization.pk)
    context = {
        "organization": organization,
        "organizations": organizations,
        "config_text": text,
        "errors": sorted(errors.items()),
        "matrix_rows": [
            {"likelihood": li, "cells": [{"impact": ii, "level": config["matrix"][li - 1][ii - 1],
                                          "label": dict(Level.choices)[config["matrix"][li - 1][ii - 1]]}
                                         for ii in SCALE]}
            for li in reversed(SCALE)
        ],
        "scale": SCALE,
        "criticality": config["criticality"],
    }
    return render(request, "risk/settings.html", context, status=status)


def supplier_tab_context(user: Any, supplier: Any) -> dict[str, Any]:
    """The リスク tab of a supplier page (staff only; the caller hides the tab from others)."""
    risk = SupplierRisk.objects.for_user(user, VIEW).filter(supplier=supplier).first()
    if risk is None:
        return {"risk": None}
    return {"risk": risk, "risk_factors": risk.factor_list(), "risk_impact": risk.impact_list(),
            "risk_total": round(1 + sum(f["contribution"] for f in risk.factors), 2),
            "risk_settings_url": f"{reverse('risk:settings')}?organization={supplier.organization_id}",
            "risk_overview_url": f"{reverse('risk:overview')}?organization={supplier.organization_id}"}
