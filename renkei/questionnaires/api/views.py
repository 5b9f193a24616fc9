"""/api/v1/templates/: the questionnaire library, read-only, through for_user."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import F
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.core.api.viewsets import OwnedQueryMixin
from renkei.questionnaires.api.serializers import TemplateDetailSerializer, TemplateSerializer
from renkei.questionnaires.models import Template, template_parts


class TemplateFilterSet(django_filters.FilterSet):
    key = django_filters.CharFilter(label=_("Template key, e.g. scrm-sheet"))

    class Meta:
        model = Template
        fields: list[str] = []


ALL_VERSIONS = OpenApiParameter(
    "all_versions", bool, description="1: every version; default: the latest version of each."
)


@extend_schema_view(list=extend_schema(parameters=[ALL_VERSIONS]))
class TemplateViewSet(OwnedQueryMixin, viewsets.ReadOnlyModelViewSet):
    """Questionnaire templates: the built-in ones (shared, read-only) and your organization's.
    The detail nests sections → items → choices."""

    model = Template
    serializer_class = TemplateSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = TemplateFilterSet
    list_select_related = ("organization",)

    def get_queryset(self) -> Any:
        queryset = super().get_queryset().with_counts()
        if self.action == "list" and self.request.query_params.get("all_versions") not in (
            "1", "true", "True"
        ):
            queryset = queryset.latest_versions()
        return queryset.order_by(F("organization").asc(nulls_first=True), "key", "-version")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        template = self.get_object()
        sections = template_parts(template)["sections"]
        serializer = TemplateDetailSerializer(
            template, context={**self.get_serializer_context(), "sections": sections}
        )
        return Response(serializer.data)
