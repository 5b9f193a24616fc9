"""/api/v1/campaigns/: campaigns with their completion counts (read-only; created by the pages
and `renkei campaigns create`)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers, viewsets

from renkei.campaigns.models import Campaign
from renkei.campaigns.services import completion_rate, status_counts, with_counts
from renkei.core.api.viewsets import OwnedQueryMixin


class CampaignSerializer(serializers.ModelSerializer):
    template_key = serializers.CharField(source="template.key", read_only=True)
    template_version = serializers.IntegerField(source="template.version", read_only=True)
    targets = serializers.IntegerField(source="target_count", read_only=True)
    completed = serializers.IntegerField(source="done_count", read_only=True)
    overdue = serializers.IntegerField(source="overdue_count", read_only=True)
    completion_rate = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = ["id", "organization", "name", "template", "template_key", "template_version",
                  "due_on", "status", "selection", "created_at", "targets", "completed",
                  "overdue", "completion_rate"]
        read_only_fields = fields

    def get_completion_rate(self, obj: Campaign) -> float:
        return completion_rate(obj.done_count, obj.target_count)


class CampaignDetailSerializer(CampaignSerializer):
    counts = serializers.SerializerMethodField()

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "counts"]
        read_only_fields = fields

    def get_counts(self, obj: Campaign) -> dict[str, int]:
        return status_counts(obj)


class CampaignViewSet(OwnedQueryMixin, viewsets.ReadOnlyModelViewSet):
    """Campaigns of your organization, with per-status counts and the completion rate."""

    model = Campaign
    list_select_related = ("template",)

    def get_queryset(self) -> Any:
        return with_counts(super().get_queryset()).order_by("-created_at", "-pk")

    def get_serializer_class(self) -> Any:
        return CampaignDetailSerializer if self.action == "retrieve" else CampaignSerializer
