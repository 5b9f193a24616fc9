"""/api/v1/incidents/: incidents, their obligations and their timeline (docs/api.md).

Rows come from Incident.objects.for_user: staff see their organizations' incidents, a supplier
contact its own supplier's (without the obligations, which are the buyer's business). POST
records an incident — a supplier contact reports for its supplier (`supplier` id), staff record
one for their organization — through the same services and forms as the pages.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.accounts.models import Organization
from renkei.audit.services import Actor
from renkei.core.api.errors import api_error
from renkei.core.api.viewsets import OwnedQueryMixin
from renkei.core.models import member_organization_ids, staff_may
from renkei.core.permissions import ADD, CHANGE, VIEW
from renkei.incidents import services
from renkei.incidents.models import Event, Incident, Obligation, Source
from renkei.suppliers.models import Supplier


class IncidentSerializer(serializers.ModelSerializer):
    supplier_code = serializers.CharField(source="supplier.code", read_only=True, default=None)

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "title",
            "supplier",
            "supplier_code",
            "source",
            "status",
            "severity",
            "category",
            "description",
            "detected_at",
            "aware_at",
            "systems_text",
            "data_text",
            "persons_affected",
            "current_state",
            "personal_data",
            "sensitive_personal_data",
            "financial_harm_possible",
            "unauthorized_access",
            "export_controlled_tech",
            "we_are_contractor",
            "regulated_sector",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ObligationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Obligation
        fields = [
            "id",
            "rule_id",
            "rules_version",
            "authority",
            "kind",
            "title_ja",
            "title_en",
            "basis",
            "due_at",
            "owner",
            "status",
            "note",
            "done_at",
            "withdrawn",
        ]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    attachment = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "at", "kind", "text", "actor_label", "attachment", "supplier_visible"]
        read_only_fields = fields

    def get_attachment(self, obj: Event) -> str:
        return obj.attachment_name if obj.attachment else ""


class IncidentViewSet(
    OwnedQueryMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    model = Incident
    serializer_class = IncidentSerializer
    list_select_related = ("supplier",)

    def get_queryset(self) -> Any:
        queryset = super().get_queryset().order_by("-aware_at", "-pk")
        status_filter = self.request.query_params.get("status")
        return queryset.filter(status=status_filter) if status_filter else queryset

    def get_object(self) -> Incident:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        actor = Actor.from_request(request)
        data = request.data
        supplier_id = str(data.get("supplier") or "")
        organizations = Organization.objects.filter(pk__in=member_organization_ids(request.user, ADD))
        try:
            if organizations.exists():
                organization = organizations.order_by("pk").first()
                wanted = data.get("organization")
                if wanted:
                    organization = organizations.filter(slug=wanted).first()
                    if organization is None:
                        raise NotFound
                incident = services.record_incident(actor, organization, data)
            else:
                supplier = (
                    Supplier.objects.for_user(request.user, VIEW)
                    .filter(pk=int(supplier_id) if supplier_id.isdigit() else 0)
                    .first()
                )
                if supplier is None:
                    raise NotFound
                incident = services.report(actor, supplier, data, source=Source.PORTAL)
        except services.IncidentError as exc:
            raise api_error(exc) from exc
        return Response(IncidentSerializer(incident).data, status=status.HTTP_201_CREATED)

    def _staff_incident(self) -> Incident:
        incident = self.get_object()
        if not staff_may(self.request.user, incident.organization_id, VIEW):
            raise NotFound
        return incident

    @extend_schema(responses=ObligationSerializer(many=True))
    @action(detail=True, methods=["get"])
    def obligations(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        incident = self._staff_incident()
        return Response(ObligationSerializer(incident.obligations.all(), many=True).data)

    @extend_schema(responses=EventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def events(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        incident = self.get_object()
        return Response(EventSerializer(services.events_for(request.user, incident), many=True).data)

    @extend_schema(request=None, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def triage(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        incident = self._staff_incident()
        if not staff_may(request.user, incident.organization_id, CHANGE):
            raise PermissionDenied
        current = IncidentSerializer(incident).data
        data = {
            key: current[key] for key in ("status", "severity", "category", "aware_at", "persons_affected")
        }
        for key in (
            "personal_data",
            "sensitive_personal_data",
            "financial_harm_possible",
            "unauthorized_access",
            "export_controlled_tech",
            "we_are_contractor",
            "regulated_sector",
        ):
            data[key] = current[key]
        data.update({key: value for key, value in request.data.items()})
        # Form booleans: absent means False, so only true values are passed on.
        form_data = {k: v for k, v in data.items() if v not in (False, None, "false", "False")}
        try:
            incident = services.triage(Actor.from_request(request), incident, form_data)
        except services.IncidentError as exc:
            raise api_error(exc) from exc
        return Response(IncidentSerializer(incident).data)
