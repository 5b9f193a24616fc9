"""One FilterSet for the certificate list page (/pki/) and /api/v1/certificates/."""

from __future__ import annotations

import datetime

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from renkei.pki.choices import CertificateState
from renkei.pki.models import Certificate
from renkei.pki.profiles import PROFILES


def search(queryset: QuerySet, query: str) -> QuerySet:
    """Name, device, login ID, e-mail address, or (part of) the serial or fingerprint."""
    query = query.strip()
    if not query:
        return queryset
    compact = query.replace(":", "")
    condition = (
        Q(common_name__icontains=query)
        | Q(device_name__icontains=query)
        | Q(user__username__icontains=query)
        | Q(user__email__icontains=query)
        | Q(serial__icontains=compact)
    )
    if len(compact) >= 8 and all(ch in "0123456789abcdef" for ch in compact.lower()):
        condition |= Q(fingerprint_sha256__startswith=compact.lower())
    return queryset.filter(condition)


class CertificateFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"), max_length=200)
    profile = django_filters.ChoiceFilter(
        choices=lambda: [(p.name, str(p.label)) for p in PROFILES.values()],
        label=pgettext_lazy("certificate profile", "Profile"),
    )
    state = django_filters.ChoiceFilter(
        choices=CertificateState.choices, method="filter_state", label=_("State")
    )
    organization = django_filters.NumberFilter(field_name="organization_id", label=_("Organization"))
    user = django_filters.NumberFilter(field_name="user_id", label=_("User id"))
    expiring_days = django_filters.NumberFilter(
        method="filter_expiring", min_value=0, label=_("Expiring within (days)")
    )

    class Meta:
        model = Certificate
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search(queryset, value)

    def filter_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.in_state(value)

    def filter_expiring(self, queryset: QuerySet, name: str, value: float) -> QuerySet:
        now = timezone.now()
        return queryset.live(now).filter(not_after__lte=now + datetime.timedelta(days=int(value)))
