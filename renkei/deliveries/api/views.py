"""/api/v1/deliveries/ and /api/v1/software-findings/ (docs/api.md, docs/deliveries.md).

Rows come from for_user: staff see their organizations' deliveries, a supplier contact its own
supplier's. POST /deliveries/ registers a delivery (multipart: supplier, product, version,
description, artifact (repeatable), artifact_signature (repeatable, matched by order), sbom,
sbom_signature) through the same service as the pages; a contact may leave out `supplier` when it
has one. /deliveries/{id}/vex/ exports (GET) and imports (POST) CycloneDX VEX;
/software-findings/{id}/triage/ records a triage. Staff with change rights and the supplier's
contacts may triage; auditors read (403).
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from renkei.audit.services import Actor
from renkei.core.api.errors import api_error
from renkei.core.api.viewsets import OwnedQueryMixin
from renkei.core.models import contact_supplier_ids, member_organization_ids
from renkei.core.permissions import ADD, VIEW
from renkei.deliveries import services
from renkei.deliveries.api.serializers import (
    DeliveryCreateSerializer,
    DeliveryDetailSerializer,
    DeliverySerializer,
    SoftwareFindingSerializer,
    TriageSerializer,
    VexImportSerializer,
    VexResultSerializer,
)
from renkei.deliveries.filtersets import DeliveryFilterSet, FindingFilterSet, severity_rank
from renkei.deliveries.models import Artifact, Delivery, Finding, Sbom, Source
from renkei.suppliers.models import Supplier

FINDING_RELATED = ("delivery", "component", "advisory")


def _supplier_for(request: Request) -> Supplier:
    """The supplier named by `supplier` among those the user may register for; a contact of one
    supplier may leave it out. Missing and foreign ids read the same."""
    wanted = str(request.data.get("supplier") or "")
    user = request.user
    if wanted:
        supplier = (
            Supplier.objects.for_user(user, VIEW)
            .select_related("organization")
            .filter(pk=int(wanted) if wanted.isdigit() else 0)
            .first()
        )
        if supplier is None:
            raise ValidationError({"supplier": [_("No such supplier.")]})
        return supplier
    own = list(Supplier.objects.filter(pk__in=contact_supplier_ids(user)).select_related("organization")[:2])
    if len(own) == 1 and not member_organization_ids(user, ADD).exists():
        return own[0]
    raise ValidationError({"supplier": [_("Say which supplier delivered it (its id).")]})


class DeliveryViewSet(
    OwnedQueryMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Deliveries newest first; filters: supplier, vulnerable, signature (a status or `problem`), q."""

    model = Delivery
    serializer_class = DeliverySerializer
    list_select_related = ("supplier",)
    filter_backends = [DjangoFilterBackend]
    filterset_class = DeliveryFilterSet
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self) -> Any:
        queryset = super().get_queryset().order_by("-received_at", "-pk")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch("artifacts", Artifact.objects.order_by("pk")),
                Prefetch("sboms", Sbom.objects.order_by("pk")),
            )
        return queryset

    def get_serializer_class(self) -> Any:
        return DeliveryDetailSerializer if self.action == "retrieve" else DeliverySerializer

    def get_object(self) -> Delivery:
        # Any user who sees it gets it; what they may do with it is the services' decision.
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(
        description="Register a delivery (multipart): `supplier` (a contact of one supplier may leave "
        "it out), `product`, `version`, `description`, `artifact` (repeat for several files), "
        "`artifact_signature` (detached CMS signatures, matched to the artifacts by order), `sbom`, "
        "`sbom_signature`. Answers the delivery with its files' SHA-256 and signature checks, "
        "the SBOM's quality and the findings.",
        request={"multipart/form-data": DeliveryCreateSerializer},
        responses={201: DeliveryDetailSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        supplier = _supplier_for(request)
        files = request.FILES
        artifacts = files.getlist("artifact")
        signatures = files.getlist("artifact_signature")
        if len(signatures) > len(artifacts):
            raise ValidationError({"artifact_signature": [_("More signatures than artifacts.")]})
        uploads = [
            services.ArtifactUpload(file, signatures[index] if index < len(signatures) else None)
            for index, file in enumerate(artifacts)
        ]
        try:
            delivery = services.register_delivery(
                Actor.from_request(request),
                supplier.organization,
                supplier,
                product=str(request.data.get("product") or ""),
                version=str(request.data.get("version") or ""),
                description=str(request.data.get("description") or ""),
                source=Source.API,
                artifacts=uploads,
                sbom=files.get("sbom"),
                sbom_signature=files.get("sbom_signature"),
            )
        except services.DeliveryError as exc:
            raise api_error(exc) from exc
        delivery = self.get_queryset().prefetch_related("artifacts", "sboms").get(pk=delivery.pk)
        return Response(DeliveryDetailSerializer(delivery).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        description="The delivery's findings, worst first, closed ones included (see `open`).",
        responses=SoftwareFindingSerializer(many=True),
        filters=False,
    )
    @action(detail=True, methods=["get"])
    def findings(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        delivery = self.get_object()
        rows = (
            Finding.objects.filter(delivery=delivery)
            .select_related(*FINDING_RELATED)
            .order_by(severity_rank(), "osv_id", "pk")
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(SoftwareFindingSerializer(page, many=True).data)

    @extend_schema(
        methods=["GET"],
        description="The delivery's open findings and their triage as a CycloneDX 1.6 VEX document.",
        request=None,
        filters=False,
        responses={
            (200, "application/vnd.cyclonedx+json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description="CycloneDX VEX"
            )
        },
    )
    @extend_schema(
        methods=["POST"],
        description="Apply a CycloneDX VEX (as `file`, or as the JSON body) to the delivery's findings, "
        "all or nothing. `unknown` lists the statements that matched no finding.",
        filters=False,
        request={"multipart/form-data": VexImportSerializer, "application/json": OpenApiTypes.OBJECT},
        responses={200: VexResultSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def vex(self, request: Request, pk: str | None = None, **kwargs: Any) -> Any:
        from renkei.deliveries.vex import export_vex, import_vex

        delivery = self.get_object()
        if request.method == "GET":
            response = HttpResponse(export_vex(delivery), content_type="application/vnd.cyclonedx+json")
            response["Content-Disposition"] = f'attachment; filename="vex-{delivery.pk}.cdx.json"'
            return response
        upload = request.FILES.get("file")
        if upload is not None:
            data = upload.read()
        elif isinstance(request.data, dict) and request.data:
            data = json.dumps(request.data).encode()
        else:
            raise ValidationError({"file": [_("Send the VEX document as `file` or as the JSON body.")]})
        try:
            result = import_vex(Actor.from_request(request), delivery, data)
        except services.DeliveryError as exc:
            raise api_error(exc) from exc
        return Response({"updated": result.updated, "unknown": list(result.unknown)})


class SoftwareFindingViewSet(OwnedQueryMixin, viewsets.ReadOnlyModelViewSet):
    """Vulnerability findings of the deliveries you may see, worst first. Filters: delivery,
    supplier, severity (repeatable), open (true/false), triage, q (advisory id or alias, component)."""

    model = Finding
    serializer_class = SoftwareFindingSerializer
    list_select_related = FINDING_RELATED
    filter_backends = [DjangoFilterBackend]
    filterset_class = FindingFilterSet

    def get_queryset(self) -> Any:
        return super().get_queryset().order_by(severity_rank(), "-first_seen", "pk")

    def get_object(self) -> Finding:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(
        description="Record the triage (VEX state) of a finding; `not_affected` needs a justification "
        "or a detail.",
        request=TriageSerializer,
        responses={200: SoftwareFindingSerializer},
        filters=False,
    )
    @action(detail=True, methods=["post"])
    def triage(self, request: Request, pk: str | None = None, **kwargs: Any) -> Response:
        finding = self.get_object()
        serializer = TriageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            services.triage(
                Actor.from_request(request),
                finding,
                state=data["state"],
                justification=data.get("justification", ""),
                detail=data.get("detail", ""),
            )
        except services.DeliveryError as exc:
            raise api_error(exc) from exc
        finding = self.get_queryset().get(pk=finding.pk)
        return Response(SoftwareFindingSerializer(finding).data)
