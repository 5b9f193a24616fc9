"""/api/v1/certificates/: the certificates a user may see (read-only). Staff see their
organizations' certificates; any other user only those bound to them (a supplier contact its own,
not its colleagues'); any other id answers 404. Filters as on the /pki/ page: q, profile, state,
organization, user, expiring_days."""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets

from renkei.core.api.viewsets import OwnedQueryMixin
from renkei.pki.api.serializers import CertificateSerializer
from renkei.pki.filtersets import CertificateFilterSet
from renkei.pki.models import Certificate


class CertificateViewSet(OwnedQueryMixin, viewsets.ReadOnlyModelViewSet):
    """Client certificates issued by the organizations' CAs, newest first."""

    model = Certificate
    serializer_class = CertificateSerializer
    list_select_related = ("user", "renewed_from")
    filter_backends = [DjangoFilterBackend]
    filterset_class = CertificateFilterSet

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by("-created_at", "-pk")
