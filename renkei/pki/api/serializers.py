"""Certificates as the API shows them (read-only: issuing and revoking go through the CLI and
the pages for now, through renkei.pki's services)."""

from __future__ import annotations

from rest_framework import serializers

from renkei.pki.choices import CertificateState
from renkei.pki.models import Certificate


class CertificateSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)
    state = serializers.ChoiceField(choices=CertificateState.choices, read_only=True)
    renewed_from = serializers.SlugRelatedField(slug_field="serial", read_only=True)

    class Meta:
        model = Certificate
        fields = [
            "id",
            "organization",
            "serial",
            "profile",
            "method",
            "subject",
            "common_name",
            "subject_alt_names",
            "user",
            "username",
            "device_name",
            "key_type",
            "not_before",
            "not_after",
            "fingerprint_sha256",
            "state",
            "revoked_at",
            "revocation_reason",
            "renewed_from",
            "certificate_pem",
            "created_at",
        ]
        read_only_fields = fields
