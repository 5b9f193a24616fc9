"""API representation of the supplier registry. Saving is done by the viewsets through
renkei.suppliers.services (validated by the models, audited)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_countries.serializer_fields import CountryField
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from renkei.accounts.models import Organization
from renkei.core.api.permissions import action_for_method, acts_as_staff
from renkei.core.api.serializers import OwnedRelatedField, ServiceModelSerializer, request_user
from renkei.core.models import contact_supplier_ids, member_organization_ids
from renkei.core.permissions import ADD, VIEW
from renkei.suppliers.choices import AccessMethod, DataClass
from renkei.suppliers.models import Certification, Contact, Contract, Supplier
from renkei.suppliers.services import normalize_tag_names

BUYER_ONLY = _("Only the buyer can change this field.")


def visible_suppliers(user: Any) -> models.QuerySet:
    return Supplier.objects.for_user(user, VIEW)


def suppliers_allowing(model: type[models.Model], user: Any, action: str) -> models.QuerySet:
    """Suppliers under which USER may ACTION a row of MODEL (a registry child such as Contact).

    The same rule as `for_user`, asked of a row that does not exist yet.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Supplier.objects.none()
    condition = Q(organization__in=member_organization_ids(user, action))
    if getattr(model, "supplier_path", None) is not None and action in model.supplier_actions:
        condition |= Q(id__in=contact_supplier_ids(user))
    return Supplier.objects.filter(condition)


class TagListField(serializers.ListField):
    """Tags as a list of names; read from the prefetched relation, written through set_tags."""

    child = serializers.CharField(max_length=50)

    def to_representation(self, data: Any) -> list[str]:
        if hasattr(data, "all"):
            return [tag.name for tag in data.all()]
        return list(data)


