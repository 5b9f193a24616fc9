"""{% risk_heatmap_card %}: the small heatmap of the dashboard, for staff."""

from __future__ import annotations

from typing import Any

from django import template

from renkei.accounts.models import Organization
from renkei.core.permissions import VIEW

register = template.Library()


@register.inclusion_tag("risk/partials/dashboard_heatmap.html", takes_context=True)
def risk_heatmap_card(context: dict[str, Any]) -> dict[str, Any]:
    from renkei.risk.views import heatmap

    user = context["request"].user
    organization = Organization.for_user(user, VIEW).first()
    if organization is None:
        return {"map": None}
    return {"map": heatmap(user, organization)}
