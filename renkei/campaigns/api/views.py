"""/api/v1/campaigns/: campaigns with their completion counts (read-only, created by the pages
and `renkei campaigns create`), and POST /api/v1/campaigns/ID/close/ (staff who may change)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.audit.services import Actor
from renkei.campaigns.models import Campaign
from renkei.campaigns.services import (
    CampaignError,
    close_campaign,
    completion_rate,
    no_contact_count,
    status_counts,
    with_counts,
)
from renkei.core.api.viewsets import OwnedQueryMixin


class CampaignSerializer(serializers.ModelSerializer):
    template_key = serializers.CharField(source="template.key", read_only=True)
    template_version = serializers.IntegerField(source="template.version", read_only=True)
    targets = serializers.IntegerField(source="target_count", read_only=True)
    completed = serializers.IntegerField(source="done_count", read_only=True)
    overdue = serializers.IntegerField(source="overdue_count", read_only=True)
    completion_rate = serializers.SerializerMethodField()
    closed_by = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = ["id", "organization", "name", "template", "template_key", "template_version",
                  "due_on", "status", "selection", "created_at", "targets", "completed",
                  "overdue", "completion_rate", "closed_at", "closed_by"]
        read_only_fields = fields

    def get_completion_rate(self, obj: Campaign) -> float:
        return completion_rate(obj.done_count, obj.target_count)

    def get_closed_by(self, obj: Campaign) -> str | None:
        return obj.closed_by.get_username() if obj.closed_by else None


class CampaignDetailSerializer(CampaignSerializer):
    counts = serializers.SerializerMethodField()
    no_contact = serializers.SerializerMethodField()

    class Meta(CampaignSerializer.Meta):
        # skipped: [{"supplier", "name", "assessment"}]; no_contact: targets nobody can be mailed.
        fields = [*CampaignSerializer.Meta.fields, "counts", "skipped", "no_contact"]
        read_only_fields = fields

    def get_counts(self, obj: Campaign) -> dict[str, int]:
        return status_counts(obj)

    def get_no_contact(self, obj: Campaign) -> int:
        return no_contact_count(obj)


class CampaignViewSet(OwnedQueryMixin, viewsets.ReadOnlyModelViewSet):
    """Campaigns of your organization, with per-status counts and the completion rate."""

    model = Campaign
    list_select_related = ("template", "closed_by")

    def get_queryset(self) -> Any:
        return with_counts(super().get_queryset()).order_by("-created_at", "-pk")

    def get_serializer_class(self) -> Any:
        return CampaignDetailSerializer if self.action in ("retrieve", "close") else CampaignSerializer

    @extend_schema(request=None, responses={200: CampaignDetailSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Close the campaign: no more invitations or reminders; its assessments are left as they
        are. Closing a closed campaign changes nothing; a closed campaign cannot be reopened."""
        campaign = self.get_object()
        try:
            close_campaign(Actor.from_request(request), campaign)
        except CampaignError as exc:
            raise PermissionDenied(exc.message) from exc
        fresh = self.get_queryset().get(pk=campaign.pk)
        return Response(self.get_serializer(fresh).data)
