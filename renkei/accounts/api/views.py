"""/api/v1/me/ (who the token belongs to) and /api/v1/organizations/."""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from renkei.accounts.api.serializers import MeSerializer, OrganizationSerializer
from renkei.accounts.models import Organization
from renkei.core.permissions import SUPPLIER_ROLE, VIEW, Role
from renkei.suppliers.models import Contact

ROLE_RANK = (Role.ADMIN, Role.ANALYST, Role.AUDITOR)


class MeView(APIView):
    """The authenticated user: roles per organization and the suppliers it answers for."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        memberships = list(user.memberships.select_related("organization").order_by(
            "organization__name"
        ))
        contacts = (
            Contact.objects.filter(user=user, portal_access=True)
            .select_related("supplier")
            .order_by("supplier__code")
        )
        suppliers = {
            c.supplier_id: {
                "id": c.supplier_id, "code": c.supplier.code, "name": c.supplier.name,
                "organization": c.supplier.organization_id,
            }
            for c in contacts
        }
        roles = {m.role for m in memberships}
        primary: Any = next((str(r) for r in ROLE_RANK if r in roles), None)
        if primary is None and suppliers:
            primary = SUPPLIER_ROLE
        data = {
            "id": user.pk,
            "username": user.username,
            "display_name": str(user),
            "email": user.email,
            "language": user.language,
            "primary_role": primary,
            "memberships": [{"organization": m.organization, "role": m.role} for m in memberships],
            "suppliers": list(suppliers.values()),
        }
        return Response(MeSerializer(data).data)


class OrganizationViewSet(viewsets.ReadOnlyModelViewSet):
    """Organizations you are a staff member of."""

    serializer_class = OrganizationSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> models.QuerySet:
        return Organization.for_user(self.request.user, VIEW)
