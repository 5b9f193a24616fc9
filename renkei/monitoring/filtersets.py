"""One FilterSet for the /monitoring/ page and /api/v1/alerts/."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from renkei.monitoring import sources
from renkei.monitoring.models import Alert
from renkei.risk.choices import Level


class AlertState:
    OPEN = "open"  # open and not acknowledged: the attention list
    ACKNOWLEDGED = "acknowledged"  # open, acknowledged
    RESOLVED = "resolved"
    ALL = "all"
    CHOICES = [
        (OPEN, _("Needs attention")),
        (ACKNOWLEDGED, _("Acknowledged")),
        (RESOLVED, _("Resolved")),
        (ALL, _("All")),
    ]


class AlertFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Supplier"))
    organization = django_filters.NumberFilter(field_name="organization_id", label=_("Organization"))
    supplier = django_filters.NumberFilter(field_name="supplier_id", label=_("Supplier id"))
    kind = django_filters.MultipleChoiceFilter(choices=sources.kinds, label=_("Kind"))
    level = django_filters.MultipleChoiceFilter(field_name="supplier__risk__level", choices=Level.choices,
                                                label=_("Risk level"))
    state = django_filters.ChoiceFilter(choices=AlertState.CHOICES, method="filter_state", label=_("State"),
                                        empty_label=None)

    class Meta:
        model = Alert
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(supplier__code__icontains=value) | Q(supplier__name__icontains=value)
                               | Q(supplier__name_kana__icontains=value))

    def filter_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == AlertState.OPEN:
            return queryset.filter(resolved_at__isnull=True, acknowledged_at__isnull=True)
        if value == AlertState.ACKNOWLEDGED:
            return queryset.filter(resolved_at__isnull=True, acknowledged_at__isnull=False)
        if value == AlertState.RESOLVED:
            return queryset.filter(resolved_at__isnull=False)
        return queryset
