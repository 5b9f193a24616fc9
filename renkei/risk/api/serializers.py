"""Serializers of /api/v1/supplier-risks/ and /api/v1/risk-settings/ (read only)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from renkei.risk.models import RiskSettings, SupplierRisk


class FactorSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    contribution = serializers.FloatField()
    reason = serializers.CharField()


class ImpactReasonSerializer(serializers.Serializer):
    name = serializers.CharField()
    level = serializers.IntegerField()
    reason = serializers.CharField()


class SupplierRiskSerializer(serializers.ModelSerializer):
    supplier_code = serializers.CharField(source="supplier.code", read_only=True)
    level_label = serializers.CharField(source="get_level_display", read_only=True)
    factors = serializers.SerializerMethodField()
    impact_factors = serializers.SerializerMethodField()

    class Meta:
        model = SupplierRisk
        fields = ["supplier", "supplier_code", "organization", "impact", "likelihood", "level",
                  "level_label", "criticality", "factors", "impact_factors", "computed_at"]
        read_only_fields = fields

    @extend_schema_field(FactorSerializer(many=True))
    def get_factors(self, obj: SupplierRisk) -> list[dict[str, Any]]:
        return obj.factor_list()

    @extend_schema_field(ImpactReasonSerializer(many=True))
    def get_impact_factors(self, obj: SupplierRisk) -> list[dict[str, Any]]:
        return obj.impact_list()


class RiskSettingsSerializer(serializers.Serializer):
    organization = serializers.IntegerField()
    config = serializers.JSONField(help_text="Impact rubric, likelihood weights, matrix "
                                   "(matrix[likelihood-1][impact-1]) and criticality; docs/risk.md.")
    customized = serializers.BooleanField(help_text="False: the organization uses the defaults.")


__all__ = ["RiskSettings", "RiskSettingsSerializer", "SupplierRiskSerializer"]
