"""One FilterSet per list for the pages and the API: deliveries (/deliveries/, /api/v1/deliveries/)
and vulnerability findings (/deliveries/findings/, /api/v1/software-findings/)."""

from __future__ import annotations

import django_filters
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from renkei.deliveries.models import (
    CLOSED_VEX_STATES,
    SEVERITY_RANK,
    Delivery,
    Finding,
    Severity,
    SignatureStatus,
    VexState,
)

SIGNATURE_PROBLEM = "problem"
SIGNATURE_CHOICES = [
    (SIGNATURE_PROBLEM, pgettext_lazy("signature filter", "Any problem")),
    *SignatureStatus.choices,
]
UNTRIAGED = "untriaged"
TRIAGE_CHOICES = [
    (UNTRIAGED, pgettext_lazy("vex", "Not triaged")),
    *[(value, label) for value, label in VexState.choices if value],
]


def open_q() -> Q:
    """Findings that still need work: not resolved, not triaged as not affected or fixed."""
    return Q(resolved_at__isnull=True) & ~Q(vex_state__in=list(CLOSED_VEX_STATES))


def severity_rank() -> Case:
    """Critical first; an ORDER BY expression (the stored values sort alphabetically)."""
    return Case(
        *[When(severity=value, then=Value(rank)) for value, rank in SEVERITY_RANK.items()],
        default=Value(9),
        output_field=IntegerField(),
    )


class DeliveryFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    organization = django_filters.NumberFilter(field_name="organization_id", label=_("Organization"))
    supplier = django_filters.NumberFilter(field_name="supplier_id", label=_("Supplier id"))
    vulnerable = django_filters.BooleanFilter(
        method="filter_vulnerable", label=_("With open vulnerabilities")
    )
    signature = django_filters.ChoiceFilter(
        choices=SIGNATURE_CHOICES, method="filter_signature", label=_("Signature")
    )

    class Meta:
        model = Delivery
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()[:100]
        if not value:
            return queryset
        return queryset.filter(
            Q(product__icontains=value)
            | Q(version__icontains=value)
            | Q(supplier__name__icontains=value)
            | Q(supplier__code__iexact=value)
        )

    def filter_vulnerable(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(open_findings__gt=0) if value else queryset.filter(open_findings=0)

    def filter_signature(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == SIGNATURE_PROBLEM:
            return queryset.exclude(signature_status__in=[SignatureStatus.VALID, SignatureStatus.NONE])
        return queryset.filter(signature_status=value) if value else queryset


class FindingFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Advisory or component"))
    organization = django_filters.NumberFilter(
        field_name="delivery__organization_id", label=_("Organization")
    )
    delivery = django_filters.NumberFilter(field_name="delivery_id", label=_("Delivery id"))
    supplier = django_filters.NumberFilter(field_name="delivery__supplier_id", label=_("Supplier id"))
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, label=_("Severity"))
    open = django_filters.BooleanFilter(method="filter_open", label=_("Open"))
    triage = django_filters.ChoiceFilter(choices=TRIAGE_CHOICES, method="filter_triage", label=_("Triage"))

    class Meta:
        model = Finding
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = " ".join(value.split())[:100]
        if not value:
            return queryset
        return queryset.filter(
            Q(osv_id__iexact=value)
            | Q(advisory__aliases__icontains=f'"{value}"')
            | Q(component__name__icontains=value)
            | Q(component__package__icontains=value.lower())
        )

    def filter_open(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(open_q()) if value else queryset.exclude(open_q())

    def filter_triage(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(vex_state="" if value == UNTRIAGED else value)
