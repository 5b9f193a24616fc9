from __future__ import annotations

from rest_framework import serializers

from renkei.audit.models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    """One entry of the audit trail; `changes` maps each field to [before, after]."""

    supplier = serializers.IntegerField(source="supplier_id_ref", read_only=True, allow_null=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id", "organization", "sequence", "created_at", "actor", "actor_label", "address",
            "action", "object_type", "object_id", "object_repr", "supplier", "changes",
            "previous_hash", "hash",
        ]
        read_only_fields = fields
