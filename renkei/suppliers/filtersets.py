"""One FilterSet for the supplier list page and the API: filter by every registry attribute."""

from __future__ import annotations

import datetime

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from renkei.risk.choices import Level
from renkei.suppliers.choices import (
    AccessMethod,
    BusinessFunction,
    CertificationKind,
    ChainType,
    DataClass,
    Relationship,
    SupplierStatus,
)
from renkei.suppliers.models import Certification, Supplier

NO_ACCESS = "none"


class CertificationStatus:
    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    MISSING = "missing"
    CHOICES = [
        (VALID, _("Valid")),
        (EXPIRING, _("Expiring within 60 days")),
        (EXPIRED, _("Expired")),
        (MISSING, _("No certification")),
    ]


class SupplierFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    organization = django_filters.NumberFilter(
        field_name="organization_id", label=_("Organization")
    )
    country = django_filters.ChoiceFilter(choices=lambda: list(countries), label=_("Country"))
    relationship = django_filters.MultipleChoiceFilter(
        choices=Relationship.choices, label=_("Relationship")
    )
    chain_type = django_filters.MultipleChoiceFilter(
        choices=ChainType.choices, label=_("Supply-chain type")
    )
    business_function = django_filters.MultipleChoiceFilter(
        choices=BusinessFunction.choices, label=_("Business function")
    )
    status = django_filters.ChoiceFilter(choices=SupplierStatus.choices, label=_("Status"))
    tier = django_filters.NumberFilter(label=_("Tier"))
    subcontracted_by = django_filters.NumberFilter(
        field_name="subcontracted_by_id", label=_("Subcontracted by")
    )
    personal_info_min = django_filters.NumberFilter(
        field_name="personal_info_records",
        lookup_expr="gte",
        label=_("Personal information records at least"),
    )
    data_class = django_filters.ChoiceFilter(
        choices=DataClass.choices, method="filter_data_class", label=_("Confidential information")
    )
    export_controlled = django_filters.BooleanFilter(label=_("Export-controlled technology"))
    access = django_filters.ChoiceFilter(
        choices=[(NO_ACCESS, _("No access")), *AccessMethod.choices],
        method="filter_access",
        label=_("Access to our systems"),
    )
    tag = django_filters.CharFilter(field_name="tags__name", label=_("Tag"), distinct=True)
    certification = django_filters.ChoiceFilter(
        choices=CertificationKind.choices, method="filter_certification", label=_("Certification")
    )
    certification_status = django_filters.ChoiceFilter(
        choices=CertificationStatus.CHOICES,
        method="filter_certification_status",
        label=_("Certification status"),
    )
    # The buyer's risk rating (renkei.risk): staff only, see filter_risk.
    risk_impact = django_filters.NumberFilter(method="filter_risk", label=_("Impact"))
    risk_likelihood = django_filters.NumberFilter(method="filter_risk", label=_("Likelihood"))
    risk_level = django_filters.ChoiceFilter(
        choices=Level.choices, method="filter_risk", label=_("Risk level")
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("code", "code"),
            ("name_kana", "name"),
            ("tier", "tier"),
            ("personal_info_records", "personal_info_records"),
            ("updated_at", "updated_at"),
        ),
        label=_("Sort"),
    )

    class Meta:
        model = Supplier
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(name_kana__icontains=value)
            | Q(code__icontains=value)
            | Q(corporate_number=value)
        )

    def filter_data_class(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(data_classes__contains=f",{value},")

    def filter_access(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == NO_ACCESS:
            return queryset.filter(access_methods="")
        return queryset.filter(access_methods__contains=f",{value},")

    def filter_certification(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        held = Certification.objects.filter(supplier=OuterRef("pk"), kind=value)
        return queryset.filter(Exists(held))

    def filter_risk(self, queryset: QuerySet, name: str, value: object) -> QuerySet:
        # Through for_user: for anyone but the buyer's staff (a supplier contact probing its own
        # rating) every value matches nothing, so the filter tells them nothing.
        from renkei.risk.models import SupplierRisk

        user = getattr(self.request, "user", None)
        field = {"risk_impact": "impact", "risk_likelihood": "likelihood", "risk_level": "level"}[name]
        rated = SupplierRisk.objects.for_user(user).filter(**{field: value})
        return queryset.filter(pk__in=rated.values("supplier_id"))

    def filter_certification_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        today = timezone.localdate()
        soon = today + datetime.timedelta(days=Certification.EXPIRING_DAYS)
        certs = Certification.objects.filter(supplier=OuterRef("pk"))
        if value == CertificationStatus.MISSING:
            return queryset.filter(~Exists(certs))
        if value == CertificationStatus.EXPIRED:
            return queryset.filter(Exists(certs.filter(expires_on__lt=today)))
        if value == CertificationStatus.EXPIRING:
            return queryset.filter(
                Exists(certs.filter(expires_on__gte=today, expires_on__lte=soon))
            )
        return queryset.filter(
            Exists(certs.filter(Q(expires_on__gt=soon) | Q(expires_on__isnull=True)))
        )
