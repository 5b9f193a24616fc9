"""Read serializers of /api/v1/deliveries/ and /api/v1/software-findings/, and the triage input.

Choice fields are plain strings here (their values are listed in the help texts): several apps
have fields named `severity`, `source` and `status` with other values, and one schema enum per
name keeps the OpenAPI document free of collisions.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from renkei.deliveries.filtersets import open_q
from renkei.deliveries.models import (
    Artifact,
    Delivery,
    Finding,
    Justification,
    Sbom,
    Severity,
    SignatureStatus,
    VexState,
)

SIGNATURE_HELP = "One of: " + ", ".join(SignatureStatus.values)
SEVERITY_HELP = "One of: " + ", ".join(Severity.values)


class DeliverySerializer(serializers.ModelSerializer):
    supplier_code = serializers.CharField(source="supplier.code", read_only=True)
    source = serializers.CharField(read_only=True, help_text="portal, api or staff")
    worst_severity = serializers.CharField(read_only=True, help_text=SEVERITY_HELP + ' or "" (none open)')
    signature_status = serializers.CharField(read_only=True, help_text=SIGNATURE_HELP)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "supplier",
            "supplier_code",
            "product",
            "version",
            "description",
            "source",
            "received_at",
            "component_count",
            "open_findings",
            "worst_severity",
            "signature_status",
        ]
        read_only_fields = fields


class SignerSerializer(serializers.Serializer):
    subject = serializers.CharField(required=False)
    issuer = serializers.CharField(required=False)
    serial = serializers.CharField(required=False)
    fingerprint = serializers.CharField(required=False)
    kind = serializers.CharField(required=False, help_text="renkei (issued by Renkei) or trusted")


class ArtifactSerializer(serializers.ModelSerializer):
    signature_status = serializers.CharField(read_only=True, help_text=SIGNATURE_HELP)
    signer = SignerSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Artifact
        fields = [
            "id",
            "name",
            "size",
            "sha256",
            "signature_status",
            "signature_message",
            "signer",
            "signature_checked_at",
        ]
        read_only_fields = fields


class SbomSerializer(serializers.ModelSerializer):
    signature_status = serializers.CharField(read_only=True, help_text=SIGNATURE_HELP)
    signer = SignerSerializer(read_only=True, allow_null=True)
    authors = serializers.ListField(child=serializers.CharField(), read_only=True)
    tools = serializers.ListField(child=serializers.CharField(), read_only=True)
    quality = serializers.DictField(
        read_only=True, help_text="NTIA minimum elements: what is missing, and where"
    )

    class Meta:
        model = Sbom
        fields = [
            "id",
            "name",
            "size",
            "sha256",
            "format",
            "encoding",
            "spec_version",
            "authors",
            "created",
            "tools",
            "component_count",
            "completeness",
            "quality",
            "signature_status",
            "signature_message",
            "signer",
        ]
        read_only_fields = fields


class FindingSummarySerializer(serializers.Serializer):
    open = serializers.IntegerField()
    total = serializers.IntegerField()
    by_severity = serializers.DictField(
        child=serializers.IntegerField(), help_text="Open findings per severity"
    )


class DeliveryDetailSerializer(DeliverySerializer):
    artifacts = ArtifactSerializer(many=True, read_only=True)
    sboms = SbomSerializer(many=True, read_only=True)
    findings_summary = serializers.SerializerMethodField()

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "artifacts", "sboms", "findings_summary"]
        read_only_fields = fields

    @extend_schema_field(FindingSummarySerializer)
    def get_findings_summary(self, obj: Delivery) -> dict[str, Any]:
        rows = Finding.objects.filter(delivery=obj)
        by_severity = {
            row["severity"]: row["n"]
            for row in rows.filter(open_q()).order_by().values("severity").annotate(n=Count("pk"))
        }
        return {"open": sum(by_severity.values()), "total": rows.count(), "by_severity": by_severity}


class ComponentBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.CharField()
    purl = serializers.CharField()


class SoftwareFindingSerializer(serializers.ModelSerializer):
    supplier = serializers.IntegerField(source="delivery.supplier_id", read_only=True)
    component = ComponentBriefSerializer(read_only=True)
    aliases = serializers.ListField(source="advisory.aliases", child=serializers.CharField(), read_only=True)
    summary = serializers.CharField(source="advisory.summary", read_only=True)
    cvss_score = serializers.FloatField(source="advisory.cvss_score", read_only=True, allow_null=True)
    fixed = serializers.ListField(source="advisory.fixed", child=serializers.CharField(), read_only=True)
    severity = serializers.CharField(read_only=True, help_text=SEVERITY_HELP)
    match = serializers.CharField(
        read_only=True, help_text="affected, or unknown (the version could not be compared)"
    )
    open = serializers.BooleanField(source="is_open", read_only=True)
    vex_state = serializers.CharField(
        read_only=True, help_text='"" (not triaged), ' + ", ".join(VexState.values[1:])
    )
    vex_justification = serializers.CharField(read_only=True)

    class Meta:
        model = Finding
        fields = [
            "id",
            "delivery",
            "supplier",
            "osv_id",
            "aliases",
            "summary",
            "severity",
            "cvss_score",
            "component",
            "fixed",
            "match",
            "first_seen",
            "resolved_at",
            "open",
            "vex_state",
            "vex_justification",
            "vex_detail",
            "vex_at",
        ]
        read_only_fields = fields


class TriageSerializer(serializers.Serializer):
    state = serializers.CharField(
        help_text='"" (not triaged), ' + ", ".join(VexState.values[1:]), allow_blank=True
    )
    justification = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="For not_affected: " + ", ".join(Justification.values[1:]),
    )
    detail = serializers.CharField(required=False, allow_blank=True, default="")


class DeliveryCreateSerializer(serializers.Serializer):
    """The multipart form of POST /api/v1/deliveries/ (for the schema; the view reads the files)."""

    supplier = serializers.IntegerField(required=False, help_text="Supplier id; a contact may leave it out")
    product = serializers.CharField()
    version = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    artifact = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        help_text="A delivered file; repeat the field for several",
    )
    artifact_signature = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        help_text="Detached CMS signatures, matched to the artifacts by order",
    )
    sbom = serializers.FileField(required=False)
    sbom_signature = serializers.FileField(required=False)


class VexImportSerializer(serializers.Serializer):
    file = serializers.FileField(
        required=False, help_text="The CycloneDX VEX JSON (or send it as the JSON body)"
    )


class VexResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField()
    unknown = serializers.ListField(child=serializers.CharField())
