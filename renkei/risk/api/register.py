"""/api/v1/risks/: the risk register. Staff only (Risk has no supplier path: a supplier contact's
list is empty and every id answers 404). Changes go through renkei.risk.register."""

from __future__ import annotations

from typing import Any

import django_filters
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.audit.services import Actor
from renkei.core.api.errors import api_error
from renkei.core.api.viewsets import OwnedQueryMixin
from renkei.core.models import staff_may
from renkei.core.permissions import ADD, CHANGE
from renkei.risk import register
from renkei.risk.choices import LEVEL_RANK, Level, RiskSource, RiskStatus
from renkei.risk.models import Risk, RiskAcceptance
from renkei.suppliers.models import Supplier


class AcceptanceSerializer(serializers.ModelSerializer):
    approver = serializers.CharField(source="approver.username", read_only=True)

    class Meta:
        model = RiskAcceptance
        fields = ["id", "approver", "justification", "accepted_on", "expires_on", "revoked_at", "created_at"]
        read_only_fields = fields


class RiskSerializer(serializers.ModelSerializer):
    supplier_code = serializers.CharField(source="supplier.code", read_only=True)
    item_id = serializers.SerializerMethodField()
    owner_username = serializers.SerializerMethodField()
    level = serializers.SerializerMethodField()
    acceptances = AcceptanceSerializer(many=True, read_only=True)

    class Meta:
        model = Risk
        fields = [
            "id",
            "organization",
            "supplier",
            "supplier_code",
            "title",
            "description",
            "source",
            "source_key",
            "assessment",
            "item_id",
            "status",
            "treatment",
            "owner",
            "owner_username",
            "inherent_impact",
            "inherent_likelihood",
            "inherent_level",
            "residual_impact",
            "residual_likelihood",
            "residual_level",
            "level",
            "created_at",
            "updated_at",
            "closed_at",
            "acceptances",
        ]
        read_only_fields = fields

    def get_item_id(self, risk: Risk) -> str | None:
        return risk.item.item_id if risk.item_id else None

    def get_owner_username(self, risk: Risk) -> str | None:
        return risk.owner.username if risk.owner_id else None

    def get_level(self, risk: Risk) -> str:
        """The current level: residual when rated, else inherent."""
        return register.current_level(risk)


class RiskCreateSerializer(serializers.Serializer):
    supplier = serializers.IntegerField(help_text="Supplier id.")
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    inherent_likelihood = serializers.IntegerField(required=False, min_value=1, max_value=5)
    owner = serializers.IntegerField(required=False, allow_null=True, help_text="User id of a member.")
    source_key = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Idempotency key within the organization."
    )


class RiskUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    owner = serializers.IntegerField(required=False, allow_null=True)
    inherent_likelihood = serializers.IntegerField(required=False, min_value=1, max_value=5)
    treatment = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="mitigate / transfer / avoid, or empty (accept: see /accept/).",
    )
    residual_impact = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5)
    residual_likelihood = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5)


class ConfirmSerializer(serializers.Serializer):
    inherent_likelihood = serializers.IntegerField(required=False, min_value=1, max_value=5)
    owner = serializers.IntegerField(required=False, allow_null=True)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class AcceptSerializer(serializers.Serializer):
    justification = serializers.CharField(max_length=2000)
    expires_on = serializers.DateField()


class RiskFilterSet(django_filters.FilterSet):
    organization = django_filters.NumberFilter(field_name="organization_id", label=_("Organization"))
    supplier = django_filters.NumberFilter(field_name="supplier_id", label=_("Supplier"))
    status = django_filters.MultipleChoiceFilter(choices=RiskStatus.choices, label=_("Status"))
    source = django_filters.ChoiceFilter(choices=RiskSource.choices, label=_("Source"))
    owner = django_filters.NumberFilter(field_name="owner_id", label=_("Owner"))
    level = django_filters.ChoiceFilter(choices=Level.choices, label=_("Level"), method="filter_level")

    class Meta:
        model = Risk
        fields: list[str] = []

    def filter_level(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(level_rank=LEVEL_RANK[value])




class RiskViewSet(OwnedQueryMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The risk register: candidates from × answers, risks raised by hand or by contract checks and
    audits, their rating, treatment and acceptance. Sorted by level, highest first."""

    model = Risk
    serializer_class = RiskSerializer
    list_select_related = ("supplier", "owner", "item")
    list_prefetch_related = ("acceptances__approver",)
    filter_backends = [DjangoFilterBackend]
    filterset_class = RiskFilterSet

    def get_queryset(self) -> Any:
        return register.with_rank(super().get_queryset()).order_by(*register.SORTS["level"])

    def _changeable(self) -> Risk:
        risk = self.get_object()
        if not staff_may(self.request.user, risk.organization_id, CHANGE):
            raise PermissionDenied(_("You may view this risk but not change it."))
        return risk

    def _detail(self, risk: Risk, code: int = status.HTTP_200_OK) -> Response:
        return Response(RiskSerializer(self.get_queryset().get(pk=risk.pk)).data, status=code)

    @extend_schema(request=RiskCreateSerializer, responses={201: RiskSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = RiskCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        supplier = Supplier.objects.for_user(request.user, ADD).filter(pk=data["supplier"]).first()
        if supplier is None or not staff_may(request.user, supplier.organization_id, ADD):
            raise ValidationError({"supplier": [_("No such supplier.")]})
        try:
            risk = register.raise_risk(
                Actor.from_request(request),
                supplier,
                title=data["title"],
                description=data.get("description", ""),
                source_key=data.get("source_key", ""),
                inherent_likelihood=data.get("inherent_likelihood"),
                owner=data.get("owner"),
            )
        except register.RegisterError as exc:
            raise api_error(exc) from exc
        return self._detail(risk, status.HTTP_201_CREATED)

    @extend_schema(request=RiskUpdateSerializer, responses={200: RiskSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        risk = self._changeable()
        payload = RiskUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            register.update(Actor.from_request(request), risk, dict(payload.validated_data))
        except register.RegisterError as exc:
            raise api_error(exc) from exc
        return self._detail(risk)

    @extend_schema(request=ConfirmSerializer, responses={200: RiskSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """A candidate becomes an open risk (likelihood judged, owner named)."""
        risk = self._changeable()
        payload = ConfirmSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            register.confirm(Actor.from_request(request), risk, **payload.validated_data)
        except register.RegisterError as exc:
            raise api_error(exc) from exc
        return self._detail(risk)

    def _reasoned(self, request: Request, run: Any) -> Response:
        risk = self._changeable()
        payload = ReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            run(Actor.from_request(request), risk, payload.validated_data.get("reason", ""))
        except register.RegisterError as exc:
            raise api_error(exc) from exc
        return self._detail(risk)

    @extend_schema(request=ReasonSerializer, responses={200: RiskSerializer})
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """A candidate is not a risk: closed with the reason (required)."""
        return self._reasoned(request, register.dismiss)

    @extend_schema(request=ReasonSerializer, responses={200: RiskSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Close the risk (reason required)."""
        return self._reasoned(request, register.close)

    @extend_schema(request=ReasonSerializer, responses={200: RiskSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Reopen a closed or accepted risk (an acceptance in force is revoked)."""
        return self._reasoned(request, register.reopen)

    @extend_schema(request=AcceptSerializer, responses={200: RiskSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """An administrator (not the person who raised the risk) accepts it until a date."""
        risk = self.get_object()
        payload = AcceptSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            register.accept(Actor.from_request(request), risk, **payload.validated_data)
        except register.RegisterError as exc:
            raise api_error(exc) from exc
        return self._detail(risk)
