"""{% attention_card %} for the dashboard, {% supplier_trend supplier %} for the risk tab, and the
filters that render an alert's label, reason and link in the active language."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone

from renkei.core.permissions import CHANGE, VIEW
from renkei.monitoring import sources

register = template.Library()

ATTENTION_ROWS = 10


@register.filter
def alert_label(alert: Any) -> str:
    return sources.label(alert.kind)


@register.filter
def kind_label(kind: str) -> str:
    return sources.label(kind)


@register.filter
def alert_reason(alert: Any) -> str:
    return sources.describe(alert.kind, alert.params)


@register.filter
def alert_link(alert: Any) -> str:
    return sources.link(alert.kind, alert.params, alert.supplier_id)


@register.inclusion_tag("monitoring/partials/attention_card.html", takes_context=True)
def attention_card(context: dict[str, Any]) -> dict[str, Any]:
    """The first rows of the attention list of the user's first organization (three queries)."""
    from renkei.accounts.models import Organization
    from renkei.monitoring.models import Alert
    from renkei.monitoring.services import attention

    request = context["request"]
    user = request.user
    organization = Organization.for_user(user, VIEW).order_by("pk").first()
    if organization is None:
        return {"organization": None}
    alerts = Alert.objects.for_user(user, VIEW).filter(organization=organization)
    rows = list(attention(alerts).select_related("supplier", "supplier__risk")[:ATTENTION_ROWS])
    total = attention(alerts).count()
    may_change = bool(rows) and Organization.for_user(user, CHANGE).filter(pk=organization.pk).exists()
    return {
        "organization": organization, "alerts": rows, "total": total, "can_acknowledge": may_change,
        "list_url": f"{reverse('monitoring:list')}?organization={organization.pk}",
        "next_url": request.get_full_path(), "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("monitoring/partials/supplier_trend.html")
def supplier_trend(supplier: Any) -> dict[str, Any]:
    from renkei.monitoring.trends import supplier_trend as trend

    return {"trend": trend(supplier.pk, timezone.localdate())}
