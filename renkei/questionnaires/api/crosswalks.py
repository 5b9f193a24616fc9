"""/api/v1/crosswalks/: crosswalks between questionnaire templates, through for_user.

Read-only rows (list, detail with the entries) plus `POST /api/v1/crosswalks/upload/`: a YAML
file (multipart `file`, optional `organization` slug) stored by the same loader as
`renkei crosswalks load`, for staff with the "manage" permission of that organization.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Count, F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.api.viewsets import OwnedQueryMixin
from renkei.core.permissions import MANAGE
from renkei.questionnaires.crosswalks import CrosswalkError, load_crosswalk_file
from renkei.questionnaires.models import Crosswalk, CrosswalkEntry


class CrosswalkEntrySerializer(serializers.ModelSerializer):
    source = serializers.CharField(source="source_item", read_only=True,
                                   help_text="Item id in the “from” template.")
    target = serializers.CharField(source="target_item", read_only=True,
                                   help_text="Item id in the “to” template.")
    values = serializers.DictField(child=serializers.CharField(), read_only=True,
                                   help_text="From-value → to-value; empty: the same values.")

    class Meta:
        model = CrosswalkEntry
        fields = ["source", "target", "values"]


class CrosswalkSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True, help_text="In the request's language.")
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True,
                                                help_text="null for a built-in crosswalk.")
    builtin = serializers.BooleanField(source="is_builtin", read_only=True)
    source_key = serializers.CharField(read_only=True, help_text="Key of the “from” template.")
    target_key = serializers.CharField(read_only=True, help_text="Key of the “to” template.")
    entry_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Crosswalk
        fields = ["id", "key", "name", "name_ja", "name_en", "organization", "builtin",
                  "source_key", "target_key", "entry_count", "content_hash", "created_at",
                  "updated_at"]


class CrosswalkDetailSerializer(CrosswalkSerializer):
    entries = CrosswalkEntrySerializer(many=True, read_only=True)

    class Meta(CrosswalkSerializer.Meta):
        fields = [*CrosswalkSerializer.Meta.fields, "entries"]


class CrosswalkUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The YAML file (docs/crosswalks.md).")
    organization = serializers.SlugField(
        required=False, help_text="Owning organization; optional when you manage only one.")


class CrosswalkFilterSet(django_filters.FilterSet):
    key = django_filters.CharFilter(label=gettext_lazy("Crosswalk key"))
    template = django_filters.CharFilter(method="filter_template",
                                         label=gettext_lazy("Template key on either side"))

    class Meta:
        model = Crosswalk
        fields: list[str] = []

    def filter_template(self, queryset: Any, name: str, value: str) -> Any:
        from django.db.models import Q

        return queryset.filter(Q(source_key=value) | Q(target_key=value))


UPLOAD_RESULT = inline_serializer("CrosswalkUploadResult", {
    "key": serializers.CharField(), "from": serializers.CharField(), "to": serializers.CharField(),
    "created": serializers.BooleanField(), "updated": serializers.BooleanField(),
    "unchanged": serializers.BooleanField(), "organization": serializers.CharField(allow_null=True),
    "entries": serializers.IntegerField(), "id": serializers.IntegerField(),
})
UPLOAD_ERRORS = inline_serializer("CrosswalkUploadErrors", {
    "errors": serializers.ListField(child=serializers.DictField(child=serializers.CharField())),
})


class CrosswalkViewSet(OwnedQueryMixin, viewsets.ReadOnlyModelViewSet):
    """Crosswalks: which item of one template answers which item of another (built-in ones are
    shared read-only; your organization's). The detail lists the entries."""

    model = Crosswalk
    serializer_class = CrosswalkSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = CrosswalkFilterSet
    list_select_related = ("organization",)

    def get_queryset(self) -> Any:
        queryset = super().get_queryset().annotate(entry_count=Count("entries"))
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("entries")
        return queryset.order_by(F("organization").asc(nulls_first=True), "key")

    def get_serializer_class(self) -> Any:
        return CrosswalkDetailSerializer if self.action == "retrieve" else CrosswalkSerializer

    @extend_schema(request={"multipart/form-data": CrosswalkUploadSerializer},
                   responses={200: UPLOAD_RESULT, 201: UPLOAD_RESULT, 400: UPLOAD_ERRORS})
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser],
            filter_backends=[])
    def upload(self, request: Request) -> Response:
        managed = Organization.for_user(request.user, MANAGE).order_by("slug")
        slug = request.data.get("organization")
        organization = managed.filter(slug=slug).first() if slug else (
            managed.first() if managed.count() == 1 else None)
        if organization is None:
            if not managed.exists() or slug:
                raise PermissionDenied(_("You may not manage crosswalks of this organization."))
            return Response({"errors": [{"path": "organization", "message": _(
                "You manage several organizations: give organization (a slug).")}]},
                status=status.HTTP_400_BAD_REQUEST)
        upload = request.data.get("file")
        if upload is None or isinstance(upload, str):
            return Response({"errors": [{"path": "file", "message": _("is required")}]},
                            status=status.HTTP_400_BAD_REQUEST)
        try:
            result = load_crosswalk_file(upload, organization=organization,
                                         actor=Actor.from_request(request))
        except CrosswalkError as exc:
            return Response({"errors": [p.as_dict() for p in exc.problems]},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response({**result.as_dict(), "id": result.crosswalk.pk},
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
