"""/api/v1/supplier-risks/ (one row per supplier, id = supplier id) and /api/v1/risk-settings/.

Read only; staff only (SupplierRisk has no supplier path, so a contact's list is empty and any
id answers 404, like a foreign one).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.accounts.models import Organization
from renkei.core.api.viewsets import OwnedQueryMixin
from renkei.core.permissions import VIEW
from renkei.risk.api.serializers import RiskSettingsSerializer, SupplierRiskSerializer
from renkei.risk.choices import Level
from renkei.risk.models import RiskSettings, SupplierRisk
from renkei.risk.services import config_for


class SupplierRiskFilterSet(django_filters.FilterSet):
    organization = django_filters.NumberFilter(field_name="organization_id", label=_("Organization"))
    level = django_filters.MultipleChoiceFilter(choices=Level.choices, label=_("Risk level"))
    impact = django_filters.NumberFilter(label=_("Impact"))
    likelihood = django_filters.NumberFilter(label=_("Likelihood"))
    criticality = django_filters.NumberFilter(label=_("Criticality"))

    class Meta:
        model = SupplierRisk
        fields: list[str] = []


@extend_schema_view(retrieve=extend_schema(parameters=[
    OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The supplier's id."),
]))
class SupplierRiskViewSet(OwnedQueryMixin, viewsets.ReadOnlyModelViewSet):
    """The explained risk of each supplier: impact and likelihood 1–5, level, criticality, and
    every factor with its contribution and reason. Ordered by what to look at first."""

    model = SupplierRisk
    serializer_class = SupplierRiskSerializer
    list_select_related = ("supplier",)
    filter_backends = [DjangoFilterBackend]
    filterset_class = SupplierRiskFilterSet


class RiskSettingsViewSet(viewsets.ViewSet):
    """The risk configuration (rubric, weights, matrix, criticality) of each organization the
    user is staff of, defaults included."""

    serializer_class = RiskSettingsSerializer

    @extend_schema(responses=RiskSettingsSerializer(many=True))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        organizations = list(Organization.for_user(request.user, VIEW).order_by("pk"))
        customized = set(RiskSettings.objects.for_user(request.user, VIEW).values_list(
            "organization_id", flat=True))
        data = [{"organization": org.pk, "config": config_for(org.pk),
                 "customized": org.pk in customized} for org in organizations]
        return Response(RiskSettingsSerializer(data, many=True).data)
