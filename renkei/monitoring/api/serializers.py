"""Serializer of /api/v1/alerts/ (read; acknowledged through the action)."""

from __future__ import annotations

from rest_framework import serializers

from renkei.monitoring import sources
from renkei.monitoring.models import Alert


class AlertSerializer(serializers.ModelSerializer):
    supplier_code = serializers.SerializerMethodField()
    label = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField()
    acknowledged_by = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = ["id", "organization", "supplier", "supplier_code", "kind", "label", "key", "reason",
                  "params", "priority", "raised_at", "resolved_at", "acknowledged_at", "acknowledged_by"]
        read_only_fields = fields

    def get_supplier_code(self, obj: Alert) -> str | None:
        return obj.supplier.code if obj.supplier_id else None

    def get_label(self, obj: Alert) -> str:
        return sources.label(obj.kind)

    def get_reason(self, obj: Alert) -> str:
        return sources.describe(obj.kind, obj.params)

    def get_acknowledged_by(self, obj: Alert) -> str | None:
        return obj.acknowledged_by.get_username() if obj.acknowledged_by_id else None
