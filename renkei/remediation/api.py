"""/api/v1/remediation-plans/ and /api/v1/actions/: remediation plans and their actions.

Rows come from `visible_plans` / `visible_actions` (for_user; drafts hidden from supplier
contacts): anything else is 404, a visible row the caller may not change 403. Changes go through
renkei.remediation.services, so the API obeys the pages' rules (a contact reports progress on
supplier-side actions only, never verifies).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.audit.services import Actor
from renkei.core.api.errors import api_error
from renkei.core.api.viewsets import OwnedQueryMixin
from renkei.core.downloads import attachment_response
from renkei.core.models import staff_may
from renkei.core.permissions import ADD, CHANGE
from renkei.remediation import services
from renkei.remediation.models import (
    Action,
    ActionSource,
    ActionStatus,
    OwnerSide,
    PlanStatus,
    RemediationPlan,
)
from renkei.suppliers.models import Supplier


class ActionSerializer(serializers.ModelSerializer):
    supplier = serializers.IntegerField(source="plan.supplier_id", read_only=True)
    owner_username = serializers.SerializerMethodField()
    evidence = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Action
        fields = [
            "id",
            "plan",
            "supplier",
            "title",
            "description",
            "source",
            "risk",
            "owner_side",
            "owner",
            "owner_username",
            "owner_name",
            "due_on",
            "status",
            "overdue",
            "completion_note",
            "evidence",
            "completed_at",
            "verified_at",
            "verification_note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_owner_username(self, obj: Action) -> str | None:
        return obj.owner.username if obj.owner_id else None

    def get_evidence(self, obj: Action) -> bool:
        return bool(obj.evidence)

    def get_overdue(self, obj: Action) -> bool:
        return services.is_overdue(obj)


class PlanSerializer(serializers.ModelSerializer):
    supplier_code = serializers.CharField(source="supplier.code", read_only=True)
    actions = ActionSerializer(many=True, read_only=True)

    class Meta:
        model = RemediationPlan
        fields = [
            "id",
            "organization",
            "supplier",
            "supplier_code",
            "title",
            "status",
            "due_on",
            "agreed_at",
            "created_at",
            "updated_at",
            "actions",
        ]
        read_only_fields = fields


class PlanCreateSerializer(serializers.Serializer):
    supplier = serializers.IntegerField(help_text="Supplier id.")
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    due_on = serializers.DateField(required=False, allow_null=True)


class ActionCreateSerializer(serializers.Serializer):
    plan = serializers.IntegerField(help_text="Remediation plan id.")
    title = serializers.CharField(max_length=300)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    source = serializers.ChoiceField(choices=ActionSource.choices, required=False)
    due_on = serializers.DateField(required=False, allow_null=True)
    owner_side = serializers.ChoiceField(choices=OwnerSide.choices, required=False)
    owner = serializers.IntegerField(required=False, allow_null=True, help_text="User id (our side).")
    owner_name = serializers.CharField(required=False, allow_blank=True, max_length=100)


class ActionUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, max_length=300)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    due_on = serializers.DateField(required=False, allow_null=True)
    owner_side = serializers.ChoiceField(choices=OwnerSide.choices, required=False)
    owner = serializers.IntegerField(required=False, allow_null=True)
    owner_name = serializers.CharField(required=False, allow_blank=True, max_length=100)


class ProgressSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[(s, s) for s in services.SUPPLIER_STATUSES], required=False)
    completion_note = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    evidence = serializers.FileField(required=False, help_text="Evidence of completion (multipart).")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=4000, help_text="Required when sending back."
    )


class PlanFilterSet(django_filters.FilterSet):
    supplier = django_filters.NumberFilter(field_name="supplier_id", label=_("Supplier"))
    status = django_filters.ChoiceFilter(choices=PlanStatus.choices, label=_("Status"))

    class Meta:
        model = RemediationPlan
        fields: list[str] = []


class ActionFilterSet(django_filters.FilterSet):
    plan = django_filters.NumberFilter(field_name="plan_id", label=_("Remediation plan"))
    supplier = django_filters.NumberFilter(field_name="plan__supplier_id", label=_("Supplier"))
    status = django_filters.MultipleChoiceFilter(choices=ActionStatus.choices, label=_("Status"))
    owner_side = django_filters.ChoiceFilter(choices=OwnerSide.choices, label=_("Owner side"))
    risk = django_filters.NumberFilter(field_name="risk_id", label=_("Risk"))

    class Meta:
        model = Action
        fields: list[str] = []




def _staff(user: Any, organization_id: int, action: str = CHANGE) -> None:
    if not staff_may(user, organization_id, action):
        raise PermissionDenied(_("You may view this record but not change it."))


class RemediationPlanViewSet(
    OwnedQueryMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Remediation plans (是正計画) with their actions. Supplier contacts see their supplier's
    agreed, completed and cancelled plans; staff create, agree and cancel them."""

    model = RemediationPlan
    serializer_class = PlanSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = PlanFilterSet

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return RemediationPlan.objects.none()
        return (
            services.visible_plans(self.request.user)
            .select_related("supplier")
            .prefetch_related(Prefetch("actions", queryset=Action.objects.select_related("owner")))
            .order_by("-created_at", "-pk")
        )

    def get_object(self) -> RemediationPlan:
        # Among the rows the caller may see (else 404); what it may change is the services' call.
        return viewsets.GenericViewSet.get_object(self)

    def _detail(self, plan: RemediationPlan, code: int = status.HTTP_200_OK) -> Response:
        return Response(PlanSerializer(self.get_queryset().get(pk=plan.pk)).data, status=code)

    @extend_schema(request=PlanCreateSerializer, responses={201: PlanSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = PlanCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        supplier = Supplier.objects.for_user(request.user, ADD).filter(pk=data["supplier"]).first()
        if supplier is None or not staff_may(request.user, supplier.organization_id, ADD):
            raise ValidationError({"supplier": [_("No such supplier.")]})
        try:
            plan = services.create_plan(
                Actor.from_request(request), supplier, title=data.get("title", ""), due_on=data.get("due_on")
            )
        except services.RemediationError as exc:
            raise api_error(exc) from exc
        return self._detail(plan, status.HTTP_201_CREATED)

    def _transition(self, run: Any) -> Response:
        plan = self.get_object()
        _staff(self.request.user, plan.organization_id)
        try:
            run(Actor.from_request(self.request), plan)
        except services.RemediationError as exc:
            raise api_error(exc) from exc
        return self._detail(plan)

    @extend_schema(request=None, responses={200: PlanSerializer})
    @action(detail=True, methods=["post"])
    def agree(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Mark a draft plan agreed with the supplier (its contacts then see it)."""
        return self._transition(services.agree_plan)

    @extend_schema(request=None, responses={200: PlanSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Cancel the plan and its unfinished actions."""
        return self._transition(services.cancel_plan)


class ActionViewSet(
    OwnedQueryMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Actions of remediation plans: who does what by when. Contacts report progress on their
    supplier's actions (`progress`); staff add, change, verify and send back."""

    model = Action
    serializer_class = ActionSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ActionFilterSet
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Action.objects.none()
        return (
            services.visible_actions(self.request.user)
            .select_related("plan", "owner")
            .order_by("due_on", "pk")
        )

    def get_object(self) -> Action:
        # Among the rows the caller may see (else 404); what it may change is the services' call.
        return viewsets.GenericViewSet.get_object(self)

    def _detail(self, obj: Action, code: int = status.HTTP_200_OK) -> Response:
        return Response(ActionSerializer(self.get_queryset().get(pk=obj.pk)).data, status=code)

    @extend_schema(request=ActionCreateSerializer, responses={201: ActionSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = ActionCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        plan = services.visible_plans(request.user).filter(pk=data.pop("plan")).first()
        if plan is None or not staff_may(request.user, plan.organization_id, ADD):
            raise ValidationError({"plan": [_("No such remediation plan.")]})
        try:
            created = services.add_action(Actor.from_request(request), plan, data)
        except services.RemediationError as exc:
            raise api_error(exc) from exc
        return self._detail(created, status.HTTP_201_CREATED)

    @extend_schema(request=ActionUpdateSerializer, responses={200: ActionSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()
        _staff(request.user, obj.plan.organization_id)
        payload = ActionUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            services.update_action(Actor.from_request(request), obj, dict(payload.validated_data))
        except services.RemediationError as exc:
            raise api_error(exc) from exc
        return self._detail(obj)

    @extend_schema(
        request={"multipart/form-data": ProgressSerializer, "application/json": ProgressSerializer},
        responses={200: ActionSerializer},
    )
    @action(detail=True, methods=["post"])
    def progress(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Report progress: status (open / in_progress / done), completion note, evidence file.
        A supplier contact may do this on supplier-side actions of an agreed plan only."""
        obj = self.get_object()
        payload = ProgressSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            services.report_progress(
                Actor.from_request(request),
                obj,
                status=data.get("status"),
                completion_note=data.get("completion_note"),
                upload=data.get("evidence"),
            )
        except services.RemediationError as exc:
            raise api_error(exc) from exc
        return self._detail(obj)

    def _review(self, request: Request, run: Any) -> Response:
        obj = self.get_object()
        _staff(request.user, obj.plan.organization_id)
        payload = NoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            run(Actor.from_request(request), obj, payload.validated_data.get("note", ""))
        except services.RemediationError as exc:
            raise api_error(exc) from exc
        return self._detail(obj)

    @extend_schema(request=NoteSerializer, responses={200: ActionSerializer})
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Staff: verify a done action (lowers the supplier's likelihood when it fixes a × answer)."""
        return self._review(request, services.verify)

    @extend_schema(request=NoteSerializer, responses={200: ActionSerializer})
    @action(detail=True, methods=["post"], url_path="send-back", url_name="send-back")
    def send_back(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        """Staff: send a done action back to in progress, with the reason in `note`."""
        return self._review(request, services.send_back)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)})
    @action(detail=True, methods=["get"])
    def evidence(self, request: Request, pk: str | None = None, **kwargs: Any) -> Any:
        """Download the evidence file (404 when there is none)."""
        return attachment_response(self.get_object().evidence)
