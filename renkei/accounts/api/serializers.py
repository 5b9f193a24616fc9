from __future__ import annotations

from rest_framework import serializers

from renkei.accounts.models import Organization


class OrganizationSerializer(serializers.ModelSerializer):
    """A buyer organization."""

    class Meta:
        model = Organization
        fields = ["id", "name", "name_en", "slug", "corporate_number"]
        read_only_fields = fields


class MembershipSerializer(serializers.Serializer):
    """A staff role in an organization."""

    organization = OrganizationSerializer()
    role = serializers.CharField()


class ContactSupplierSerializer(serializers.Serializer):
    """A supplier the user answers for."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    organization = serializers.IntegerField()


class MeSerializer(serializers.Serializer):
    """The authenticated user."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    email = serializers.EmailField()
    language = serializers.CharField()
    primary_role = serializers.CharField(
        allow_null=True, help_text="admin, analyst, auditor, supplier, or null."
    )
    memberships = MembershipSerializer(many=True)
    suppliers = ContactSupplierSerializer(
        many=True, help_text="Suppliers you answer for as a contact with portal access."
    )
