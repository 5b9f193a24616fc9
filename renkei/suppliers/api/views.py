"""/api/v1/ for the supplier registry: suppliers, contacts, contracts, certifications."""

from __future__ import annotations

from typing import Any

import django_filters
from django.http import FileResponse
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import filters, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request

from renkei.accounts.models import Organization
from renkei.core.api.viewsets import OwnedViewSetMixin
from renkei.core.downloads import attachment_response
from renkei.core.permissions import ADD
from renkei.suppliers.api.serializers import (
    CertificationSerializer,
    ContactSerializer,
    ContractSerializer,
    SupplierSerializer,
    suppliers_allowing,
)
from renkei.suppliers.choices import CertificationKind, ReOutsourcing
from renkei.suppliers.filtersets import SupplierFilterSet
from renkei.suppliers.models import Certification, Contact, Contract, Supplier
from renkei.suppliers.services import delete_record, save_record


class RegistryViewSet(OwnedViewSetMixin, viewsets.ModelViewSet):
    save_service = staticmethod(save_record)
    delete_service = staticmethod(delete_record)


class SupplierViewSet(RegistryViewSet):
    """Suppliers of every tier. Filter with the same parameters as the supplier list page."""

    model = Supplier
    serializer_class = SupplierSerializer
    list_prefetch_related = ("tags",)
    # SupplierFilterSet has its own `ordering` parameter (code, name, tier, ...).
    filter_backends = [DjangoFilterBackend]
    filterset_class = SupplierFilterSet

    def can_add(self) -> bool:
        return Organization.for_user(self.request.user, ADD).exists()


class SupplierChildViewSet(RegistryViewSet):
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]

    def can_add(self) -> bool:
        return suppliers_allowing(self.model, self.request.user, ADD).exists()


class ContactFilterSet(django_filters.FilterSet):
    # A plain number, not a choice of suppliers: a foreign id must not answer differently.
    supplier = django_filters.NumberFilter(field_name="supplier_id", label=_("Supplier"))
    is_primary = django_filters.BooleanFilter(label=_("Primary contact"))
    portal_access = django_filters.BooleanFilter(label=_("Portal access"))

    class Meta:
        model = Contact
        fields: list[str] = []


class ContractFilterSet(django_filters.FilterSet):
    supplier = django_filters.NumberFilter(field_name="supplier_id", label=_("Supplier"))
    re_outsourcing = django_filters.ChoiceFilter(
        choices=ReOutsourcing.choices, label=_("Re-outsourcing")
    )

    class Meta:
        model = Contract
        fields: list[str] = []


class CertificationFilterSet(django_filters.FilterSet):
    supplier = django_filters.NumberFilter(field_name="supplier_id", label=_("Supplier"))
    kind = django_filters.ChoiceFilter(choices=CertificationKind.choices, label=_("Kind"))

    class Meta:
        model = Certification
        fields: list[str] = []


class ContactViewSet(SupplierChildViewSet):
    """People at suppliers. Supplier contacts may add and change their own supplier's."""

    model = Contact
    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
    ordering_fields = ["name", "updated_at"]


class ContractViewSet(SupplierChildViewSet):
    """Contracts with suppliers. Supplier contacts may only view their own."""

    model = Contract
    serializer_class = ContractSerializer
    filterset_class = ContractFilterSet
    # The serializer reads supplier.organization_id to hide internal notes from suppliers.
    list_select_related = ("supplier",)
    ordering_fields = ["title", "starts_on", "ends_on", "updated_at"]


class CertificationViewSet(SupplierChildViewSet):
    """Certifications (Pマーク, ISMS, ...) with an optional evidence file."""

    model = Certification
    serializer_class = CertificationSerializer
    filterset_class = CertificationFilterSet
    ordering_fields = ["kind", "expires_on", "updated_at"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # A download answers whatever the client accepts; errors are still JSON.
        force = force or self.action == "evidence"
        return super().perform_content_negotiation(request, force=force)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description=_("The evidence file")
            ),
            404: OpenApiResponse(description=_("No such certification, or it has no file")),
        },
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def evidence(self, request: Request, pk: str | None = None, **kwargs: Any) -> FileResponse:
        """Download the evidence file (only for certifications you may see)."""
        # kwargs: the router's format-suffix route (.../evidence.json) passes `format`.
        return attachment_response(self.get_object().evidence)