class ChoiceListSerializerField(serializers.ListField):
    """A ChoiceListField as a JSON list of choice values."""

    def __init__(self, *, choices: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(child=serializers.ChoiceField(choices=choices), **kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        return sorted(set(super().to_internal_value(data)))


class BuyerOnlyFieldsMixin:
    """Fields outside `supplier_editable_fields` may be set only by the buyer's staff.

    A supplier contact writing its own supplier's records may send them unchanged (a PUT of what
    it read), but a changed value answers a field-level error naming each such field.
    """

    supplier_editable_fields: ClassVar[tuple[str, ...]] = ()
    # The buyer's internal remarks: left out of what a supplier contact reads.
    buyer_internal_fields: ClassVar[tuple[str, ...]] = ()
    instance: Any
    context: dict[str, Any]
    Meta: Any
    # Each serializer names how the organization is found in validated data.
    organization_id_for: Callable[[dict[str, Any]], int]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)  # type: ignore[misc]
        if self.buyer_internal_fields and not self._reader_is_staff(instance):
            for name in self.buyer_internal_fields:
                data.pop(name, None)
        return data

    def _reader_is_staff(self, instance: Any) -> bool:
        # One query per request: the context is shared by every row of a list.
        staff_orgs = self.context.get("_staff_organization_ids")
        if staff_orgs is None:
            user = self.context["request"].user
            staff_orgs = set(member_organization_ids(user, VIEW).values_list("organization_id", flat=True))
            self.context["_staff_organization_ids"] = staff_orgs
        return instance.owning_organization_id() in staff_orgs

    def check_buyer_only_fields(self, attrs: dict[str, Any]) -> None:
        request = self.context["request"]
        action = action_for_method(request.method)
        if acts_as_staff(request.user, self.organization_id_for(attrs), action):
            return
        current = self.instance if self.instance is not None else self.Meta.model()
        errors = {
            name: [BUYER_ONLY]
            for name, value in attrs.items()
            if name not in self.supplier_editable_fields and _differs(current, name, value)
        }
        if errors:
            raise serializers.ValidationError(errors)


def _differs(instance: models.Model, name: str, value: Any) -> bool:
    if name == "tags":
        held = [t.name for t in instance.tags.all()] if instance.pk else []
        return normalize_tag_names(value) != sorted(held)
    field = instance._meta.get_field(name)
    if field.is_relation:
        return getattr(value, "pk", value) != getattr(instance, field.attname)
    current = getattr(instance, name)
    if isinstance(value, list):
        return sorted(value) != sorted(current or [])
    return value != current


class SupplierSerializer(BuyerOnlyFieldsMixin, ServiceModelSerializer):
    """A supplier. Its own contacts may change only name, name_kana, corporate_number, country."""

    organization = OwnedRelatedField(
        model=Organization,
        visible=lambda user: Organization.for_user(user, ADD),
        required=False,
        help_text=_(
            "Required when you may add suppliers in more than one organization; "
            "defaults to your only one otherwise. Cannot be changed later."
        ),
    )
    country = CountryField(required=False, help_text=_("ISO 3166-1 alpha-2 code, e.g. JP."))
    subcontracted_by = OwnedRelatedField(
        model=Supplier, visible=visible_suppliers, required=False, allow_null=True,
        help_text=_("Id of the supplier (same organization) that subcontracts this one."),
    )
    data_classes = ChoiceListSerializerField(choices=DataClass.choices)
    access_methods = ChoiceListSerializerField(choices=AccessMethod.choices)
    tags = TagListField(required=False)
    has_system_access = serializers.BooleanField(read_only=True)

    service_fields = ("tags",)
    write_once_fields = ("organization",)
    supplier_editable_fields = Supplier.SUPPLIER_EDITABLE_FIELDS
    # Which supplier subcontracts this one is the buyer's knowledge of its chain.
    buyer_internal_fields = ("notes", "subcontracted_by")

    class Meta:
        model = Supplier
        fields = [
            "id", "organization", "code", "corporate_number", "name", "name_kana", "country",
            "relationship", "chain_type", "tier", "subcontracted_by", "business_function",
            "personal_info_records", "data_classes", "export_controlled", "access_methods",
            "has_system_access", "tags", "notes", "status", "created_at", "updated_at",
        ]
        # Changed by supplier selection only (renkei.oversight), never by a registry write.
        read_only_fields = ["status"]
        # Uniqueness is checked in validate() with field-level messages (organization may default).
        validators: ClassVar[list] = []

    def organization_id_for(self, attrs: dict[str, Any]) -> int:
        if self.instance is not None:
            return self.instance.organization_id
        return attrs["organization"].pk

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and "organization" not in attrs:
            choices = list(Organization.for_user(request_user(self), ADD)[:2])
            if len(choices) != 1:
                raise serializers.ValidationError(
                    {"organization": [serializers.Field.default_error_messages["required"]]}
                )
            attrs["organization"] = choices[0]
        self.check_buyer_only_fields(attrs)
        self._check_unique(attrs)
        return attrs

    def _check_unique(self, attrs: dict[str, Any]) -> None:
        organization_id = self.organization_id_for(attrs)
        others = Supplier.objects.filter(organization_id=organization_id)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        errors = {}
        if "code" in attrs and others.filter(code=attrs["code"]).exists():
            errors["code"] = [_("A supplier with this code already exists.")]
        number = attrs.get("corporate_number")
        if number and others.filter(corporate_number=number).exists():
            errors["corporate_number"] = [
                _("A supplier with this corporate number already exists.")
            ]
        if errors:
            raise serializers.ValidationError(errors)


class SupplierChildSerializer(BuyerOnlyFieldsMixin, ServiceModelSerializer):
    """Contacts, contracts and certifications: they belong to one supplier, set on create."""

    write_once_fields = ("supplier",)

    def organization_id_for(self, attrs: dict[str, Any]) -> int:
        if self.instance is not None:
            return self.instance.supplier.organization_id
        return attrs["supplier"].organization_id

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        self.check_buyer_only_fields(attrs)
        return attrs


def child_supplier_field(model: type[models.Model]) -> OwnedRelatedField:
    return OwnedRelatedField(
        model=Supplier,
        visible=visible_suppliers,
        allowed=lambda user, action: suppliers_allowing(model, user, action),
        help_text=_("Id of the supplier. Cannot be changed later."),
    )


class ContactSerializer(SupplierChildSerializer):
    """A person at a supplier. Login user and portal access are managed by the buyer."""

    supplier = child_supplier_field(Contact)

    # Granting or revoking someone's login is the buyer's decision.
    supplier_editable_fields = (
        "supplier", "name", "department", "title", "email", "phone", "is_primary", "notes",
    )

    class Meta:
        model = Contact
        fields = [
            "id", "supplier", "name", "department", "title", "email", "phone", "is_primary",
            "user", "portal_access", "notes", "created_at", "updated_at",
        ]
        read_only_fields = ["user"]


class ContractSerializer(SupplierChildSerializer):
    """A contract with a supplier (read-only for the supplier's contacts)."""

    supplier = child_supplier_field(Contract)
    buyer_internal_fields = ("notes",)

    class Meta:
        model = Contract
        fields = [
            "id", "supplier", "title", "signed_on", "starts_on", "ends_on", "has_nda",
            "has_security_clause", "re_outsourcing", "has_audit_right",
            "has_incident_notification", "incident_notification_hours", "has_data_return",
            "notes", "created_at", "updated_at",
        ]


class CertificationSerializer(SupplierChildSerializer):
    """A certification held by a supplier, with an optional evidence file."""

    supplier = child_supplier_field(Certification)
    evidence = serializers.FileField(
        write_only=True, required=False, allow_null=True,
        help_text=_("Upload with multipart/form-data; null removes the file."),
    )
    evidence_name = serializers.SerializerMethodField()
    evidence_url = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    supplier_editable_fields = (
        "supplier", "kind", "name", "number", "issuer", "scope", "issued_on", "expires_on",
        "evidence", "notes",
    )

    class Meta:
        model = Certification
        fields = [
            "id", "supplier", "kind", "name", "number", "issuer", "scope", "issued_on",
            "expires_on", "status", "evidence", "evidence_name", "evidence_url", "notes",
            "created_at", "updated_at",
        ]

    def validate_evidence(self, value: Any) -> Any:
        if value is None:
            return ""
        limit = settings.RENKEI_MAX_UPLOAD_MB
        if value.size > limit * 1024 * 1024:
            raise serializers.ValidationError(
                _("The file is larger than %(limit)d MB.") % {"limit": limit}
            )
        return value

    def get_evidence_name(self, obj: Certification) -> str | None:
        return os.path.basename(obj.evidence.name) if obj.evidence else None

    def get_evidence_url(self, obj: Certification) -> str | None:
        if not obj.evidence:
            return None
        url = reverse("certification-evidence", kwargs={"pk": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url

    @extend_schema_field(
        serializers.ChoiceField(choices=["valid", "expiring", "expired", "unknown"])
    )
    def get_status(self, obj: Certification) -> str:
        return obj.status()
