"""Serializers of the oversight API: read shapes and the bodies of its actions."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from renkei.core.api.serializers import request_user
from renkei.core.models import staff_may
from renkei.core.permissions import VIEW
from renkei.oversight.choices import AuditKind, AuditStatus, Decision, Severity
from renkei.oversight.models import Audit, Finding, Intake
from renkei.oversight.services import steps
from renkei.remediation.models import OwnerSide
from renkei.risk.config import CONTRACT_CLAUSES


class IntakeStepSerializer(serializers.Serializer):
    key = serializers.CharField()
    state = serializers.ChoiceField(choices=["done", "current", "waiting", "skipped"])


class IntakeConditionSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    due_on = serializers.DateField(required=False, allow_null=True)
    action = serializers.IntegerField(read_only=True, source="action_id", allow_null=True)


class IntakeSerializer(serializers.ModelSerializer):
    supplier_code = serializers.CharField(source="supplier.code", read_only=True)
    supplier_status = serializers.CharField(source="supplier.status", read_only=True)
    assessment_status = serializers.CharField(
        source="assessment.status", read_only=True, allow_null=True, default=None
    )
    steps = serializers.SerializerMethodField()
    conditions = IntakeConditionSerializer(many=True, read_only=True)
    decided_by = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = Intake
        fields = [
            "id",
            "organization",
            "supplier",
            "supplier_code",
            "supplier_status",
            "criticality",
            "template_key",
            "assessment",
            "assessment_status",
            "profile_confirmed_at",
            "decision",
            "reasons",
            "decided_by",
            "decided_at",
            "steps",
            "conditions",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(IntakeStepSerializer(many=True))
    def get_steps(self, intake: Intake) -> list[dict[str, str]]:
        return IntakeStepSerializer(
            [{"key": s["key"], "state": s["state"]} for s in steps(intake)], many=True
        ).data


class IntakeStartSerializer(serializers.Serializer):
    supplier = serializers.IntegerField(help_text=_("Id of a supplier to select (it becomes a candidate)."))


class SendSerializer(serializers.Serializer):
    due_on = serializers.DateField(required=False, allow_null=True)


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    reasons = serializers.CharField(max_length=4000)
    conditions = IntakeConditionSerializer(many=True, required=False)


class ContractChecklistSerializer(serializers.Serializer):
    contract = serializers.IntegerField()
    title = serializers.CharField()
    supplier = serializers.CharField(help_text=_("The supplier's code."))
    supplier_id = serializers.IntegerField()
    criticality = serializers.IntegerField(allow_null=True)
    ends_on = serializers.DateField(allow_null=True, help_text=_("The end of the term: the next renewal."))
    required = serializers.ListField(child=serializers.ChoiceField(choices=CONTRACT_CLAUSES))
    present = serializers.ListField(child=serializers.ChoiceField(choices=CONTRACT_CLAUSES))
    missing = serializers.ListField(child=serializers.ChoiceField(choices=CONTRACT_CLAUSES))


class FindingSerializer(serializers.ModelSerializer):
    has_evidence = serializers.SerializerMethodField()
    risk = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = [
            "id",
            "audit",
            "severity",
            "title",
            "description",
            "has_evidence",
            "action",
            "risk",
            "created_at",
        ]
        read_only_fields = fields

    def get_has_evidence(self, finding: Finding) -> bool:
        return bool(finding.evidence)

    def get_risk(self, finding: Finding) -> int | None:
        """The register entry: the buyer's judgement, hidden from supplier contacts."""
        user = request_user(self)
        if finding.risk_id and staff_may(user, finding.audit.organization_id, VIEW):
            return finding.risk_id
        return None


class FindingCreateSerializer(serializers.Serializer):
    audit = serializers.IntegerField()
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.MEDIUM)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    evidence = serializers.FileField(required=False, allow_null=True)


class FindingActionSerializer(serializers.Serializer):
    due_on = serializers.DateField(required=False, allow_null=True)
    owner_side = serializers.ChoiceField(choices=OwnerSide.choices, default=OwnerSide.SUPPLIER)


class AuditSerializer(serializers.ModelSerializer):
    supplier_code = serializers.CharField(source="supplier.code", read_only=True)
    findings = serializers.SerializerMethodField()

    class Meta:
        model = Audit
        fields = [
            "id",
            "organization",
            "supplier",
            "supplier_code",
            "kind",
            "planned_on",
            "scope",
            "auditors",
            "status",
            "done_on",
            "summary",
            "report_released_at",
            "findings",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(FindingSerializer(many=True))
    def get_findings(self, audit: Audit) -> list[dict[str, Any]]:
        visible = self.context.get("visible_findings", {})
        return FindingSerializer(visible.get(audit.pk, []), many=True, context=self.context).data


class AuditWriteSerializer(serializers.Serializer):
    supplier = serializers.IntegerField(required=False, help_text=_("Id of the supplier (on create)."))
    kind = serializers.ChoiceField(choices=AuditKind.choices, required=False)
    planned_on = serializers.DateField(required=False)
    scope = serializers.CharField(max_length=4000, required=False)
    auditors = serializers.CharField(max_length=300, required=False, allow_blank=True)
    summary = serializers.CharField(max_length=4000, required=False, allow_blank=True)


class AuditStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[AuditStatus.DONE.value, AuditStatus.CANCELLED.value])
    done_on = serializers.DateField(required=False, allow_null=True)
    summary = serializers.CharField(max_length=4000, required=False, allow_blank=True)
