"""/api/v1/audit-entries/: the audit trail, read-only, for the buyer's staff."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import filters, viewsets

from renkei.audit.api.serializers import AuditEntrySerializer
from renkei.audit.models import AuditEntry
from renkei.core.api.viewsets import OwnedQueryMixin


class AuditEntryFilterSet(django_filters.FilterSet):
    organization = django_filters.NumberFilter(
        field_name="organization_id", label=_("Organization")
    )
    object_type = django_filters.CharFilter(label=_("Record type, e.g. suppliers.supplier"))
    object_id = django_filters.CharFilter(label=_("Record id"))
    supplier = django_filters.NumberFilter(field_name="supplier_id_ref", label=_("Supplier"))
    action = django_filters.ChoiceFilter(choices=AuditEntry.Action.choices, label=_("Action"))
    since = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label=_("At or after (ISO 8601)")
    )

    class Meta:
        model = AuditEntry
        fields: list[str] = []


class AuditEntryViewSet(OwnedQueryMixin, viewsets.ReadOnlyModelViewSet):
    """Entries of the hash-chained audit trail. Supplier contacts see none."""

    model = AuditEntry
    serializer_class = AuditEntrySerializer
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    filterset_class = AuditEntryFilterSet
    ordering_fields = ["created_at", "sequence"]
